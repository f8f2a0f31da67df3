"""How far a score can be trusted: 95% margins of error, the minimum n, scores from counts."""

from __future__ import annotations

import math
from collections.abc import Mapping

from surveys.definitions import BANDS, SCALES, Band, QuestionKind, band_of
from surveys.scoring import Score

__all__ = [
    "Z_95",
    "ces_margin",
    "margin_of_error",
    "nps_margin",
    "percent_margin",
    "score_from_counts",
    "trustworthy",
]

Z_95 = 1.96  # two-sided 95% of a normal distribution


def nps_margin(promoters: int, detractors: int, n: int) -> float | None:
    """±NPS points: 1.96 * sqrt((pp + pd - (pp - pd)^2) / n) * 100, shares pp and pd of n."""
    if n <= 0:
        return None
    pp, pd = promoters / n, detractors / n
    # pp + pd - (pp - pd)^2 is the variance of one answer scored +1 / 0 / -1; never negative
    # mathematically, but rounding can make it -1e-17 when everyone is a promoter.
    variance = max(pp + pd - (pp - pd) ** 2, 0.0)
    return Z_95 * math.sqrt(variance / n) * 100


def percent_margin(hits: int, n: int) -> float | None:
    """±percentage points of a share (CSAT satisfied, CES easy): 1.96 * sqrt(p(1-p)/n) * 100."""
    if n <= 0:
        return None
    p = hits / n
    return Z_95 * math.sqrt(max(p * (1 - p), 0.0) / n) * 100


def ces_margin(distribution: Mapping[int, int]) -> float | None:
    """± of the mean effort: 1.96 * s / sqrt(n), s the sample standard deviation (n - 1).

    None below two answers, where a sample has no spread to measure.
    """
    n = sum(distribution.values())
    if n < 2:
        return None
    mean = sum(value * count for value, count in distribution.items()) / n
    variance = sum(count * (value - mean) ** 2 for value, count in distribution.items()) / (n - 1)
    return Z_95 * math.sqrt(variance) / math.sqrt(n)


def margin_of_error(score: Score) -> float | None:
    """The 95% margin of `score.value`, in its own unit (NPS points, CSAT %, CES scale)."""
    if score.kind is QuestionKind.NPS:
        return nps_margin(
            score.counts[Band.PROMOTER.value], score.counts[Band.DETRACTOR.value], score.n
        )
    if score.kind is QuestionKind.CSAT:
        return percent_margin(score.counts[Band.SATISFIED.value], score.n)
    if score.kind is QuestionKind.CES:
        return ces_margin(score.distribution)
    raise ValueError(f"{score.kind.value} questions have no score")


def trustworthy(n: int, min_n: int) -> bool:
    """Whether `n` answers are enough to read a score as more than indicative."""
    return n >= min_n


def score_from_counts(kind: QuestionKind, distribution: Mapping[int, int]) -> Score:
    """The Score that surveys.scoring gives for these answers, from how many had each value.

    Reports count in SQL; expanding a million counted rows back into a list only to count
    them again would cost more than the query. The arithmetic is scoring's, step for step,
    so the two agree to the last bit (the report property test holds them to it).
    """
    if kind not in SCALES:
        raise ValueError(f"{kind.value} questions have no score")
    low, high = SCALES[kind]
    for point, count in distribution.items():
        if not low <= point <= high:
            raise ValueError(f"{kind.value} score {point} is outside {low}..{high}")
        if count < 0:
            raise ValueError(f"a count cannot be negative, got {count} for {point}")
    full = {point: distribution.get(point, 0) for point in range(low, high + 1)}
    n = sum(full.values())
    counts = {band.value: 0 for band in BANDS[kind]}
    for point, count in full.items():
        if count:
            counts[band_of(kind, point)] += count
    if not n:
        return Score(kind=kind, value=None, n=0, counts=counts, distribution=full, mean=None)
    mean = sum(point * count for point, count in full.items()) / n
    share = {band: 100 * count / n for band, count in counts.items()}
    percent_easy: float | None = None
    if kind is QuestionKind.NPS:
        value: float | None = share[Band.PROMOTER] - share[Band.DETRACTOR]
    elif kind is QuestionKind.CSAT:
        value = share[Band.SATISFIED]
    else:
        value, percent_easy = mean, share[Band.EASY]
    return Score(
        kind=kind,
        value=value,
        n=n,
        counts=counts,
        distribution=full,
        mean=mean,
        percent_easy=percent_easy,
    )
