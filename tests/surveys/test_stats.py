"""The minimum n, and scores rebuilt from counts exactly as scoring makes them."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.definitions import SCALES, QuestionKind
from surveys.scoring import score
from surveys.stats import score_from_counts, trustworthy

NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


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
