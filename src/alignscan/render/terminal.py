"""The terminal summary of a result: what `analyze` prints, drawn on a rich Console.

It displays what `alignscan.result.findings` decides (significance, the ranking of item gaps,
low reliability) with the formatters of `render.formats`; data text goes through
`textsafe.terminal`. It reads well at 80 columns: words wrap whole, paths go on their
own lines.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alignscan.render.formats import num, pts, qfmt, signed
from alignscan.result import findings
from alignscan.result.models import GroupSize, as_result, as_trend
from alignscan.textsafe import terminal as esc

if TYPE_CHECKING:
    from alignscan.result.models import (
        Dimension,
        GapChange,
        Item,
        ResultDocument,
        TrendDocument,
        TrendRow,
        WaveCell,
    )


def print_summary(result: ResultDocument | dict[str, Any], console: Console) -> None:
    """Groups, one row per dimension, low reliability, the largest item gaps, data quality."""
    result = as_result(result)
    a, b = result.compare
    la, lb = (esc(findings.group_label(result, g)) for g in (a, b))
    console.print(
        f"[bold]{esc(result.survey.id)}[/] v{esc(result.survey.version)}: "
        f"[bold]{la}[/] vs [bold]{lb}[/]"
    )
    console.print(f"gap = {la} minus {lb}")
    minimum = result.min_group_size
    sizes = [
        f"{esc(findings.group_label(result, g))}: "
        + (f"{c.n:,}" if isinstance(c, GroupSize) else f"< {minimum}")
        for g, c in result.groups.items()
    ]
    console.print("respondents per group: " + ";  ".join(sizes))
    detectable = findings.detectable_sentence(result)
    if detectable:
        console.print(esc(detectable))
    table = _dimension_table(result, console.width, la, lb)
    if _least_width(table) <= console.width:
        console.print(table)
    else:  # a narrow terminal: one line per dimension rather than cropped numbers
        _print_dimension_lines(result, console, la, lb)
    low = [d for d in result.dimensions if findings.low_reliability(d.alpha)]
    if low:
        names = ", ".join(esc(d.title) for d in low)
        console.print(
            f"[yellow]low reliability[/] (alpha < 0.6): {names}; read their items one by one."
        )
    _print_focus(result, console)
    top = findings.top_item_gaps(result)
    if top:
        console.print(_item_table(top))
    else:
        console.print("No item gap is significant (q < 0.05 after Benjamini-Hochberg).")
    from alignscan.extras.drivers import summary_lines  # numpy: only when a summary is printed

    for line in summary_lines(result):  # top two drivers per compared group
        console.print(line, markup=False, highlight=False)
    _print_quality(result, console)


def _print_focus(result: ResultDocument, console: Console) -> None:
    """The three focus areas of the report's first page, in the same words."""
    focus = findings.focus_areas(result)
    if not focus:
        return
    console.print(f"[bold]Focus areas[/] ({esc(findings.focus_basis(result)['sentence'])})")
    for i, f in enumerate(focus, start=1):
        console.print(f"  {i}. [bold]{esc(f['title'])}[/]: {esc(f['reason'])}.")


