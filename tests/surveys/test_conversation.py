"""Walking through surveys one reply at a time, as a customer would."""

from __future__ import annotations

import pytest

from surveys import (
    MAX_TEXT_LENGTH,
    Asked,
    ConversationState,
    Finished,
    QuestionKind,
    Recorded,
    Rejected,
    RejectReason,
    Reply,
    Skip,
    Step,
    Survey,
    Tap,
    Text,
    advance,
    builtin_surveys,
    current_prompt,
    start,
    with_language,
)
from tests.surveys.samples import onboarding

NPS, CSAT, CES = (builtin_surveys()[name] for name in ("nps", "csat", "ces"))
SORRY = (
    "Thank you for being honest. We're sorry we let you down, "
    "and we'll use your feedback to improve."
)


def walk(survey: Survey, *replies: Reply, language: str = "en") -> list[Step]:
    """Every step of a conversation, starting with the first question."""
    steps: list[Step] = [start(survey, language)]
    for reply in replies:
        steps.append(advance(survey, steps[-1].state, reply))
    return steps


def recorded(steps: list[Step]) -> list[Recorded]:
    return [
        step.recorded
        for step in steps
        if isinstance(step, Asked | Finished) and step.recorded is not None
    ]


def rejected(survey: Survey, state: ConversationState, reply: Reply) -> Rejected:
    step = advance(survey, state, reply)
    assert isinstance(step, Rejected)
    assert step.state == state
    return step


def test_start_asks_the_score_with_every_value_as_a_button() -> None:
    asked = start(NPS, "en")
    prompt = asked.prompt
    assert (prompt.question_id, prompt.kind, prompt.skippable) == ("score", QuestionKind.NPS, False)
    assert [choice.value for choice in prompt.choices] == [str(v) for v in range(11)]
    assert prompt.choices[0].caption == "Not at all likely"
    assert prompt.choices[5].caption is None
    assert prompt.hint == "0 = Not at all likely, 10 = Extremely likely"
    assert asked.recorded is None
    assert asked.state == ConversationState(survey_id="nps", language="en", current="score")


def test_start_resolves_the_language() -> None:
    assert start(NPS, "pl-PL").state.language == "pl"
    assert (
        start(NPS, "ro").prompt.text
        == "Cât de probabil este să ne recomanzi unui prieten sau coleg?"
    )
    assert start(NPS, "de").state.language == "en"


@pytest.mark.parametrize(
    ("score", "thanks"),
    [
        ("10", "Thank you! We're really glad you're happy with our support."),
        ("9", "Thank you! We're really glad you're happy with our support."),
        ("8", "Thank you! Your feedback helps us do even better."),
        ("7", "Thank you! Your feedback helps us do even better."),
        (
            "6",
            SORRY,
        ),
        (
            "0",
            SORRY,
        ),
    ],
)
def test_nps_walk_thanks_by_band(score: str, thanks: str) -> None:
    steps = walk(NPS, Tap("score", score), Text("  Quick and friendly.  "))
    asked, finished = steps[1], steps[2]
    assert isinstance(asked, Asked) and asked.prompt.question_id == "why"
    assert asked.prompt.skippable
    assert asked.prompt.hint == "Type your answer in a message, or tap Skip."
    assert isinstance(finished, Finished)
    assert finished.thanks == thanks
    assert finished.state.current is None
    assert finished.state.answers == {"score": int(score), "why": "Quick and friendly."}
    assert recorded(steps) == [
        Recorded("score", QuestionKind.NPS, int(score), None, None),
        Recorded("why", QuestionKind.TEXT, None, None, "Quick and friendly."),
    ]


def test_skipping_the_comment_records_only_the_score() -> None:
    steps = walk(NPS, Tap("score", "3"), Skip("why"))
    finished = steps[-1]
    assert isinstance(finished, Finished) and finished.recorded is None
    assert finished.state.answers == {"score": 3}
    assert finished.state.skipped == ["why"]
    assert recorded(steps) == [Recorded("score", QuestionKind.NPS, 3, None, None)]


def test_bare_skip_command_skips_the_current_question() -> None:
    finished = walk(CSAT, Tap("score", "5"), Skip())[-1]
    assert isinstance(finished, Finished)
    assert finished.thanks == "Thank you! We're glad we could help."


