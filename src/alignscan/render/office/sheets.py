"""The result document as plain tables, for the workbook (`--xlsx`) and the deck (`--pptx`).

Pure functions of the result: every figure is copied from it, never recomputed, so the
Office files publish exactly what result.json publishes. A cell the analysis suppressed
is the marker `HIDDEN` (written as the text "hidden", never a number); a figure that
simply does not exist (no alpha, no second wave) is None (an empty cell).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alignscan.errors import AlignscanError
from alignscan.result import findings
from alignscan.result.models import DriverCell, Rate
from alignscan.textsafe import strip_controls

if TYPE_CHECKING:
    from alignscan.result.models import (
        Dimension,
        Gap,
        Item,
        ResultDocument,
        Segment,
        TrendDocument,
        WaveCell,
    )

OFFICE_EXTRA = "pip install 'alignscan[office]'"


class OfficeUnavailable(AlignscanError):
    """The optional `office` extra (python-pptx, XlsxWriter) is not installed."""

    code = "office_unavailable"
    hint = OFFICE_EXTRA
    exit_code = 2


class Hidden:
    """A figure the analysis suppressed to protect small groups."""

    def __repr__(self) -> str:
        return "hidden"


HIDDEN = Hidden()


@dataclass(frozen=True)
class Col:
    """A column: header, number format kind, and what it means (the README sheet)."""

    name: str
    kind: str  # text, int, dec, signed, pct, pp, p
    doc: str


@dataclass(frozen=True)
class Fig:
    """A value with its own number format kind (the summary's mixed column)."""

    value: Any
    kind: str


@dataclass
class Table:
    """One sheet: its name, a sentence about it, its columns and rows."""

    name: str
    about: str
    cols: list[Col]
    rows: list[list[Any]] = field(default_factory=list)
    heat: list[int] = field(default_factory=list)  # columns coloured as a gap heatmap


# Not characters XML 1.0 allows (lone surrogates, U+FFFE, U+FFFF): lxml and the zip's
# UTF-8 encoder refuse them, so they are dropped like the controls.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def text(value: object) -> str:
    """Survey text as plain text for an Office file: no control or bidi characters
    (they are not valid in XML, and an override could reorder the figures beside it)."""
    return _NOT_XML.sub("", strip_controls(str(value)))


def labels(result: ResultDocument) -> dict[str, str]:
    """Group id -> display label (the survey's `roles.labels`), as the HTML shows it."""
    return {g: text(v) for g, v in findings.group_labels(result).items()}


def gap_name(result: ResultDocument) -> str:
    a, b = result.compare
    names = labels(result)
    return f"{names[a]} − {names[b]}"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


# ----------------------------------------------------------------------------- cells

GROUP_METRICS = (
    ("n", "int", "respondents of {g} counted in this row"),
    ("mean", "dec", "mean score of {g} (higher is more favorable)"),
    ("sd", "dec", "standard deviation of the scores of {g}"),
    ("favorable", "pct", "share of the answers of {g} that are favorable"),
)
N_EFFECTIVE = ("n_effective", "dec", "effective sample size of {g} (Kish; weighted analyses)")


def group_metrics(result: ResultDocument) -> tuple[tuple[str, str, str], ...]:
    """The per-group figures: with `--weight-to`, also the effective sample size."""
    return GROUP_METRICS + ((N_EFFECTIVE,) if result.weighting is not None else ())



def group_cols(result: ResultDocument) -> list[Col]:
    """n, mean, sd and favorable share (and effective n) for every group of the result."""
    names = labels(result)
    return [
        Col(f"{names[g]} {m.replace('_', ' ')}", kind, doc.format(g=names[g]))
        for g in result.groups
        for m, kind, doc in group_metrics(result)
    ]


def group_values(result: ResultDocument, unit: Item | Dimension | Segment) -> list[Any]:
    metrics = group_metrics(result)
    out: list[Any] = []
    for g in result.groups:
        cell = unit.groups.get(g)
        if cell is None:
            out += [None] * len(metrics)
        elif not findings.shown(cell):
            out += [HIDDEN] * len(metrics)
        else:
            out += [getattr(cell, m, None) for m, _, _ in metrics]
    return out


def gap_cols(result: ResultDocument) -> list[Col]:
    """The gap between the two compared groups, its intervals and its test."""
    g = gap_name(result)
    return [
        Col("gap", "signed", f"mean score of {g}"),
        Col("gap CI low", "signed", "95% confidence interval of the gap, lower end"),
        Col("gap CI high", "signed", "95% confidence interval of the gap, upper end"),
        Col("gap adj. CI low", "signed", "interval widened for the number of gaps looked at"),
        Col("gap adj. CI high", "signed", "its upper end"),
        Col("favorable gap", "pp", f"favorable share of {g}, in percentage points"),
        Col("favorable gap CI low", "pp", "95% confidence interval of the favorable gap"),
        Col("favorable gap CI high", "pp", "its upper end"),
        Col("p", "p", "two-sided p: Welch's t-test, or empirical likelihood (a group < 200)"),
        Col("q", "p", "Benjamini-Hochberg q-value; significant when below 0.05"),
        Col("Cliff's delta", "signed", "effect size: P(higher) − P(lower), −1 to 1"),
        Col("magnitude", "text", "Cliff's delta in words: negligible, small, medium, large"),
        Col("significant", "text", "yes when q < 0.05 (the report's rule)"),
    ]


def gap_values(gap: Gap | None) -> list[Any]:
    if gap is None:
        return [HIDDEN] * 13

    def pair(lo_hi: list[float] | None) -> list[Any]:
        return [None, None] if not lo_hi else [lo_hi[0], lo_hi[1]]

    return [
        gap.mean,
        *pair(gap.mean_ci),
        *pair(gap.mean_ci_adjusted),
        gap.favorable,
        *pair(gap.favorable_ci),
        gap.p_value,
        gap.q_value,
        gap.cliffs_delta,
        gap.magnitude,
        yes_no(findings.significant(gap)),
    ]


# ----------------------------------------------------------------------------- sheets


def dimensions_table(result: ResultDocument) -> Table:
    cols = [
        Col("dimension id", "text", "the dimension's id in the survey file"),
        Col("dimension", "text", "the dimension's title"),
        Col("alpha", "dec", "Cronbach's alpha: do the items measure one thing (0.7+ good)"),
        *group_cols(result),
        *gap_cols(result),
    ]
    rows = [
        [d.id, text(d.title), d.alpha, *group_values(result, d), *gap_values(d.gap)]
        for d in result.dimensions
    ]
    return Table("dimensions", "One row per dimension (a set of items).", cols, rows)


def items_table(result: ResultDocument) -> Table:
    cols = [
        Col("item id", "text", "the item's id in the survey file"),
        Col("dimension id", "text", "the dimension it belongs to"),
        Col("item", "text", "the question as asked"),
        Col("reverse", "text", "yes when the item is reverse-keyed (scored the other way)"),
        Col("answered", "pct", "share of the respondents who answered it"),
        *group_cols(result),
        *gap_cols(result),
    ]
    rows = [
        [
            i.id,
            i.dimension,
            text(i.text),
            yes_no(i.reverse),
            i.answered_share,
            *group_values(result, i),
            *gap_values(i.gap),
        ]
        for i in result.items
    ]
    return Table("items", "One row per item (question).", cols, rows)


def segments_table(result: ResultDocument) -> Table:
    titles = {d.id: text(d.title) for d in result.dimensions}
    cols = [
        Col("segment", "text", "the segment column (e.g. department)"),
        Col("value", "text", "its value"),
        Col("dimension id", "text", "the dimension"),
        Col("dimension", "text", "its title"),
        *group_cols(result),
        *gap_cols(result),
    ]
    rows = [
        [
            text(s.column),
            text(s.value),
            s.dimension,
            titles.get(s.dimension, s.dimension),
            *group_values(result, s),
            *gap_values(s.gap),
        ]
        for s in result.segments
    ]
    heat = [4 + len(group_cols(result)), 9 + len(group_cols(result))]  # gap, favorable gap
    about = "One row per segment value and dimension; gaps coloured as in the HTML heatmap."
    return Table("segments", about, cols, rows, heat)


def segment_matrix(result: ResultDocument) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Per segment column: dimension titles and, per value, its row of gaps (HIDDEN when
    suppressed): the heatmap of the HTML report."""
    dims = [(d.id, text(d.title)) for d in result.dimensions]
    columns: dict[str, dict[str, dict[str, Segment]]] = {}
    for s in result.segments:
        columns.setdefault(s.column, {}).setdefault(s.value, {})[s.dimension] = s
    out = []
    for column, values in columns.items():
        rows = []
        for value, by_dim in values.items():
            cells: list[Any] = []
            for dim_id, _ in dims:
                found = by_dim.get(dim_id)
                gap = found.gap if found else None
                cells.append(None if found is None else HIDDEN if gap is None else gap.mean)
            rows.append([text(value), *cells])
        out.append((text(column), [t for _, t in dims], rows))
    return out


def heatmap_table(result: ResultDocument) -> Table:
    """All segment columns stacked: segment, value, then one gap column per dimension."""
    blocks = segment_matrix(result)
    dims = blocks[0][1] if blocks else [text(d.title) for d in result.dimensions]
    cols = [
        Col("segment", "text", "the segment column"),
        Col("value", "text", "its value"),
        *[Col(t, "signed", f"mean-score gap ({gap_name(result)}) on {t}") for t in dims],
    ]
    rows = [[column, *row] for column, _, block in blocks for row in block]
    about = "The segment heatmap: mean-score gap per segment value and dimension."
    return Table("heatmap", about, cols, rows, list(range(2, 2 + len(dims))))


def drivers_table(result: ResultDocument) -> Table:
    """Per group and predictor: correlation with the outcome and its share of R²."""
    block = result.drivers
    titles = {d.id: text(d.title) for d in result.dimensions}
    names = labels(result)
    outcome = "" if block is None else titles.get(block.outcome, block.outcome)
    cols = [
        Col("group", "text", "the group"),
        Col("driver", "text", "a dimension that may drive the outcome"),
        Col("n", "int", "respondents of the group with every dimension score"),
        Col("R²", "dec", f"share of the variance of {outcome} the drivers explain together"),
        Col("r", "signed", "correlation of the driver with the outcome"),
        Col("r CI low", "signed", "95% confidence interval of r (Fisher), lower end"),
        Col("r CI high", "signed", "its upper end"),
        Col("importance", "dec", "the driver's part of R² (Shapley decomposition)"),
        Col("share of R²", "pct", "importance / R²"),
    ]
    rows: list[list[Any]] = []
    for g, cell in (block.groups if block is not None else {}).items():
        for pid in block.predictors:  # type: ignore[union-attr]
            head = [names.get(g, text(g)), titles.get(pid, pid)]
            if not isinstance(cell, DriverCell):
                rows.append([*head, *[HIDDEN] * 7])
                continue
            d = next((x for x in cell.dimensions if x.id == pid), None)
            ci: list[Any] = (d.r_ci if d else None) or [None, None]
            rows.append(
                [*head, cell.n, cell.r2, d and d.r, ci[0], ci[1]]
                + [d and d.importance, d and d.share]
            )
    about = f"Drivers of {outcome}: what moves it, per group (empty without drivers)."
    return Table("drivers", about, cols, rows)


def participation_table(result: ResultDocument) -> Table:
    """Respondents out of the headcount, per group and segment (`--headcount`)."""
    part = result.participation
    names = labels(result)
    cols = [
        Col("segment", "text", "the segment column (All: the whole organisation)"),
        Col("value", "text", "its value"),
        Col("group", "text", "the group"),
        Col("headcount", "int", "people in the group (from the headcount file)"),
        Col("responded", "int", "respondents whose answers were used"),
        Col("rate", "pct", "responded / headcount"),
    ]
    units = [("All", "", part.groups)] if part is not None else []
    units += [(text(s.column), text(s.value), s.groups) for s in part.segments] if part else []
    rows: list[list[Any]] = []
    for column, value, groups in units:
        for g, cell in groups.items():
            figures = (
                [cell.headcount, cell.responded, cell.rate]
                if isinstance(cell, Rate)
                else [HIDDEN] * 3
            )
            rows.append([column, value, names.get(g, text(g)), *figures])
    about = "Participation per group (empty when the analysis had no --headcount)."
    return Table("participation", about, cols, rows)


def _trend_gap(trend: TrendDocument, wave: WaveCell | None) -> Any:
    """A wave's gap: the number, HIDDEN when the wave has the unit but hid its gap."""
    if wave is None or not wave.present:
        return None
    if wave.gap is None and trend.compared_on.startswith("means"):
        return HIDDEN
    return wave.gap


def trend_table(result: ResultDocument) -> Table:
    """Per dimension and item: the gap in two waves and its change, with the test."""
    trend = result.trend
    cols = [
        Col("level", "text", "dimension or item"),
        Col("id", "text", "its id"),
        Col("title", "text", "its title or text"),
        Col("from", "text", "the earlier wave"),
        Col("to", "text", "the later wave"),
        Col("gap from", "signed", f"mean-score gap ({gap_name(result)}) in the earlier wave"),
        Col("gap to", "signed", "the same in the later wave"),
        Col("change", "signed", "gap to − gap from"),
        Col("change CI low", "signed", "95% confidence interval of the change"),
        Col("change CI high", "signed", "its upper end"),
        Col("q", "p", "Benjamini-Hochberg q-value of the change"),
        Col("direction", "text", "closing, widening, reversed, or no clear change"),
    ]
    rows: list[list[Any]] = []
    for level in ("dimensions", "items") if trend is not None else ():
        for unit in getattr(trend, level):
            waves = dict(zip(trend.labels, unit.waves, strict=False))  # type: ignore[union-attr]
            for ch in unit.changes:
                g = ch.gap
                before = _trend_gap(trend, waves.get(ch.from_))  # type: ignore[arg-type]
                after = _trend_gap(trend, waves.get(ch.to))  # type: ignore[arg-type]
                figures = [HIDDEN] * 4 if g is None else [g.change, *g.ci, g.q_value]
                word = HIDDEN if g is None else findings.direction_word(g)
                rows.append(
                    [level[:-1], unit.id, text(unit.title), text(ch.from_)]
                    + [text(ch.to), before, after, *figures, word]
                )
    about = "Change of each gap between waves (empty without a baseline)."
    return Table("trend", about, cols, rows)


def comments_table(result: ResultDocument) -> Table:
    """Comment counts per question and group (the texts stay in the HTML report)."""
    names = labels(result)
    cols = [
        Col("question id", "text", "the comment question's id"),
        Col("question", "text", "the question as asked"),
        Col("group", "text", "the group"),
        Col("comments", "int", "comments given (hidden below the comment minimum)"),
    ]
    rows: list[list[Any]] = [
        [c.id, text(c.text), names.get(g, text(g)), getattr(cell, "count", HIDDEN)]
        for c in result.comments
        for g, cell in c.groups.items()  # a hidden cell (Suppressed) has no count
    ]
    return Table("comments", "Comment counts per question and group.", cols, rows)


def weighting_rows(result: ResultDocument) -> list[list[Any]]:
    """With `--weight-to`: the headcount file, and per compared group the design effect
    and the effective sample size."""
    block = result.weighting
    if block is None:
        return []
    names = labels(result)
    note = "means, favorable shares and gaps are weighted; n, segments, drivers are not"
    rows: list[list[Any]] = [["weighted to headcount", text(block.file), note]]
    for g, w in block.groups.items():  # issue 31
        name = names.get(g, text(g))
        cells = " x ".join(w.columns) or "group"
        how = f"{w.method} on {cells} ({w.cells} cells)"
        spread = f"weights {w.weight_min:.2f} to {w.weight_max:.2f}"
        rows.append([f"weighted to headcount: {name}", text(how), text(spread)])
        rows.append([f"design effect: {name}", Fig(w.design_effect, "dec"), ""])
        rows.append([f"effective n: {name}", Fig(w.n_effective, "dec"), "Kish"])
    return rows


def summary_table(result: ResultDocument) -> Table:
    """The survey, the source, who is compared, the counts, and the headline."""
    a, b = result.compare
    names = labels(result)
    brand = result.report
    used = result.rows.used
    about = [
        ("survey", result.survey.title or result.survey.id),
        ("survey id", result.survey.id),
        ("survey version", result.survey.version),
        ("source file", result.source.file),
        ("client", brand and brand.client),
        ("prepared by", brand and brand.prepared_by),
        ("report date", result.report_date),
    ]
    rows: list[list[Any]] = [[k, text(v), ""] for k, v in about if v]
    rows += [
        ["compared", f"{names[a]} vs {names[b]}", "the gap is the first minus the second"],
        ["minimum group size", Fig(result.min_group_size, "int"), "no figure for fewer"],
        ["rows read", Fig(result.rows.read, "int"), "rows of the responses file"],
        ["respondents used", Fig(HIDDEN if used is None else used, "int"), ""],
        ["rows excluded", Fig(result.rows.excluded, "int"), ""],
    ]
    for g, cell in result.groups.items():
        n = cell.n if findings.shown(cell) else HIDDEN  # type: ignore[union-attr]
        rows.append([f"respondents: {names[g]}", Fig(n, "int"), ""])
    rows += weighting_rows(result)
    head = findings.headline(result)
    rows.append(["headline", text(head["sentence"]), ""])
    for rank, e in enumerate(findings.focus_areas(result), start=1):
        rows.append([f"focus area {rank}", text(e["title"]), text(e["reason"])])
    for rank, e in enumerate(findings.strengths(result), start=1):
        rows.append([f"strength {rank}", text(e["title"]), text(e["reason"])])
    rows.append(["alignscan version", text(result.alignscan_version), ""])
    cols = [
        Col("field", "text", "what the row says"),
        Col("value", "text", "its value (numbers are numbers)"),
        Col("note", "text", "how to read it"),
    ]
    return Table("summary", "The survey, who is compared, and the headline.", cols, rows)


def workbook_tables(result: ResultDocument) -> list[Table]:
    """Every sheet of the workbook after README, in order."""
    return [
        summary_table(result),
        dimensions_table(result),
        items_table(result),
        segments_table(result),
        heatmap_table(result),
        drivers_table(result),
        participation_table(result),
        trend_table(result),
        comments_table(result),
    ]
