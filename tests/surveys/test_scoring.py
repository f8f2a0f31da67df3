"""NPS, CSAT and CES arithmetic, exact on small examples and bounded on any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys import SCALES, QuestionKind, Score, ces, csat, nps, score


def test_nps_is_promoters_minus_detractors() -> None:
    result = nps([10, 9, 8, 0])
    assert result.value == 25.0
    assert result.n == 4
    assert result.counts == {"promoter": 2, "passive": 1, "detractor": 1}
    assert result.distribution == {
        0: 1,
        1: 0,
        2: 0,
        3: 0,
        4: 0,
        5: 0,
        6: 0,
        7: 0,
        8: 1,
        9: 1,
        10: 1,
    }
    assert result.mean == 6.75
    assert result.percent_easy is None


def test_nps_extremes() -> None:
    assert nps([10, 9]).value == 100.0
    assert nps([0, 6]).value == -100.0
    assert nps([7, 8]).value == 0.0


def test_csat_is_the_share_of_fours_and_fives() -> None:
    result = csat([5, 4, 3, 1])
    assert result.value == 50.0
    assert result.counts == {"satisfied": 2, "neutral": 1, "dissatisfied": 1}
    assert result.distribution == {1: 1, 2: 0, 3: 1, 4: 1, 5: 1}


def test_ces_is_the_mean_with_the_share_of_easy() -> None:
    result = ces([7, 5, 4, 2])
    assert result.value == result.mean == 4.5
    assert result.percent_easy == 50.0
    assert result.counts == {"easy": 2, "neutral": 1, "difficult": 1}


@pytest.mark.parametrize("kind", [QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES])
def test_no_answers_means_no_value(kind: QuestionKind) -> None:
    result = score(kind, [])
    assert (result.value, result.mean, result.n, result.percent_easy) == (None, None, 0, None)
    assert sum(result.counts.values()) == 0
    assert set(result.distribution) == set(range(SCALES[kind][0], SCALES[kind][1] + 1))
    assert result.format() == f"{kind.value.upper()} n/a (n=0)"


def test_values_are_not_rounded() -> None:
    assert nps([10, 10, 0]).value == pytest.approx(100 / 3)


@pytest.mark.parametrize(
    ("metric", "bad"),
    [(nps, 11), (nps, -1), (csat, 0), (csat, 6), (ces, 0), (ces, 8)],
)
def test_out_of_range_scores_are_refused(metric: object, bad: int) -> None:
    assert callable(metric)
    with pytest.raises(ValueError, match="outside"):
        metric([bad])


def test_non_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="integers"):
        nps([True])
    with pytest.raises(ValueError, match="text"):
        score(QuestionKind.TEXT, [1])


def test_score_dispatches_by_kind() -> None:
    assert score(QuestionKind.NPS, [9]) == nps([9])
    assert score(QuestionKind.CSAT, [4]) == csat([4])
    assert score(QuestionKind.CES, [6]) == ces([6])


def test_format() -> None:
    fifty = [10] * 30 + [8] * 11 + [3] * 9
    assert nps(fifty).format() == "NPS +42 (n=50: 30 promoters, 11 passives, 9 detractors)"
    assert nps([0]).format() == "NPS -100 (n=1: 0 promoters, 0 passives, 1 detractor)"
    assert csat([5] * 21 + [2] * 4).format() == "CSAT 84.0% (n=25)"
    twenty_five = [7] * 4 + [6] * 14 + [4] * 7
    assert ces(twenty_five).format() == "CES 5.6 / 7, 72.0% easy (n=25)"


def scores(kind: QuestionKind) -> st.SearchStrategy[list[int]]:
    low, high = SCALES[kind]
    return st.lists(st.integers(low, high), max_size=200)


def check_totals(result: Score) -> None:
    assert sum(result.counts.values()) == result.n
    assert sum(result.distribution.values()) == result.n


@given(scores(QuestionKind.NPS))
def test_nps_stays_within_bounds(values: list[int]) -> None:
    result = nps(values)
    check_totals(result)
    if values:
        assert result.value is not None and -100 <= result.value <= 100
    else:
        assert result.value is None


@given(scores(QuestionKind.CSAT))
def test_csat_stays_within_bounds(values: list[int]) -> None:
    result = csat(values)
    check_totals(result)
    if values:
        assert result.value is not None and 0 <= result.value <= 100
    else:
        assert result.value is None


@given(scores(QuestionKind.CES))
def test_ces_mean_stays_within_the_scale(values: list[int]) -> None:
    result = ces(values)
    check_totals(result)
    if values:
        assert result.mean is not None and result.percent_easy is not None
        assert 1 <= result.mean <= 7 and result.value == result.mean
        assert 0 <= result.percent_easy <= 100
    else:
        assert result.mean is None


@given(st.lists(st.integers(0, 10), min_size=1))
def test_nps_does_not_depend_on_order(values: list[int]) -> None:
    assert nps(values) == nps(reversed(values))