@pytest.mark.parametrize(
    ("score", "band_thanks"),
    [
        ("5", "Dziękujemy! Cieszymy się, że mogliśmy pomóc."),
        ("4", "Dziękujemy! Cieszymy się, że mogliśmy pomóc."),
        ("3", "Dziękujemy! Twoja opinia pomoże nam poprawić jakość obsługi."),
        ("1", "Dziękujemy, że nam o tym piszesz. Przykro nam, że nasza pomoc nie spełniła"),
    ],
)
def test_csat_walk_in_polish(score: str, band_thanks: str) -> None:
    steps = walk(CSAT, Tap("score", score), Text("Szybko i konkretnie"), language="pl")
    finished = steps[-1]
    assert isinstance(finished, Finished)
    assert finished.thanks.startswith(band_thanks)
    first = steps[0]
    assert isinstance(first, Asked)
    assert [choice.caption for choice in first.prompt.choices] == [
        "Bardzo źle",
        "Źle",
        "Przeciętnie",
        "Dobrze",
        "Bardzo dobrze",
    ]


@pytest.mark.parametrize(
    ("score", "band_thanks"),
    [
        ("7", "Îți mulțumim! Ne bucurăm că totul a mers ca pe roate."),
        ("5", "Îți mulțumim! Ne bucurăm că totul a mers ca pe roate."),
        ("4", "Îți mulțumim! Vom lucra în continuare ca totul să fie mai simplu."),
        ("3", "Îți mulțumim că ne-ai spus."),
        ("1", "Îți mulțumim că ne-ai spus."),
    ],
)
def test_ces_walk_in_romanian(score: str, band_thanks: str) -> None:
    finished = walk(CES, Tap("score", score), Skip("why"), language="ro")[-1]
    assert isinstance(finished, Finished)
    assert finished.thanks.startswith(band_thanks)


def test_typed_number_is_accepted_on_a_scale() -> None:
    step = walk(NPS, Text(" 8 "))[-1]
    assert isinstance(step, Asked)
    assert step.recorded == Recorded("score", QuestionKind.NPS, 8, None, None)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("great!", RejectReason.NOT_A_NUMBER),
        ("11", RejectReason.OUT_OF_RANGE),
        ("", RejectReason.NOT_A_NUMBER),
    ],
)
def test_text_on_a_scale_is_rejected_with_the_range(typed: str, reason: RejectReason) -> None:
    state = start(NPS, "en").state
    step = rejected(NPS, state, Text(typed))
    assert step.reason is reason
    assert step.message == "Please choose a number from 0 to 10 with the buttons above."
    assert step.prompt is not None and step.prompt.question_id == "score"


def test_rejections_speak_the_conversation_language() -> None:
    step = rejected(CES, start(CES, "pl").state, Text("hmm"))
    assert step.message == "Wybierz liczbę od 1 do 7 za pomocą przycisków powyżej."


def test_stale_tap_stores_nothing() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    step = rejected(NPS, state, Tap("score", "2"))
    assert step.reason is RejectReason.STALE
    assert step.message == "This question has already been answered."
    assert step.prompt is not None and step.prompt.question_id == "why"


def test_tap_on_a_text_question_is_stale() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    assert rejected(NPS, state, Tap("why", "9")).reason is RejectReason.STALE


def test_skip_button_of_another_question_is_stale() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    assert rejected(NPS, state, Skip("score")).reason is RejectReason.STALE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11", RejectReason.OUT_OF_RANGE),
        ("-1", RejectReason.OUT_OF_RANGE),
        ("9" * 5000, RejectReason.OUT_OF_RANGE),
        ("seven", RejectReason.NOT_A_NUMBER),
        ("7.5", RejectReason.NOT_A_NUMBER),
        ("\u0667", RejectReason.NOT_A_NUMBER),  # an Arabic-Indic seven
        ("", RejectReason.NOT_A_NUMBER),
    ],
)
def test_bad_tap_values_are_rejected(value: str, reason: RejectReason) -> None:
    step = rejected(NPS, start(NPS, "en").state, Tap("score", value))
    assert step.reason is reason


def test_score_cannot_be_skipped() -> None:
    step = rejected(NPS, start(NPS, "en").state, Skip("score"))
    assert step.reason is RejectReason.NOT_SKIPPABLE
    assert step.message == "This question needs an answer."


def test_empty_and_overlong_comments_are_rejected() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    empty = rejected(NPS, state, Text(" \n\x00 "))
    assert (empty.reason, empty.message) == (
        RejectReason.EMPTY_TEXT,
        "Please type a few words, or tap Skip.",
    )
    long = rejected(NPS, state, Text("x" * (MAX_TEXT_LENGTH + 1)))
    assert long.reason is RejectReason.TOO_LONG
    assert long.message == "That message is too long: please keep it under 4000 characters."
    fits = advance(NPS, state, Text("x" * MAX_TEXT_LENGTH))
    assert isinstance(fits, Finished)


def test_nul_characters_are_dropped_from_comments() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    step = advance(NPS, state, Text("fi\x00ne"))
    assert isinstance(step, Finished) and step.state.answers["why"] == "fine"


