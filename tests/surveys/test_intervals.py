"""95% intervals with worked numbers, and none collapsing to a point at the edges."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.definitions import QuestionKind
from surveys.intervals import (
    Interval,
    easy_interval,
    interval,
    mean_interval,
    nps_interval,
    wilson_interval,
)
from surveys.scoring import ces, csat, nps
from surveys.tdist import Z_95

CES = QuestionKind.CES


def bounds(found: Interval | None) -> tuple[float, float]:
    assert found is not None
    return (found.low, found.high)


def test_wilson_worked_examples() -> None:
    # 80 of 100: centre (.8 + z²/200) / (1 + z²/100) = .7889, half-width .0777.
    assert bounds(wilson_interval(80, 100)) == pytest.approx((71.117, 86.663), abs=1e-3)
    # One satisfied answer: the plain Wald interval would be 100 ± 0.
    assert bounds(wilson_interval(1, 1)) == pytest.approx((20.655, 100.0), abs=1e-3)
    assert bounds(wilson_interval(0, 5)) == pytest.approx((0.0, 43.448), abs=1e-3)
    assert wilson_interval(0, 0) is None


def test_nps_adjusted_wald_worked_examples() -> None:
    # 50 promoters, 20 detractors of 100: n' = 103, pp' = 50.75/103, pd' = 20.75/103,
    # NPS' = .2913, variance pp' + pd' - NPS'² = .6093, half-width 1.96 · sqrt(.6093/103).
    pp, pd = 50.75 / 103, 20.75 / 103
    half = Z_95 * math.sqrt((pp + pd - (pp - pd) ** 2) / 103)
    assert bounds(nps_interval(50, 20, 100)) == pytest.approx(
        ((pp - pd - half) * 100, (pp - pd + half) * 100)
    )
    assert bounds(nps_interval(50, 20, 100)) == pytest.approx((14.051, 44.201), abs=1e-3)
    # Everyone a promoter: never ±0.
    assert bounds(nps_interval(100, 0, 100)) == pytest.approx((93.090, 100.0), abs=1e-3)
    assert bounds(nps_interval(1, 0, 1)) == pytest.approx((-48.499, 98.499), abs=1e-3)
    assert nps_interval(0, 0, 0) is None


def test_ces_mean_uses_t_at_small_n() -> None:
    answers = {7: 8, 6: 4, 5: 3, 4: 2, 3: 2, 2: 1}  # n = 20, mean 5.55
    n = 20
    mean = sum(v * c for v, c in answers.items()) / n
    s = math.sqrt(sum(c * (v - mean) ** 2 for v, c in answers.items()) / (n - 1))
    low, high = bounds(mean_interval(CES, answers))
    assert (low + high) / 2 == pytest.approx(5.55)
    # t(0.975, 19) = 2.093, not z = 1.96: about 7% wider (the issue's ±0.75 -> ±0.80).
    assert (high - low) / 2 == pytest.approx(2.093024 * s / math.sqrt(n))
    assert (high - low) / 2 == pytest.approx(0.751, abs=1e-3)
    assert (high - low) / 2 / (Z_95 * s / math.sqrt(n)) == pytest.approx(1.0679, abs=1e-4)
    assert mean_interval(CES, {4: 1}) is None  # one answer has no spread


def test_ces_answers_all_alike_have_no_mean_interval() -> None:
    # s = 0 would give 7.0..7.0: a certainty twelve answers do not give.
    assert mean_interval(CES, {7: 12}) is None
    assert mean_interval(CES, {1: 0, 4: 30, 7: 0}) is None  # zero counts are not answers
    assert mean_interval(CES, {4: 29, 5: 1}) is not None


def test_interval_follows_the_kind_and_ces_easy_is_a_share() -> None:
    assert bounds(interval(csat([5, 5, 5, 5]))) == pytest.approx(bounds(wilson_interval(4, 4)))
    assert bounds(interval(nps([10, 0]))) == pytest.approx(bounds(nps_interval(1, 1, 2)))
    assert bounds(interval(ces([3, 5, 7]))) == bounds(mean_interval(CES, {3: 1, 5: 1, 7: 1}))
    assert bounds(easy_interval(ces([7, 7, 1]))) == bounds(wilson_interval(2, 3))
    with pytest.raises(ValueError):
        easy_interval(nps([1]))


@given(promoters=st.integers(0, 500), passives=st.integers(0, 500), detractors=st.integers(0, 500))
def test_no_nps_interval_collapses(promoters: int, passives: int, detractors: int) -> None:
    n = promoters + passives + detractors
    found = nps_interval(promoters, detractors, n)
    if n == 0:
        assert found is None
        return
    low, high = bounds(found)
    assert -100 <= low < high <= 100


@given(st.lists(st.integers(1, 5), min_size=1, max_size=200))
def test_no_share_interval_collapses_and_it_holds_the_share(values: list[int]) -> None:
    hits = sum(Counter(values)[v] for v in (4, 5))
    low, high = bounds(wilson_interval(hits, len(values)))
    assert 0 <= low < high <= 100
    assert low - 1e-9 <= 100 * hits / len(values) <= high + 1e-9
