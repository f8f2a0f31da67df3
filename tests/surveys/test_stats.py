"""Margins of error, the minimum n, and scores rebuilt from counts exactly as scoring makes them."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.definitions import SCALES, QuestionKind
from surveys.scoring import ces, csat, nps, score
from surveys.stats import (
    ces_margin,
    margin_of_error,
    nps_margin,
    percent_margin,
    score_from_counts,
    trustworthy,
)

NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


def test_nps_margin_from_promoter_and_detractor_shares() -> None:
    # pp .5, pd .2: 1.96 * sqrt((.7 - .09) / 100) * 100
    assert nps_margin(50, 20, 100) == pytest.approx(15.3081, abs=1e-4)
    assert nps_margin(100, 0, 100) == 0.0  # everyone agrees: no spread, never a NaN
    assert nps_margin(0, 0, 0) is None


def test_percent_margin_for_csat_and_ces_easy() -> None:
    assert percent_margin(80, 100) == pytest.approx(7.84)  # 1.96 * sqrt(.8 * .2 / 100) * 100
    assert percent_margin(1, 1) == 0.0
    assert percent_margin(0, 0) is None


def test_ces_margin_uses_the_sample_standard_deviation() -> None:
    # 3, 5, 7: mean 5, s = sqrt((4 + 0 + 4) / 2) = 2; 1.96 * 2 / sqrt(3)
    assert ces_margin({3: 1, 5: 1, 7: 1}) == pytest.approx(2.26321, abs=1e-5)
    assert ces_margin({4: 1}) is None  # one answer has no spread to measure
    assert ces_margin({}) is None


def test_margin_of_error_follows_the_kind() -> None:
    assert margin_of_error(nps([10] * 5 + [0] * 2 + [8] * 3)) == pytest.approx(
        1.96 * math.sqrt((0.5 + 0.2 - 0.09) / 10) * 100
    )
    assert margin_of_error(csat([5, 5, 5, 1])) == pytest.approx(
        1.96 * math.sqrt(0.75 * 0.25 / 4) * 100
    )
    assert margin_of_error(ces([3, 5, 7])) == pytest.approx(2.26321, abs=1e-5)
    assert margin_of_error(nps([])) is None


def test_trustworthy_from_the_minimum_n() -> None:
    assert trustworthy(30, 30) and trustworthy(31, 30)
    assert not trustworthy(29, 30) and not trustworthy(0, 1)


@given(
    kind=st.sampled_from([NPS, CSAT, CES]),
    data=st.data(),
)
def test_score_from_counts_equals_scoring(kind: QuestionKind, data: st.DataObject) -> None:
    low, high = SCALES[kind]
    values = data.draw(st.lists(st.integers(low, high), max_size=300))
    counted = score_from_counts(kind, Counter(values))
    assert counted == score(kind, values)


def test_score_from_counts_refuses_what_scoring_refuses() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.10"):
        score_from_counts(NPS, {11: 1})
    with pytest.raises(ValueError, match="negative"):
        score_from_counts(CSAT, {5: -1})
    with pytest.raises(ValueError, match="no score"):
        score_from_counts(QuestionKind.TEXT, {})
