"""Report charts: a real 900x500 PNG for every kind, drawn safely from several threads."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest

from bot.admin.charts import HEIGHT_PX, WIDTH_PX, report_chart
from storage.reports import ScoreSummary, TrendPoint
from surveys.definitions import QuestionKind
from surveys.intervals import interval
from surveys.report_query import parse_report_args
from surveys.stats import score_from_counts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2026, 11, 22, 12)


def summary(kind: QuestionKind, counts: dict[int, int]) -> ScoreSummary:
    score = score_from_counts(kind, counts)
    return ScoreSummary(
        kind=kind,
        query=parse_report_args("30d team=billing", now=NOW, command=kind.value),
        score=score,
        sent=100,
        answered=score.n,
        response_rate=score.n / 100,
        previous=None,
        delta=None,
        interval=interval(score),
        min_n=30,
        trustworthy=score.n >= 30,
    )


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"  # the first chunk holds width and height
    width, height = struct.unpack(">II", png[16:24])
    return width, height


TREND = [
    TrendPoint(date(2026, 10, 26), 12.5, 40),
    TrendPoint(date(2026, 11, 2), None, 0),
    TrendPoint(date(2026, 11, 9), 30.0, 31),
]


@pytest.mark.parametrize(
    ("kind", "counts", "trend"),
    [
        (QuestionKind.NPS, {10: 30, 9: 10, 7: 10, 3: 8}, TREND),
        (QuestionKind.CSAT, {5: 20, 4: 5, 2: 1}, TREND[:1]),
        (QuestionKind.CES, {7: 3, 1: 1}, []),
        (QuestionKind.NPS, {}, []),
    ],
)
def test_chart_is_a_900_by_500_png(
    kind: QuestionKind, counts: dict[int, int], trend: list[TrendPoint]
) -> None:
    png = report_chart(summary(kind, counts), trend)
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX) == (900, 500)
    assert png.endswith(b"IEND\xaeB`\x82")
    assert len(png) > 10_000  # axes, bars and labels drawn, not a blank canvas


def test_charts_drawn_in_parallel_threads_are_identical() -> None:
    nps = summary(QuestionKind.NPS, {10: 30, 9: 10, 7: 10, 3: 8})
    alone = report_chart(nps, TREND)
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(lambda _: report_chart(nps, TREND), range(8)))
    assert all(png == alone for png in drawn)
