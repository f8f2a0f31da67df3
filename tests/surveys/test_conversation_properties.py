"""Property tests: no sequence of replies can break the engine or record nonsense."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from surveys import (
    MAX_TEXT_LENGTH,
    SCALES,
    Asked,
    ConversationState,
    Finished,
    Prompt,
    QuestionKind,
    Rejected,
    Reply,
    Skip,
    Survey,
    Tap,
    Text,
    advance,
    current_prompt,
    start,
)
from tests.surveys.samples import all_surveys

SURVEYS = all_surveys()
GARBAGE = [
    "",
    " ",
    "x",
    "1e3",
    "7.0",
    "+5",
    " 7 ",
    "٣",
    "-0",
    "9" * 30,
    "x" * (MAX_TEXT_LENGTH + 1),
]


def replies(survey: Survey) -> st.SearchStrategy[Reply]:
    question_ids = [question.id for question in survey.questions] + ["nope", ""]
    values = [str(value) for value in range(-2, 13)] + GARBAGE
    for question in survey.questions:
        values += [option.id for option in question.options]
        values += [label for option in question.options for label in option.label.values()]
    value = st.one_of(st.sampled_from(values), st.text(max_size=20))
    return st.one_of(
        st.builds(Tap, st.sampled_from(question_ids), value),
        st.builds(Text, value),
        st.builds(Skip, st.one_of(st.none(), st.sampled_from(question_ids))),
    )


@st.composite
def conversations(draw: st.DrawFn) -> tuple[Survey, str, list[Reply]]:
    survey = draw(st.sampled_from(SURVEYS))
    language = draw(st.sampled_from(["en", "pl", "ro", "de", "pl-PL", ""]))
    return survey, language, draw(st.lists(replies(survey), max_size=30))


def sensible_reply(prompt: Prompt) -> Reply:
    """What a cooperative customer would send: the first button, or a short comment."""
    if prompt.choices:
        return Tap(prompt.question_id, prompt.choices[0].value)
    return Text("ok")


@given(conversations())
def test_random_replies_never_break_the_engine(
    conversation: tuple[Survey, str, list[Reply]],
) -> None:
    survey, language, sequence = conversation
    step: Asked | Finished | Rejected = start(survey, language)
    state = step.state
    answered: list[str] = []
    for reply in sequence:
        step = advance(survey, state, reply)
        if isinstance(step, Rejected):
            assert step.state == state
            assert step.message
            assert step.prompt == current_prompt(survey, state)
        else:
            if step.recorded is not None:
                recorded = step.recorded
                question = survey.question(recorded.question_id)
                assert recorded.kind is question.kind
                if recorded.kind in SCALES:
                    low, high = SCALES[recorded.kind]
                    assert recorded.score is not None and low <= recorded.score <= high
                elif recorded.kind is QuestionKind.CHOICE:
                    assert recorded.choice in {option.id for option in question.options}
                else:
                    assert recorded.text and len(recorded.text) <= MAX_TEXT_LENGTH
                answered.append(recorded.question_id)
            if isinstance(step, Finished):
                assert step.thanks and step.state.current is None
        state = step.state
        assert ConversationState.from_json(state.to_json()) == state
    assert len(answered) == len(set(answered))
    assert set(answered).isdisjoint(state.skipped)
    assert set(state.answers) == set(answered)


@given(conversations())
def test_every_conversation_ends_within_one_answer_per_question(
    conversation: tuple[Survey, str, list[Reply]],
) -> None:
    survey, language, sequence = conversation
    state = start(survey, language).state
    accepted = 0
    for reply in sequence:
        step = advance(survey, state, reply)
        accepted += not isinstance(step, Rejected)
        state = step.state
    # Then a cooperative customer finishes it, never needing more than the rest.
    for _ in range(len(survey.questions)):
        prompt = current_prompt(survey, state)
        if prompt is None:
            break
        step = advance(survey, state, sensible_reply(prompt))
        assert not isinstance(step, Rejected)
        accepted += 1
        state = step.state
    assert state.current is None
    assert accepted <= len(survey.questions)
