"""One PNG per score: the weekly trend beside the score distribution (matplotlib, Agg).

Built with matplotlib's object API on an Agg canvas: no pyplot, so no global figure state,
nothing to close, and safe to run in a worker thread beside other charts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.admin.report_text import score_value
from storage.reports import ScoreSummary, TrendPoint
from surveys.definitions import BANDS, SCALES, QuestionKind, band_of

__all__ = ["HEIGHT_PX", "WIDTH_PX", "report_chart"]

WIDTH_PX, HEIGHT_PX = 900, 500
_DPI = 100
_HALF_WEEK = timedelta(days=4)
# Good, middling, bad: the same three colours for every scale's bands.
_COLOURS = {0: "#2e7d32", 1: "#9e9e9e", 2: "#c62828"}
_AXIS = {
    QuestionKind.NPS: ("NPS", (-100.0, 100.0)),
    QuestionKind.CSAT: ("CSAT, % satisfied", (0.0, 100.0)),
    QuestionKind.CES: ("CES, mean effort (7 = easy)", (1.0, 7.0)),
}


def report_chart(summary: ScoreSummary, trend: Sequence[TrendPoint]) -> bytes:
    """A 900x500 PNG: the score per week (left) and how many gave each score (right)."""
    kind = summary.kind
    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    value = summary.score.value
    shown = score_value(kind, value) if value is not None else "n/a"
    title = f"{kind.value.upper()} {shown} (n={summary.score.n}) · {summary.query.label}"
    if described := summary.query.describe():
        title += f" · {described}"
    figure.suptitle(title, fontsize=14)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})

    label, (low, high) = _AXIS[kind]
    points = [point for point in trend if point.value is not None]
    zone = summary.query.timezone
    left.set_title(f"per week (weeks start on Monday, {zone} time)", fontsize=11)
    left.set_ylabel(label)
    left.set_ylim(low, high)
    left.grid(axis="y", alpha=0.3)
    if points:
        weeks = [point.week_start for point in points]
        values = [point.value for point in points]
        left.plot(weeks, values, marker="o", color="#1565c0", linewidth=2)
        for point in points:
            left.annotate(
                f"n={point.n}",
                (point.week_start, point.value or 0.0),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
                color="#555555",
            )
        left.set_xticks(weeks, [f"{week:%d %b}" for week in weeks], rotation=45, ha="right")
        if len(weeks) == 1:
            left.set_xlim(weeks[0] - _HALF_WEEK, weeks[0] + _HALF_WEEK)
    else:
        left.text(0.5, 0.5, "no answers", ha="center", va="center", transform=left.transAxes)
    if kind is QuestionKind.NPS:
        left.axhline(0, color="#616161", linewidth=0.8)

    first, last = SCALES[kind]
    scores = list(range(first, last + 1))
    counts = [summary.score.distribution.get(value, 0) for value in scores]
    order = BANDS[kind]
    colours = [_COLOURS[order.index(band_of(kind, value))] for value in scores]
    right.bar(scores, counts, color=colours)
    right.set_title(f"answers by score (n={summary.score.n})", fontsize=11)
    right.set_xticks(scores)
    right.set_xlabel("score")
    right.set_ylabel("answers")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.2 of an answer
    right.grid(axis="y", alpha=0.3)
    right.margins(y=0.1)

    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()
