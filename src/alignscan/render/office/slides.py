"""The deck's slides, in order (`SLIDES`): title, summary, dimensions, items, the
segment heatmaps, drivers, trend, actions and the appendix (participation, weighting,
method); each draws only what the result document holds, with its suppression."""

from __future__ import annotations

from typing import Any

from alignscan.render.formats import pct, qfmt, signed
from alignscan.render.html import heat_color
from alignscan.render.office.deck import (
    GREY,
    Deck,
    _layout,
    bar_chart,
    bullets,
    favorable,
    gap_words,
    inches,
    names,
    new_slide,
    notes,
    table,
    unit_line,
)
from alignscan.render.office.sheets import HIDDEN, labels, segment_matrix, text
from alignscan.result import findings
from alignscan.result.models import DriverCell, Rate, ResultDocument

HEAT_ROWS = 12  # segment values per heatmap slide
TOP_ITEMS = 8  # item gaps in the table (all ten in the notes)


def participation_lines(result: ResultDocument) -> list[str]:
    """Respondents per group (and the rate out of the headcount, when known)."""
    label = labels(result)
    used = result.rows.used
    counts = []
    for g, size in result.groups.items():
        shown = f"{size.n:,}" if findings.shown(size) else "hidden"  # type: ignore[union-attr]
        counts.append(f"{label[g]} {shown}")
    lines = [
        (f"{used:,} respondents: " if used is not None else "Respondents: ") + ", ".join(counts)
    ]
    part = result.participation.groups if result.participation is not None else {}
    rates = [
        f"{label.get(g, g)} "
        + (
            f"{pct(c.rate)} ({c.responded:,} of {c.headcount:,})"
            if isinstance(c, Rate)
            else "hidden"
        )
        for g, c in part.items()
    ]
    if rates:
        lines.append("Participation: " + ", ".join(rates))
    weighting = result.weighting
    if weighting is not None:  # issue 31: the figures are weighted, said where the deck opens
        cells = sorted({" x ".join(s.columns) or "group" for s in weighting.groups.values()})
        lines.append(
            f"Weighted to headcount ({', '.join(cells)} cells): means, favorable "
            "shares and gaps of the compared groups"
        )
    return lines


