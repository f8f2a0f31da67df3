"""Whether two scores differ by more than the noise: a 95% interval of their difference.

Each metric is tested on its own variance, the two samples independent (this period against
the previous one, a team against everyone else):

* NPS: the difference of two adjusted Wald NPS (surveys.intervals, Rocks 2016), standard error
  sqrt(v1/n1' + v2/n2') with v = pp' + pd' - (pp' - pd')² and n' = n + 3;
* CSAT (% satisfied): Agresti & Caffo (2000), "Simple and effective confidence intervals for
  proportions and differences of proportions result from adding two successes and two
  failures", The American Statistician 54(4): one satisfied and one not added to each side;
* CES (the mean): Welch's t, sqrt(s1²/n1 + s2²/n2) with the Welch-Satterthwaite degrees of
  freedom (rounded down, surveys.tdist).

The change is significant when that interval leaves out 0 (a two-sided test at 5%). The
adjustments keep one answer on each side (+100 against -100) from passing for a real change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from surveys.definitions import SCALES, Band, QuestionKind
from surveys.intervals import adjusted_nps
from surveys.scoring import Score
from surveys.tdist import Z_95, t_quantile_95

__all__ = ["Change", "compare"]


@dataclass(frozen=True)
class Change:
    """`current` minus `previous`, as observed, with the 95% interval of the difference."""

    delta: float
    low: float
    high: float
    method: str

    @property
    def significant(self) -> bool:
        """The interval leaves out no change at all."""
        return self.low > 0 or self.high < 0


def compare(current: Score, previous: Score) -> Change | None:
    """How `current` differs from `previous` (same kind); None when there is too little to test
    (no answers on one side; for CES fewer than two, or no spread on either side)."""
    if current.kind is not previous.kind:
        raise ValueError(f"cannot compare {current.kind.value} with {previous.kind.value}")
    if current.value is None or previous.value is None:
        return None
    delta = current.value - previous.value
    change: Change | None
    if current.kind is QuestionKind.NPS:
        change = _nps(current, previous, delta)
    elif current.kind is QuestionKind.CSAT:
        change = _csat(current, previous, delta)
    elif current.kind is QuestionKind.CES:
        change = _ces(current, previous, delta)
    else:
        raise ValueError(f"{current.kind.value} questions have no score")
    if change is None:
        return None
    # No difference can be wider than the scale: clip the interval to it.
    low, high = SCALES[current.kind]
    widest = {QuestionKind.NPS: 200.0, QuestionKind.CSAT: 100.0}.get(current.kind, high - low)
    return replace(change, low=max(change.low, -widest), high=min(change.high, widest))


def _nps(current: Score, previous: Score, delta: float) -> Change:
    value_1, variance_1, size_1 = _adjusted(current)
    value_2, variance_2, size_2 = _adjusted(previous)
    half = Z_95 * math.sqrt(variance_1 / size_1 + variance_2 / size_2)
    centre = value_1 - value_2
    return Change(delta, (centre - half) * 100, (centre + half) * 100, "adjusted Wald")


def _adjusted(score: Score) -> tuple[float, float, float]:
    counts = score.counts
    return adjusted_nps(counts[Band.PROMOTER.value], counts[Band.DETRACTOR.value], score.n)


def _csat(current: Score, previous: Score, delta: float) -> Change:
    def shares(score: Score) -> tuple[float, float]:
        size = score.n + 2
        p = (score.counts[Band.SATISFIED.value] + 1) / size
        return p, p * (1 - p) / size

    p_1, variance_1 = shares(current)
    p_2, variance_2 = shares(previous)
    half = Z_95 * math.sqrt(variance_1 + variance_2)
    centre = p_1 - p_2
    return Change(delta, (centre - half) * 100, (centre + half) * 100, "Agresti-Caffo")


def _ces(current: Score, previous: Score, delta: float) -> Change | None:
    if current.n < 2 or previous.n < 2:
        return None
    share_1, share_2 = _variance(current) / current.n, _variance(previous) / previous.n
    if share_1 + share_2 == 0:
        return None  # everyone alike on both sides: no spread to measure the noise by
    df = (share_1 + share_2) ** 2 / (share_1**2 / (current.n - 1) + share_2**2 / (previous.n - 1))
    half = t_quantile_95(df) * math.sqrt(share_1 + share_2)
    return Change(delta, delta - half, delta + half, "Welch t")


def _variance(score: Score) -> float:
    mean = score.mean or 0.0
    squares = sum(count * (value - mean) ** 2 for value, count in score.distribution.items())
    return squares / (score.n - 1)
