"""Scores rebuilt from counts, and whether n is enough to read one as more than indicative.

Intervals live in surveys.intervals, tests of a change in surveys.significance.
"""

from __future__ import annotations

from collections.abc import Mapping

from surveys.definitions import BANDS, SCALES, Band, QuestionKind, band_of
from surveys.scoring import Score

__all__ = ["score_from_counts", "trustworthy"]


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