@pytest.mark.parametrize("reply", [Tap("why", "x"), Skip("why")])
def test_buttons_after_finish_are_stale(reply: Reply) -> None:
    state = walk(NPS, Tap("score", "9"), Skip())[-1].state
    step = rejected(NPS, state, reply)
    assert (step.reason, step.prompt) == (RejectReason.STALE, None)


@pytest.mark.parametrize("reply", [Text("hello?"), Skip()])
def test_messages_after_finish_say_the_survey_is_done(reply: Reply) -> None:
    state = walk(NPS, Tap("score", "9"), Skip(), language="ro")[-1].state
    step = rejected(NPS, state, reply)
    assert (step.reason, step.prompt) == (RejectReason.FINISHED, None)
    assert step.message == "Ai completat deja acest sondaj. Îți mulțumim!"
    assert current_prompt(NPS, state) is None


def test_state_of_another_survey_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="nps"):
        advance(CSAT, start(NPS, "en").state, Tap("score", "5"))


def test_state_round_trips_through_json() -> None:
    state = walk(NPS, Tap("score", "9"))[-1].state
    state = advance(NPS, state, Text("8")).state  # a comment that looks like a number
    restored = ConversationState.from_json(state.to_json())
    assert restored == state
    assert restored.answers == {"score": 9, "why": "8"}
    assert isinstance(restored.answers["score"], int) and isinstance(restored.answers["why"], str)


def test_with_language_switches_only_to_languages_the_survey_speaks() -> None:
    state = start(NPS, "en").state
    polish = with_language(NPS, state, "pl-PL")
    assert polish.language == "pl"
    assert with_language(NPS, polish, "de") == polish
    prompt = current_prompt(NPS, polish)
    assert prompt is not None and prompt.language == "pl"
    assert prompt.hint == "0 = Zdecydowanie nie polecę, 10 = Zdecydowanie polecę"


class TestConditionalQuestions:
    survey = onboarding()

    def test_low_rating_asks_the_required_fix_question(self) -> None:
        steps = walk(self.survey, Tap("rating", "2"), Tap("channel", "chat"))
        asked = steps[-1]
        assert isinstance(asked, Asked) and asked.prompt.question_id == "fix"
        assert not asked.prompt.skippable
        assert asked.prompt.hint == "Type your answer in a message."
        step = rejected(self.survey, asked.state, Skip())
        assert step.reason is RejectReason.NOT_SKIPPABLE
        empty = rejected(self.survey, asked.state, Text(" "))
        assert empty.message == "Please type a few words."

    def test_high_rating_skips_the_fix_question(self) -> None:
        asked = walk(self.survey, Tap("rating", "5"), Tap("channel", "chat"))[-1]
        assert isinstance(asked, Asked) and asked.prompt.question_id == "effort"

    def test_easy_effort_asks_for_praise(self) -> None:
        steps = walk(self.survey, Tap("rating", "4"), Tap("channel", "phone"), Tap("effort", "6"))
        asked = steps[-1]
        assert isinstance(asked, Asked) and asked.prompt.question_id == "praise"

    @pytest.mark.parametrize("effort", [Tap("effort", "4"), Skip("effort")])
    def test_no_praise_question_unless_effort_was_easy(self, effort: Reply) -> None:
        finished = walk(self.survey, Tap("rating", "4"), Tap("channel", "phone"), effort)[-1]
        assert isinstance(finished, Finished)
        assert finished.thanks == "Thanks!"  # no text for "satisfied": the plain thanks

    def test_dissatisfied_thanks(self) -> None:
        steps = walk(
            self.survey,
            Tap("rating", "1"),
            Text("e-mail"),
            Text("Docs"),
            Skip(),
        )
        finished = steps[-1]
        assert isinstance(finished, Finished)
        assert finished.thanks == "Sorry about that."
        assert finished.state.answers == {"rating": 1, "channel": "email", "fix": "Docs"}

    def test_choice_buttons_and_typed_labels(self) -> None:
        asked = walk(self.survey, Tap("rating", "5"))[-1]
        assert isinstance(asked, Asked)
        assert [(c.value, c.label) for c in asked.prompt.choices] == [
            ("chat", "Chat"),
            ("phone", "Phone"),
            ("email", "E-mail"),
        ]
        state = asked.state
        for typed in ("phone", " PHONE ", "Telefon"):
            step = advance(self.survey, state, Text(typed))
            assert isinstance(step, Asked) and step.recorded is not None
            assert step.recorded.choice == "phone"
        assert rejected(self.survey, state, Tap("channel", "Phone")).reason is (
            RejectReason.UNKNOWN_OPTION
        )
        unknown = rejected(self.survey, state, Text("pigeon"))
        assert unknown.reason is RejectReason.UNKNOWN_OPTION
        assert unknown.message == "Please choose one of the options with the buttons above."