def _dimension_table(result: ResultDocument, width: int, la: str, lb: str) -> Table:
    table = Table(
        title="Gap by dimension",
        caption=_dimension_legend(result, la, lb),
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    longest = max((len(d.id) for d in result.dimensions), default=8)
    table.add_column("dimension", no_wrap=True, min_width=min(longest, 16))
    for col in ("A", "B", "gap", "95% CI", "fav", "q", "effect", "alpha"):
        table.add_column(col, justify="left" if col == "effect" else "right", no_wrap=True)
    for dim in result.dimensions:
        name = esc(dim.title if width >= 120 else dim.id)
        table.add_row(name, *_dimension_cells(result, dim))
    return table


def _dimension_cells(result: ResultDocument, dim: Dimension) -> list[str]:
    """A, B, gap, 95% CI, fav, q, effect and alpha of a dimension, as markup."""
    ga, gb = (dim.groups[g] for g in result.compare)
    gap = dim.gap
    if gap is None:
        cells = ["hidden", "-", "-", "-", "-"]
    else:
        style = "bold" if findings.significant(gap) else "none"
        lo, hi = gap.mean_ci or (None, None)
        cells = [
            f"[{style}]{signed(gap.mean)}[/]",
            _interval_cell(gap.mean, lo, hi),
            pts(gap.favorable, unit=False),
            qfmt(gap.q_value),
            gap.magnitude or "-",
        ]
    alpha = num(dim.alpha)
    if findings.low_reliability(dim.alpha):
        alpha = f"[yellow]{alpha}*[/]"
    return [num(getattr(ga, "mean", None)), num(getattr(gb, "mean", None)), *cells, alpha]


def _print_dimension_lines(result: ResultDocument, console: Console, la: str, lb: str) -> None:
    """The dimension table as one line per dimension, wrapping at words (narrow
    terminals), with the same figures and the table's legend."""
    console.print("[bold]Gap by dimension[/]")
    names = ("A", "B", "gap", "95% CI", "fav", "q", "effect", "alpha")
    for dim in result.dimensions:
        cells = dict(zip(names, _dimension_cells(result, dim), strict=True))
        console.print(
            f"[bold]{esc(dim.id)}[/]: A {cells['A']}, B {cells['B']}, gap {cells['gap']} "
            f"(95% CI {cells['95% CI']}), fav {cells['fav']}, q {cells['q']}, "
            f"effect {cells['effect']}, alpha {cells['alpha']}"
        )
    console.print(_dimension_legend(result, la, lb))


def _dimension_legend(result: ResultDocument, la: str, lb: str) -> str:
    """The dimension table's legend, the same under the table and under its lines."""
    return (
        f"A = {la}, B = {lb}; gap in {findings.scale_unit(result)}; 95% CI = gap ± this; "
        f"fav = gap in {findings.SHARE_UNIT}; bold = significant (q < 0.05, "
        "Benjamini-Hochberg); * = low reliability; – = withheld (anonymity) or not computable"
    )


def _item_table(items: list[Item]) -> Table:
    table = Table(
        title=f"Largest significant item gaps (top {len(items)})",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("item", no_wrap=True)
    table.add_column("text", ratio=1)
    table.add_column("gap", justify="right", no_wrap=True)
    table.add_column("q", justify="right", no_wrap=True)
    for item in items:
        assert item.gap is not None  # the largest significant gaps are shown ones
        mark = " (reverse-keyed)" if item.reverse else ""
        table.add_row(
            esc(item.id), esc(item.text) + mark, signed(item.gap.mean), qfmt(item.gap.q_value)
        )
    return table


def _print_quality(result: ResultDocument, console: Console) -> None:
    rows = result.rows
    if rows.used is not None:
        console.print(
            f"data quality: rows read {rows.read:,} = used {rows.used:,} "
            f"+ excluded {rows.excluded:,}"
        )
    else:
        console.print("data quality: row totals withheld (they would give a hidden group's size)")
    for reason, count in rows.excluded_by_reason.items():
        console.print(f"  excluded: {esc(reason)}: {count:,}")
    for reason, count in rows.cells_set_missing.items():
        console.print(f"  cells treated as not answered: {esc(reason)}: {count:,}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}")


def print_written(paths: Iterable[object], console: Console) -> None:
    """The files written, one path per line (a path is never wrapped into a sentence)."""
    unique = list(dict.fromkeys(str(p) for p in paths))
    if unique:
        console.print("wrote:")
        for path in unique:
            console.print(f"  {esc(path)}", soft_wrap=True)


TREND_ARROWS = {"closing": "↓ closing", "widening": "↑ widening", "reversed": "↕ reversed"}


def _wave_gap(doc: TrendDocument, wave: WaveCell) -> str:
    if not wave.present:
        return "n/a"
    if doc.compared_on == "favorable shares":
        return "-"
    return "hidden" if wave.gap is None else signed(wave.gap)


def print_trend(doc: TrendDocument | dict[str, Any], console: Console) -> None:
    """The trend table: the gap per wave and the first-to-last change, whose direction
    word follows its significance ("no clear change" otherwise). Where the table would
    not fit the console (many waves, a narrow terminal), one line per dimension."""
    doc = as_trend(doc)
    la, lb = (esc(findings.group_label(doc, g)) for g in doc.compare)
    title = f"Gap ({la} - {lb}) across waves"
    caption = ("change = first to last wave; bold and a direction = significant change "
               "(q < 0.05, Benjamini-Hochberg over the table)")
    table = _trend_table(doc, console.width >= 110, title, caption)
    if _least_width(table) <= console.width:
        console.print(table)
    else:
        console.print(f"[bold]{title}[/]")
        for d in doc.dimensions:
            console.print(_trend_line(doc, d))
        console.print(caption)
    for p in (part.document() for part in doc.partial):  # the trend module's own shape
        console.print(
            f"[yellow]note:[/] {esc(p['id'])} is only in {esc(', '.join(p['waves_present']))}"
        )
    for warning in doc.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}")
    for note in doc.notes:
        console.print(f"[yellow]note:[/] {esc(note)}")


def _least_width(table: Table) -> int:
    """The narrowest a table of unbreakable cells can be drawn without cropping one: each
    column as wide as its widest cell (or header word, for columns that wrap), plus the
    two spaces between columns (no outer edge)."""
    widths = []
    for column in table.columns:
        cells = [Text.from_markup(str(c)).cell_len for c in column.cells]
        head = [Text.from_markup(line).cell_len for line in str(column.header).split("\n")]
        widths.append(max([*cells, *head, column.min_width or 0]))
    edges = 2 if table.show_edge and table.box else 0  # one cell each side
    return sum(widths) + 2 * (len(widths) - 1) + edges


def _trend_table(doc: TrendDocument, wide: bool, title: str, caption: str) -> Table:
    """One row per dimension: the gap in each wave, the change, its CI, q and direction."""
    table = Table(
        title=title,
        caption=caption,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    longest = max((len(d.id) for d in doc.dimensions), default=8)
    table.add_column("dimension", no_wrap=True, min_width=min(longest, 16))
    gaps = [[_wave_gap(doc, w) for w in d.waves] for d in doc.dimensions]
    for k, label in enumerate(doc.labels):  # a long label wraps in its header, not a gap
        widest = max([len(row[k]) for row in gaps] + [len(w) for w in label.split()] + [1])
        header = "\n".join(esc(line) for line in textwrap.wrap(label, widest)) or esc(label)
        table.add_column(header, justify="right", no_wrap=True)
    for name in ("change", "95% CI", "q", "direction"):
        table.add_column(name, justify="left" if name == "direction" else "right", no_wrap=True)
    for d, row in zip(doc.dimensions, gaps, strict=True):
        table.add_row(esc(d.title if wide else d.id), *row, *_change_cells(d))
    return table


def _interval_cell(estimate: float, lo: float | None, hi: float | None) -> str:
    """An interval's cell: "±0.12" when symmetric (Welch's), "-0.31, +0.08" when
    lopsided (the small-group interval on the scale)."""
    if lo is None or hi is None:
        return "-"
    if abs((hi - estimate) - (estimate - lo)) < 0.005:
        return f"±{(hi - lo) / 2:.2f}"
    return f"{signed(lo)}, {signed(hi)}"


def _change_cells(d: TrendRow) -> list[str]:
    """change, 95% CI, q and direction of a dimension's first-to-last change."""
    overall = d.changes[-1].gap if d.changes else None
    if overall is None:
        return ["-", "-", "-", "not available"]
    change = signed(overall.change)
    word = findings.direction_word(overall)
    return [
        f"[bold]{change}[/]" if findings.significant(overall) else change,
        f"{signed(overall.ci[0])}, {signed(overall.ci[1])}",
        qfmt(overall.q_value),
        _direction_cell(overall, word),
    ]


def _direction_cell(change: GapChange, word: str) -> str:
    """The direction cell, "↓ closing by 0.70 points" or "↕ reversed, 0.15 points
    smaller": the size of a change is the change in |gap| (not "narrowed by 1.25")."""
    if word not in TREND_ARROWS:
        return word
    return TREND_ARROWS[word] + (", " if word == "reversed" else " ") + findings.size_words(change)


def _trend_line(doc: TrendDocument, d: TrendRow) -> str:
    """A dimension's trend as one line that wraps at words (narrow terminals)."""
    waves = zip(doc.labels, d.waves, strict=True)
    gaps = ", ".join(f"{esc(label)} {_wave_gap(doc, w)}" for label, w in waves)
    change, ci, q, word = _change_cells(d)
    if change == "-":
        return f"[bold]{esc(d.id)}[/]: {gaps}; change {word}"
    return f"[bold]{esc(d.id)}[/]: {gaps}; change {change} (95% CI {ci}), q {q}: {word}"
