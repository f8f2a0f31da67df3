"""The /journey PNG: per scale, one bar per touchpoint in journey order, with its 95% interval
(none drawn where there is none: one answer, or CES answers all alike).

matplotlib's object API on an Agg canvas, as bot.admin.charts: safe in a worker thread.
"""

from __future__ import annotations

import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.admin.journey_text import NO_TOUCHPOINT
from storage.reports import Journey
from surveys.report_query import SCALE_KINDS

__all__ = ["journey_chart"]

WIDTH_PX, HEIGHT_PX = 900, 500
_DPI = 100
_RANGE = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
_BAR, _FRICTION = "#1565c0", "#c62828"


def journey_chart(journey: Journey) -> bytes | None:
    """A 900x500 PNG with a panel per scale that has answers; None when none has."""
    kinds = [k for k in SCALE_KINDS if any(k in step.scores for step in journey.steps)]
    if not kinds:
        return None
    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    figure.suptitle(f"Customer journey · {journey.query.label}", fontsize=14)
    axes = figure.subplots(1, len(kinds), squeeze=False)[0]
    names = [step.name if step.name is not None else NO_TOUCHPOINT for step in journey.steps]
    for ax, kind in zip(axes, kinds, strict=True):
        low, high = _RANGE[kind.value]
        positions, values, below, above, colours = [], [], [], [], []
        for position, step in enumerate(journey.steps):
            score, spread = step.scores.get(kind), step.intervals.get(kind)
            if score is None or score.value is None:
                continue
            positions.append(position)
            values.append(score.value)
            # No interval (one answer, or all alike): no error bar, not a cap of zero width.
            below.append(score.value - spread.low if spread else math.nan)
            above.append(spread.high - score.value if spread else math.nan)
            friction = step is journey.friction and kind is journey.friction_kind
            colours.append(_FRICTION if friction else _BAR)
        ax.bar(positions, values, color=colours, yerr=[below, above], capsize=4)
        ax.set_title(kind.value.upper(), fontsize=11)
        ax.set_ylim(low, high)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()