def title_slide(deck: Deck) -> None:
    from pptx.util import Pt

    r = deck.result
    slide = deck.prs.slides.add_slide(_layout(deck.prs, True))
    client = r.report.client if r.report is not None else None
    title = text(r.survey.title or r.survey.id)
    la, lb = names(deck)
    lines = [f"{la} and {lb}: where they see things differently"]
    lines.append(" · ".join(text(x) for x in (client, r.source.file) if x))
    if r.report_date:
        lines.append(text(r.report_date))
    lines += participation_lines(r)
    holders = {ph.placeholder_format.idx: ph for ph in slide.placeholders}
    if slide.shapes.title is not None:
        slide.shapes.title.text = title
    sub = next((ph for idx, ph in holders.items() if idx != 0), None)
    if sub is None:
        box = (inches(0.8), deck.height // 2, deck.width - inches(1.6), deck.height // 3)
        bullets(slide, box, [(line, 16, False) for line in lines])
    else:
        sub.text_frame.text = "\n".join(text(line) for line in lines)
    if not deck.templated:
        _place_title_slide(deck, slide, sub)
    for para in sub.text_frame.paragraphs if sub is not None else []:
        for run in para.runs:
            run.font.size = Pt(16)
    notes(slide, [f"Survey {r.survey.id} version {r.survey.version}", *lines])


def _place_title_slide(deck: Deck, slide: Any, sub: Any) -> None:
    """Title and subtitle across a 16:9 slide (python-pptx's master is 4:3)."""
    width = deck.width - inches(1.6)
    if slide.shapes.title is not None:
        t = slide.shapes.title
        t.left, t.top, t.width, t.height = inches(0.8), inches(1.6), width, inches(1.6)
    if sub is not None:
        sub.left, sub.top, sub.width, sub.height = inches(0.8), inches(3.5), width, inches(2.6)


def summary_slide(deck: Deck) -> None:
    """The headline, the focus areas and the strengths, as the HTML report's page 1
    decides them (`findings.focus_areas`, `findings.strengths`)."""
    r = deck.result
    slide = new_slide(deck, "Executive summary")
    head = findings.headline(r)
    focus, best = findings.focus_areas(r), findings.strengths(r, limit=2)
    lines: list[tuple[str, int, bool]] = [(head["sentence"], 22, True)]
    lines.append(("Focus areas", 18, True))
    for e in focus:
        lines += [(e["title"], 15, True), (e["reason"], 13, False)]
    if not focus:
        lines.append(("No gap is both significant and more than negligible.", 14, False))
    if best:
        lines.append(("Strengths: where they are most aligned", 18, True))
        for e in best:
            lines += [(e["title"], 15, True), (e["reason"], 13, False)]
    bullets(slide, deck.body(slide), lines)
    dims = {d.id: d for d in r.dimensions}
    shown = [unit_line(deck, e["title"], dims[e["id"]]) for e in focus + best]
    notes(slide, [head["sentence"], findings.focus_basis(r)["sentence"], *shown])


def dimension_slide(deck: Deck) -> None:
    """Favorable share per dimension, the two compared groups side by side (one unit)."""
    r = deck.result
    a, b = r.compare
    la, lb = names(deck)
    slide = new_slide(deck, f"Gap by dimension: {la} vs {lb}")
    dims = r.dimensions
    series = [(la, [favorable(d, a) for d in dims]), (lb, [favorable(d, b) for d in dims])]
    chart = bar_chart(slide, deck.body(slide), [d.title for d in dims], series, "0%")
    chart.has_title = True
    chart.chart_title.text_frame.text = "Share of favorable answers"
    chart.value_axis.minimum_scale, chart.value_axis.maximum_scale = 0.0, 1.0
    lines = [unit_line(deck, d.title, d) for d in dims]
    notes(slide, ["Favorable share per dimension (hidden cells are left out).", *lines])


def items_slide(deck: Deck) -> None:
    """The largest significant item gaps as a table; all of them in the notes."""
    r = deck.result
    a, b = r.compare
    la, lb = names(deck)
    slide = new_slide(deck, "Largest item gaps")
    top = findings.top_item_gaps(r)
    dims = {d.id: d.title for d in r.dimensions}
    if not top:
        msg = "No item gap is significant after correction for multiple comparisons."
        bullets(slide, deck.body(slide), [(msg, 18, False)])
        notes(slide, [msg])
        return
    header = ["Item", "Dimension", f"{la} favorable", f"{lb} favorable", "Gap (95% CI)", "q"]
    rows = []
    for i in top[:TOP_ITEMS]:
        g: Any = i.gap
        lo, hi = g.mean_ci or (None, None)
        fa, fb = favorable(i, a), favorable(i, b)
        rows.append(
            [i.text, dims.get(i.dimension, i.dimension)]
            + ["hidden" if fa is HIDDEN else pct(fa), "hidden" if fb is HIDDEN else pct(fb)]
            + [f"{signed(g.mean)} ({signed(lo)} to {signed(hi)})", qfmt(g.q_value)]
        )
    grid = table(slide, deck.body(slide), header, rows, size=11)
    widths = [0.40, 0.18, 0.10, 0.10, 0.15, 0.07]
    for k, share in enumerate(widths):
        grid.columns[k].width = int(deck.body(slide)[2] * share)
    notes(slide, [unit_line(deck, f"{i.id} {i.text}", i) for i in top])


def _heat_cell(value: Any, limit: float) -> tuple[str, str | None]:
    """A heatmap cell's text and fill: the signed gap, or "hidden" on grey."""
    if value is HIDDEN:
        return "hidden", GREY
    if value is None:
        return "–", None
    return signed(value), heat_color(value, limit)


def _heat_caption(deck: Deck) -> str:
    la, lb = names(deck)
    return (
        f"Mean-score gap ({la} − {lb}): + where {la} answer more favorably, − where {lb} "
        "do, one colour each, darker for larger gaps; bold: significant (q < 0.05); "
        "hidden: protects a small group."
    )


def heatmap_slides(deck: Deck) -> None:
    """Per segment column, the mean-score gap per value and dimension as a coloured
    table (the HTML heatmap's colours); hidden cells say "hidden". Long columns
    continue on further slides."""
    r = deck.result
    gaps = [abs(s.gap.mean) for s in r.segments if s.gap]
    limit = max(gaps, default=1.0) or 1.0
    units = {(text(s.column), text(s.value), s.dimension): s for s in r.segments}
    dim_ids = [d.id for d in r.dimensions]
    for column, titles, rows in segment_matrix(r):
        pages = [rows[k : k + HEAT_ROWS] for k in range(0, len(rows), HEAT_ROWS)]
        for page, chunk in enumerate(pages, start=1):
            more = f" ({page} of {len(pages)})" if len(pages) > 1 else ""
            slide = new_slide(deck, f"Gap by {column}{more}")
            cells = [[_heat_cell(v, limit) for v in row[1:]] for row in chunk]
            body = [[row[0], *(t for t, _ in c)] for row, c in zip(chunk, cells, strict=True)]
            fills: list[list[str | None]] = [[None, *(f for _, f in c)] for c in cells]
            found = [[units.get((column, row[0], d)) for d in dim_ids] for row in chunk]
            marks = [
                [False, *(findings.significant(u.gap if u else None) for u in us)] for us in found
            ]
            left, top, width, height = deck.body(slide)
            size = 11 if len(titles) <= 7 else 9
            box = (left, top, width, height - inches(0.5))
            table(slide, box, [column, *titles], body, fills, size, marks)
            bullets(
                slide,
                (left, top + height - inches(0.45), width, inches(0.45)),
                [(_heat_caption(deck), 11, False)],
            )
            lines = [_heat_caption(deck)]
            for row, us in zip(chunk, found, strict=True):
                for title, unit in zip(titles, us, strict=True):
                    if unit is not None:
                        lines.append(f"{row[0]}, {title}: {gap_words(unit.gap)}.")
            notes(slide, lines)


def drivers_slide(deck: Deck) -> None:
    """Share of R² per driver, one series per group whose drivers are shown."""
    r = deck.result
    block = r.drivers
    if block is None:
        return
    titles = {d.id: d.title for d in r.dimensions}
    label = labels(r)
    outcome = titles.get(block.outcome, block.outcome)
    slide = new_slide(deck, f"What drives {outcome}")
    shown = {g: c for g, c in block.groups.items() if isinstance(c, DriverCell)}
    hidden = [label.get(g, g) for g in block.groups if g not in shown]
    lines = [f"Share of R² per driver; R²: the share of the variance of {outcome} explained."]
    if hidden:
        lines.append(
            f"Hidden (fewer than {block.min_group_size} complete answers): {', '.join(hidden)}."
        )
    series = []
    for g, cell in shown.items():
        by_id = {d.id: d for d in cell.dimensions}
        series.append(
            (label.get(g, g), [getattr(by_id.get(p), "share", None) for p in block.predictors])
        )
        lines.append(f"{label.get(g, g)}: n {cell.n}, R² {signed(cell.r2, '.3f')}.")
        for p in block.predictors:
            d = by_id.get(p)
            corr, importance, share = (d.r, d.importance, d.share) if d else (None, None, None)
            ci = (d.r_ci if d else None) or (None, None)
            lines.append(
                f"  {titles.get(p, p)}: r {signed(corr)} (95% CI {signed(ci[0])} to "
                f"{signed(ci[1])}), importance {signed(importance, '.4f')}, "
                f"share of R² {pct(share, 1)}."
            )
    left, top, width, height = deck.body(slide)
    if hidden:
        bullets(slide, (left, top, width, inches(0.5)), [(lines[1], 12, False)])
        top, height = top + inches(0.5), height - inches(0.5)
    if series:
        cats = [titles.get(p, p) for p in block.predictors]
        bar_chart(slide, (left, top, width, height), cats, series, "0%")
    notes(slide, lines)


def trend_slide(deck: Deck) -> None:
    """The mean-score gap per dimension in each wave (from a baseline)."""
    trend = deck.result.trend
    if trend is None or not trend.dimensions:
        return
    slide = new_slide(deck, "Trend: the gap per wave")
    dims = trend.dimensions
    series = [
        (wave, [w.gap if w.present else None for w in (d.waves[k] for d in dims)])
        for k, wave in enumerate(trend.labels)
    ]
    left, top, width, height = deck.body(slide)
    sentence = findings.trend_sentence(trend) or ""
    bullets(slide, (left, top, width, inches(0.6)), [(sentence, 14, False)])
    box = (left, top + inches(0.6), width, height - inches(0.6))
    chart = bar_chart(slide, box, [d.title for d in dims], series, "+0.00;-0.00;0.00")
    chart.has_title = True
    chart.chart_title.text_frame.text = f"Mean-score gap ({' − '.join(names(deck))})"
    lines = [sentence]
    for d in dims:
        for ch in d.changes:
            g = ch.gap
            if g is None:
                lines.append(f"{d.title} ({ch.from_} to {ch.to}): hidden.")
                continue
            lines.append(
                findings.change_sentence(d.title, ch.from_, g)
                + f" Change {signed(g.change)} (95% CI {signed(g.ci[0])} to "
                f"{signed(g.ci[1])}), q {qfmt(g.q_value)}."
            )
    notes(slide, lines)


def actions_slide(deck: Deck) -> None:
    """The recommended actions of the survey for the focus areas."""
    r = deck.result
    recs = findings.recommendations(r)
    slide = new_slide(deck, "Recommended actions")
    lines: list[tuple[str, int, bool]] = []
    for d in recs:
        lines.append((f"{d.title} (gap {signed(d.gap.mean)})", 16, True))  # type: ignore[union-attr]
        actions = d.actions or ["Discuss the gap with both groups."]
        lines += [(f"• {action}", 13, False) for action in actions]
    if not recs:
        lines = [
            (
                "No gap is both significant and more than negligible: no action is "
                "recommended from this survey alone.",
                16,
                False,
            )
        ]
    bullets(slide, deck.body(slide), lines)
    notes(slide, [unit_line(deck, d.title, d) for d in recs] or [lines[0][0]])


def weighting_lines(deck: Deck) -> list[str]:
    """With `--weight-to`: what is weighted, and each group's design effect."""
    block = deck.result.weighting
    if block is None:
        return []
    label = labels(deck.result)
    effects = ", ".join(
        f"{label.get(g, g)} {s.design_effect:.2f}" for g, s in block.groups.items()
    )
    return [
        f"Weighted to headcount ({text(block.file)}): means, favorable shares and "
        "gaps of items and dimensions are weighted (Taylor-linearised intervals); n, answer "
        f"counts, segments, reliability and drivers are not. Design effect: {effects or '–'}."
    ]


def appendix_slide(deck: Deck) -> None:
    """How the figures were made and what is hidden."""
    r = deck.result
    la, lb = names(deck)
    minimum = r.min_group_size
    privacy = r.privacy
    first = r.scale.start
    last = first + r.scale.points - 1
    fav = ", ".join(str(c) for c in r.scale.favorable)
    lines = [
        f"Gap: the {la} figure minus the {lb} figure. Answers are scored {first} to {last}; "
        "reverse-keyed items are recoded, so higher is always more favorable.",
        f"Favorable share: the share of answers coded {fav}.",
        "95% intervals: Welch for means (empirical likelihood on the answer scale when a "
        "group has fewer than 200 respondents); Newcombe (items) or clustered by respondent "
        "(dimensions, segments) for favorable shares.",
        "Significant: Welch's t-test (both groups 200 or more) or the empirical likelihood "
        "ratio test (a smaller group), Benjamini-Hochberg q below 0.05 over all gaps "
        "(segments as their own family). Effect size: Cliff's delta.",
        f"Anonymity: no figure for fewer than {minimum} respondents; cells are also hidden "
        f"when a figure about 1 to {minimum - 1} people could be worked out by sums or "
        f"differences ({privacy.cells_hidden_small} segment cells hidden for being "
        f"small, {privacy.cells_hidden_protective} more to protect them).",
        f"Comments need {r.min_comment_group_size} respondents in a group. "
        'Hidden figures show as "hidden" in this deck and in the workbook.',
        *weighting_lines(deck),
        f"Survey {r.survey.id} version {r.survey.version}; source "
        f"{r.source.file}; alignscan {r.alignscan_version}.",
    ]
    slide = new_slide(deck, "Appendix: method and privacy")
    bullets(slide, deck.body(slide), [(line, 13, False) for line in lines])
    notes(slide, lines)


SLIDES = (
    title_slide,
    summary_slide,
    dimension_slide,
    items_slide,
    heatmap_slides,
    drivers_slide,
    trend_slide,
    actions_slide,
    appendix_slide,
)
