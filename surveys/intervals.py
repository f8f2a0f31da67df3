"""95% confidence intervals of each score, chosen so that none collapses at the edges.

* a share (CSAT % satisfied, CES % easy): Wilson's score interval (Wilson 1927);
* NPS: the adjusted Wald interval of Rocks (2016), "Interval estimation for the 'Net Promoter
  Score'", The American Statistician 70(4), 365-372: add 3/4 of an answer to the promoters and
  to the detractors (3/2 to the passives, so 3 to n), then the Wald interval of a difference of
  two proportions of one trinomial sample;
* the CES mean: mean ± t(0.975, n - 1) · s / sqrt(n) (surveys.tdist), s the sample standard
  deviation.

All are in the score's own unit (NPS points, percent, the CES scale) and clipped to the scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from surveys.definitions import SCALES, Band, QuestionKind
from surveys.scoring import Score
from surveys.tdist import Z_95, t_quantile_95

__all__ = [
    "NPS_PSEUDO",
    "Interval",
    "adjusted_nps",
    "easy_interval",
    "interval",
    "mean_interval",
    "nps_interval",
    "wilson_interval",
]

NPS_PSEUDO = 0.75  # Rocks' adjustment: added to promoters and to detractors (n grows by 3)


@dataclass(frozen=True)
class Interval:
    """A 95% confidence interval [low, high] and the method that gave it."""

    low: float
    high: float
    method: str


def wilson_interval(hits: int, n: int) -> Interval | None:
    """Wilson's interval of the percent `hits` / `n`; None without answers.

    centre = (p + z²/2n) / (1 + z²/n), half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²).
    """
    if n <= 0:
        return None
    p, z2 = hits / n, Z_95**2
    scale = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / scale
    half = Z_95 / scale * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Interval(max(centre - half, 0.0) * 100, min(centre + half, 1.0) * 100, "wilson")


def adjusted_nps(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """Rocks' adjusted shares: (NPS as a fraction, its one-answer variance, adjusted n)."""
    size = n + 4 * NPS_PSEUDO
    pp = (promoters + NPS_PSEUDO) / size
    pd = (detractors + NPS_PSEUDO) / size
    return pp - pd, pp + pd - (pp - pd) ** 2, size


def nps_interval(promoters: int, detractors: int, n: int) -> Interval | None:
    """The adjusted Wald interval of NPS (Rocks 2016), in NPS points; None without answers."""
    if n <= 0:
        return None
    value, variance, size = adjusted_nps(promoters, detractors, n)
    half = Z_95 * math.sqrt(variance / size)
    return Interval(max(value - half, -1.0) * 100, min(value + half, 1.0) * 100, "adjusted Wald")


def mean_interval(kind: QuestionKind, distribution: Mapping[int, int]) -> Interval | None:
    """mean ± t(0.975, n-1) · s / sqrt(n) on `kind`'s scale; None below two answers, and when
    every answer is the same: s is then 0, and an interval of zero width would claim a
    certainty that a dozen alike answers do not give (the t interval needs a spread)."""
    n = sum(distribution.values())
    if n < 2 or sum(1 for count in distribution.values() if count) < 2:
        return None
    mean = sum(value * count for value, count in distribution.items()) / n
    variance = sum(count * (value - mean) ** 2 for value, count in distribution.items()) / (n - 1)
    half = t_quantile_95(n - 1) * math.sqrt(variance / n)
    low, high = SCALES[kind]
    return Interval(max(mean - half, low), min(mean + half, high), "t")


def interval(score: Score) -> Interval | None:
    """The 95% interval of `score.value`, in its own unit."""
    if score.kind is QuestionKind.NPS:
        counts = score.counts
        return nps_interval(counts[Band.PROMOTER.value], counts[Band.DETRACTOR.value], score.n)
    if score.kind is QuestionKind.CSAT:
        return wilson_interval(score.counts[Band.SATISFIED.value], score.n)
    if score.kind is QuestionKind.CES:
        return mean_interval(score.kind, score.distribution)
    raise ValueError(f"{score.kind.value} questions have no score")


def easy_interval(score: Score) -> Interval | None:
    """Wilson's interval of CES's percent easy."""
    if score.kind is not QuestionKind.CES:
        raise ValueError("only CES has a percent easy")
    return wilson_interval(score.counts[Band.EASY.value], score.n)
