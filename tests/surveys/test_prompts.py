"""Prompts are built once per survey, question and language, and follow a survey's change."""

from __future__ import annotations

from surveys import parse_survey
from surveys.conversation import advance, start
from surveys.prompts import prompt_for
from surveys.replies import Tap
from tests.surveys.samples import ONBOARDING_YAML, onboarding


def test_a_changed_survey_asks_its_new_question_text() -> None:
    before = onboarding()
    assert start(before, "en").prompt.text == "How was your onboarding?"
    # The same id, loaded again with another text (a catalogue reload after an edit).
    after = parse_survey(
        ONBOARDING_YAML.replace("How was your onboarding?", "How did onboarding go?"),
        "onboarding.yaml",
    )
    assert start(after, "en").prompt.text == "How did onboarding go?"
    assert start(before, "en").prompt.text == "How was your onboarding?"


def test_each_language_gets_its_own_prompt() -> None:
    survey = onboarding()
    english, polish = start(survey, "en"), start(survey, "pl")
    assert english.prompt.text == "How was your onboarding?"
    assert polish.prompt.text == "Jak oceniasz wdrożenie?"
    assert [c.caption for c in polish.prompt.choices][:1] == ["Okropnie"]
    step = advance(survey, english.state, Tap("rating", "5"))
    assert step.prompt is not None and step.prompt.text == "How did you reach us?"  # type: ignore[union-attr]


def test_asking_again_gives_the_prompt_already_built() -> None:
    survey = onboarding()
    first = prompt_for(survey, "rating", "en")
    assert prompt_for(survey, "rating", "en") is first
    assert prompt_for(survey, "rating", "pl") is not first
