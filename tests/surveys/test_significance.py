"""A change is called significant only when it is more than the noise of its own metric."""

from __future__ import annotations

import math

import pytest

from surveys.scoring import ces, csat, nps
from surveys.significance import compare
from surveys.tdist import Z_95, t_quantile_95


def test_one_answer_on_each_side_is_noise() -> None:
    change = compare(nps([10]), nps([0]))  # +100 against -100: "+200"
    assert change is not None and change.delta == 200.0
    assert not change.significant
    assert (change.low, change.high) == pytest.approx((-53.943, 153.943), abs=1e-3)


def test_five_answers_against_five_are_noise_and_thirty_are_not() -> None:
    few = compare(nps([10, 10, 8, 8, 0]), nps([10] * 5))  # +20 against +100: -80
    assert few is not None and few.delta == pytest.approx(-80.0)
    assert not few.significant and few.low < 0 < few.high
    many = compare(nps([10, 10, 8, 8, 0] * 6), nps([10] * 30))
    assert many is not None and many.significant
    assert (many.low, many.high) == pytest.approx((-100.985, -44.470), abs=1e-3)


def test_nps_difference_worked_by_hand() -> None:
    # 3 promoters, 1 detractor of 4 against 1 promoter, 3 detractors of 4: n' = 7 each.
    p1, d1 = 3.75 / 7, 1.75 / 7
    v1 = p1 + d1 - (p1 - d1) ** 2
    centre = 2 * (p1 - d1)  # the other side mirrors this one
    half = Z_95 * math.sqrt(2 * v1 / 7)
    change = compare(nps([9, 9, 9, 0]), nps([9, 0, 0, 0]))
    assert change is not None and change.delta == pytest.approx(100.0)
    assert (change.low, change.high) == pytest.approx(
        ((centre - half) * 100, (centre + half) * 100)
    )


def test_csat_agresti_caffo() -> None:
    # 41/50 against 20/25: (42/52) - (21/27), each variance p(1-p)/(n+2).
    change = compare(csat([5] * 41 + [3] * 5 + [1] * 4), csat([5] * 20 + [1] * 5))
    p1, p2 = 42 / 52, 21 / 27
    half = Z_95 * math.sqrt(p1 * (1 - p1) / 52 + p2 * (1 - p2) / 27)
    assert change is not None and change.delta == pytest.approx(2.0)
    assert (change.low, change.high) == pytest.approx(
        ((p1 - p2 - half) * 100, (p1 - p2 + half) * 100)
    )
    assert not change.significant
    assert compare(csat([5] * 60), csat([1] * 60)).significant  # type: ignore[union-attr]


def test_ces_welch_t() -> None:
    # Means 5 and 2, variances 4 and 1, n 3 each: se = sqrt(4/3 + 1/3), df = 2.94 -> 2.
    change = compare(ces([3, 5, 7]), ces([1, 2, 3]))
    half = t_quantile_95(2) * math.sqrt(5 / 3)
    assert change is not None and change.low == pytest.approx(3 - half)
    assert 3 + half > 6 and change.high == 6.0  # no CES difference is wider than 7 - 1
    assert not change.significant
    assert compare(ces([7, 6] * 20), ces([2, 1] * 20)).significant  # type: ignore[union-attr]


def test_too_little_to_test() -> None:
    assert compare(ces([7]), ces([1, 2])) is None  # one answer has no spread
    assert compare(ces([7, 7]), ces([1, 1])) is None  # no spread on either side
    assert compare(nps([]), nps([10])) is None
    with pytest.raises(ValueError, match="cannot compare"):
        compare(nps([1]), csat([1]))
