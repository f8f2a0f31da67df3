"""The survey state machine: from a saved state and a customer's reply to the next step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from surveys.definitions import (
    Band,
    Condition,
    Question,
    QuestionKind,
    Survey,
    band_of,
    base_language,
)
from surveys.messages import Message, message
from surveys.prompts import Choice, Prompt, prompt_for
from surveys.replies import (
    MAX_TEXT_LENGTH,
    Recorded,
    Refusal,
    RejectReason,
    Reply,
    Skip,
    Tap,
    Text,
    read_reply,
)

__all__ = [
    "MAX_TEXT_LENGTH",
    "Asked",
    "Choice",
    "ConversationState",
    "Finished",
    "Prompt",
    "Recorded",
    "RejectReason",
    "Rejected",
    "Reply",
    "Skip",
    "Step",
    "Tap",
    "Text",
    "advance",
    "current_prompt",
    "start",
    "with_language",
]


class ConversationState(BaseModel):
    """Everything the engine needs between two replies; the bot stores it as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    survey_id: str
    language: str
    current: str | None  # the question awaiting an answer; None once finished
    answers: dict[str, int | str] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str) -> ConversationState:
        return cls.model_validate_json(raw)


@dataclass(frozen=True)
class Asked:
    state: ConversationState
    prompt: Prompt
    recorded: Recorded | None


@dataclass(frozen=True)
class Finished:
    state: ConversationState
    thanks: str
    recorded: Recorded | None


@dataclass(frozen=True)
class Rejected:
    """A reply the engine did not accept: the state is unchanged, `message` says why."""

    state: ConversationState
    reason: RejectReason
    message: str
    prompt: Prompt | None  # the question to ask again; None once finished


Step: TypeAlias = Asked | Finished | Rejected


def start(survey: Survey, language: str) -> Asked:
    """Open a conversation in the best language the survey speaks."""
    resolved = survey.resolve_language(language)
    # Validation guarantees a first question, and it cannot be conditional: a `when`
    # may only look back at an earlier question.
    first = survey.questions[0]
    state = ConversationState(survey_id=survey.id, language=resolved, current=first.id)
    return Asked(state=state, prompt=prompt_for(survey, first.id, resolved), recorded=None)


def advance(survey: Survey, state: ConversationState, reply: Reply) -> Step:
    """Apply one reply. A bad reply is a Rejected step, never an exception.

    Raises ValueError if `state` belongs to another survey and KeyError if its current
    question is no longer in the survey: both mean the caller paired the wrong objects.
    """
    if state.survey_id != survey.id:
        raise ValueError(f"state of survey {state.survey_id!r} used with {survey.id!r}")
    if state.current is None:
        return _after_finish(state, reply)
    question = survey.question(state.current)
    prompt = prompt_for(survey, question.id, state.language)
    outcome: Recorded | Refusal | None
    if isinstance(reply, Skip):
        if reply.question_id is not None and reply.question_id != question.id:
            outcome = Refusal(RejectReason.STALE, Message.STALE)
        elif not question.skippable:
            outcome = Refusal(RejectReason.NOT_SKIPPABLE, Message.REJECT_NOT_SKIPPABLE)
        else:
            outcome = None
    elif isinstance(reply, Tap):
        # Text questions have no buttons, so a tap aimed at one is a leftover.
        if reply.question_id != question.id or question.kind is QuestionKind.TEXT:
            outcome = Refusal(RejectReason.STALE, Message.STALE)
        else:
            outcome = read_reply(question, reply.value, typed=False)
    else:
        outcome = read_reply(question, reply.text, typed=True)
    if isinstance(outcome, Refusal):
        text = message(outcome.key, state.language, **outcome.values)
        return Rejected(state=state, reason=outcome.reason, message=text, prompt=prompt)
    return _move_on(survey, state, question, outcome)


def with_language(survey: Survey, state: ConversationState, language: str) -> ConversationState:
    """Switch to `language` when the survey speaks it; otherwise keep the state as it is."""
    wanted = base_language(language)
    if wanted not in survey.languages or wanted == state.language:
        return state
    return state.model_copy(update={"language": wanted})


def current_prompt(survey: Survey, state: ConversationState) -> Prompt | None:
    """The question awaiting an answer, e.g. to ask it again; None once finished."""
    if state.current is None:
        return None
    return prompt_for(survey, state.current, state.language)


def _after_finish(state: ConversationState, reply: Reply) -> Rejected:
    # A button (or a skip button) names its question: it is simply an old button.
    # Free text after the end is the customer talking to a finished survey.
    if isinstance(reply, Tap) or (isinstance(reply, Skip) and reply.question_id is not None):
        reason, key = RejectReason.STALE, Message.STALE
    else:
        reason, key = RejectReason.FINISHED, Message.ALREADY_DONE
    return Rejected(state=state, reason=reason, message=message(key, state.language), prompt=None)


def _move_on(
    survey: Survey, state: ConversationState, question: Question, recorded: Recorded | None
) -> Asked | Finished:
    answers = dict(state.answers)
    skipped = list(state.skipped)
    if recorded is None:
        skipped.append(question.id)
    else:
        answers[question.id] = _stored(recorded)
    following = _next_question(survey, answers, after=question.id)
    moved = ConversationState(
        survey_id=state.survey_id,
        language=state.language,
        current=following.id if following else None,
        answers=answers,
        skipped=skipped,
    )
    if following is None:
        thanks = _thanks(survey, answers, state.language)
        return Finished(state=moved, thanks=thanks, recorded=recorded)
    prompt = prompt_for(survey, following.id, state.language)
    return Asked(state=moved, prompt=prompt, recorded=recorded)


def _stored(recorded: Recorded) -> int | str:
    if recorded.score is not None:
        return recorded.score
    return recorded.choice if recorded.choice is not None else recorded.text or ""


def _next_question(survey: Survey, answers: dict[str, int | str], after: str) -> Question | None:
    ids = [question.id for question in survey.questions]
    for question in survey.questions[ids.index(after) + 1 :]:
        if question.when is None or _holds(survey, question.when, answers):
            return question
    return None


def _holds(survey: Survey, when: Condition, answers: dict[str, int | str]) -> bool:
    # A skipped or unanswered source question means the condition does not hold.
    return _band(survey, when.question, answers) in when.bands


def _band(survey: Survey, question_id: str, answers: dict[str, int | str]) -> Band | None:
    source = survey.question(question_id)
    score = answers.get(question_id)
    if source.scale is None or not isinstance(score, int):
        return None
    low, high = source.scale
    # Scores come from a stored state; one outside the scale gets no band rather than a crash.
    if not low <= score <= high:
        return None
    return band_of(source.kind, score)


def _thanks(survey: Survey, answers: dict[str, int | str], language: str) -> str:
    texts = survey.thanks
    primary = survey.primary
    if primary is not None:
        band = _band(survey, primary.id, answers)
        if band is not None:
            texts = survey.thanks_by_band.get(band, survey.thanks)
    return survey.text(texts, language)
