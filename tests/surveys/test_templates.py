"""The built-in NPS, CSAT and CES templates: complete, translated and well-formed."""

from __future__ import annotations

import pytest

from surveys import (
    BANDS,
    SUPPORTED_LANGUAGES,
    QuestionKind,
    Survey,
    Texts,
    builtin_surveys,
    current_prompt,
    start,
)

TEMPLATES = builtin_surveys()
POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
ROMANIAN_CEDILLA = set("şţŞŢ")  # the look-alikes of ș and ț that Romanian should not use


def every_text(survey: Survey) -> list[Texts]:
    texts = [survey.name, survey.thanks, *survey.thanks_by_band.values()]
    for question in survey.questions:
        texts.append(question.text)
        texts.extend(question.labels.values())
        texts.extend(option.label for option in question.options)
    return texts


def test_the_three_templates_are_built_in() -> None:
    assert sorted(TEMPLATES) == ["ces", "csat", "nps"]


@pytest.mark.parametrize("survey_id", ["nps", "csat", "ces"])
def test_template_shape(survey_id: str) -> None:
    survey = TEMPLATES[survey_id]
    assert survey.id == survey_id
    assert survey.languages == ["en", "pl", "ro"]
    assert survey.default_language == "en"
    assert survey.expiry_hours == 72
    assert survey.kind is QuestionKind(survey_id)
    score, why = survey.questions
    assert (score.id, score.kind, score.skippable) == ("score", QuestionKind(survey_id), False)
    assert (why.id, why.kind, why.skippable) == ("why", QuestionKind.TEXT, True)
    assert set(survey.thanks_by_band) == set(BANDS[survey.kind])


@pytest.mark.parametrize("survey_id", ["nps", "csat", "ces"])
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_prompt_and_thanks_is_written_in_every_language(
    survey_id: str, language: str
) -> None:
    survey = TEMPLATES[survey_id]
    for texts in every_text(survey):
        assert texts[language].strip()
    asked = start(survey, language)
    assert asked.prompt.language == language
    assert asked.prompt.text == survey.questions[0].text[language]
    assert asked.prompt.hint  # both ends of every template scale are labelled
    for question in survey.questions:
        prompt = current_prompt(survey, asked.state.model_copy(update={"current": question.id}))
        assert prompt is not None and prompt.text.strip()
        assert all(choice.label for choice in prompt.choices)


def test_english_wording_of_the_score_questions() -> None:
    nps, csat, ces = TEMPLATES["nps"], TEMPLATES["csat"], TEMPLATES["ces"]
    assert (
        nps.questions[0].text["en"]
        == "How likely are you to recommend us to a friend or colleague?"
    )
    assert nps.questions[0].labels[0]["en"] == "Not at all likely"
    assert nps.questions[0].labels[10]["en"] == "Extremely likely"
    assert csat.questions[0].text["en"] == "How satisfied are you with the support you received?"
    assert sorted(csat.questions[0].labels) == [1, 2, 3, 4, 5]
    assert ces.questions[0].text["en"] == "How easy was it to get your issue resolved?"
    assert ces.questions[0].labels[1]["en"] == "Very difficult"
    assert ces.questions[0].labels[7]["en"] == "Very easy"


@pytest.mark.parametrize("survey_id", ["nps", "csat", "ces"])
def test_polish_is_written_with_polish_letters(survey_id: str) -> None:
    polish = " ".join(texts["pl"] for texts in every_text(TEMPLATES[survey_id]))
    assert POLISH_LETTERS & set(polish)


@pytest.mark.parametrize("survey_id", ["nps", "csat", "ces"])
def test_romanian_uses_comma_below_not_cedilla(survey_id: str) -> None:
    romanian = " ".join(texts["ro"] for texts in every_text(TEMPLATES[survey_id]))
    assert not ROMANIAN_CEDILLA & set(romanian)
    assert set("șț") & set(romanian)


def test_thanks_differ_by_band() -> None:
    for survey in TEMPLATES.values():
        for language in SUPPORTED_LANGUAGES:
            thanks = {texts[language] for texts in survey.thanks_by_band.values()}
            assert len(thanks) == len(survey.thanks_by_band)


def test_builtin_surveys_returns_a_fresh_dict_each_time() -> None:
    first = builtin_surveys()
    first.pop("nps")
    assert "nps" in builtin_surveys()
