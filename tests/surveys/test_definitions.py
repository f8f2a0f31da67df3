"""Survey definitions: bands, languages and the rules a question must follow."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from surveys import Band, Question, QuestionKind, Survey, band_of, builtin_surveys
from surveys.definitions import BANDS, SCALES

NPS = builtin_surveys()["nps"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (QuestionKind.NPS, [Band.DETRACTOR] * 7 + [Band.PASSIVE] * 2 + [Band.PROMOTER] * 2),
        (QuestionKind.CSAT, [Band.DISSATISFIED] * 2 + [Band.NEUTRAL] + [Band.SATISFIED] * 2),
        (QuestionKind.CES, [Band.DIFFICULT] * 3 + [Band.NEUTRAL] + [Band.EASY] * 3),
    ],
)
def test_band_of_every_value(kind: QuestionKind, expected: list[Band]) -> None:
    low, high = SCALES[kind]
    assert [band_of(kind, value) for value in range(low, high + 1)] == expected
    assert set(expected) == set(BANDS[kind])


@pytest.mark.parametrize(
    ("kind", "score"),
    [(QuestionKind.NPS, 11), (QuestionKind.CSAT, 0), (QuestionKind.CES, 8), (QuestionKind.TEXT, 1)],
)
def test_band_of_refuses_what_has_no_band(kind: QuestionKind, score: int) -> None:
    with pytest.raises(ValueError):
        band_of(kind, score)


def test_is_scale() -> None:
    assert [kind for kind in QuestionKind if kind.is_scale] == [
        QuestionKind.NPS,
        QuestionKind.CSAT,
        QuestionKind.CES,
    ]


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("pl",), "pl"),
        (("RO-ro",), "ro"),
        (("pt-BR", "en-US"), "en"),
        ((None, "", "pl_PL"), "pl"),
        (("de",), "en"),
        ((), "en"),
    ],
)
def test_resolve_language(candidates: tuple[str | None, ...], expected: str) -> None:
    assert NPS.resolve_language(*candidates) == expected


def test_text_falls_back_to_the_default_language() -> None:
    assert NPS.text({"en": "Hi", "pl": "Cześć"}, "pl") == "Cześć"
    assert NPS.text({"en": "Hi"}, "ro") == "Hi"


def test_question_lookup_and_primary() -> None:
    assert NPS.question("why").kind is QuestionKind.TEXT
    with pytest.raises(KeyError):
        NPS.question("nope")
    assert NPS.primary is NPS.questions[0]
    assert NPS.kind is QuestionKind.NPS


def question(**fields: Any) -> Question:
    return Question.model_validate({"id": "q", "text": {"en": "Q?"}, **fields})


def test_skippable_defaults_by_kind() -> None:
    assert question(kind="text").skippable
    assert not question(kind="nps").skippable
    assert not question(kind="text", optional=False).skippable
    assert question(kind="csat", optional=True).skippable


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "text", "labels": {1: {"en": "x"}}}, "text questions take no labels"),
        ({"kind": "ces", "labels": {0: {"en": "x"}}}, "0 is outside the ces scale 1..7"),
        ({"kind": "nps", "options": [{"id": "a", "label": {"en": "A"}}]}, "take no options"),
        ({"kind": "choice"}, "a choice needs 2 to 25 options"),
        (
            {
                "kind": "choice",
                "options": [{"id": "a", "label": {"en": "A"}}, {"id": "a", "label": {"en": "B"}}],
            },
            "duplicate option id 'a'",
        ),
        ({"kind": "text", "id": "Why"}, "String should match pattern"),
    ],
)
def test_question_rules(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        question(**fields)


def test_survey_without_a_scale_has_no_primary() -> None:
    survey = Survey.model_validate(
        {
            "id": "open",
            "name": {"en": "Open"},
            "languages": ["en"],
            "default_language": "en",
            "questions": [{"id": "q", "kind": "text", "text": {"en": "Anything?"}}],
            "thanks": {"en": "Thanks"},
        }
    )
    assert survey.primary is None and survey.kind is None


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        NPS.expiry_hours = 1  # type: ignore[misc]
