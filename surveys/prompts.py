"""Channel-neutral descriptions of a question, built from a survey in one language."""

from __future__ import annotations

from dataclasses import dataclass

from surveys.definitions import QuestionKind, Survey
from surveys.messages import Message, message

__all__ = ["Choice", "Prompt", "prompt_for"]


@dataclass(frozen=True)
class Choice:
    """One button: `value` comes back in the reply, `label` is shown on the button."""

    value: str
    label: str
    # The scale caption for this value ("Very satisfied"), when the survey gives one.
    caption: str | None


@dataclass(frozen=True)
class Prompt:
    """A question as a channel renders it; channels never look at the survey itself."""

    question_id: str
    kind: QuestionKind
    text: str
    choices: tuple[Choice, ...]
    skippable: bool
    language: str
    hint: str | None

    def choice(self, value: str) -> Choice | None:
        """The button that sends `value`, if the prompt has one."""
        return next((choice for choice in self.choices if choice.value == value), None)


def prompt_for(survey: Survey, question_id: str, language: str) -> Prompt:
    """The prompt for one question of `survey`; KeyError when the survey has no such question.

    Built once per question and language of a survey object (a loaded survey does not
    change, a Prompt is frozen) and kept for the last `_SURVEYS_KEPT` surveys asked about.
    """
    held = _built.get(id(survey))
    if held is None or held[0] is not survey:
        if len(_built) >= _SURVEYS_KEPT:
            del _built[next(iter(_built))]  # the survey asked about first
        held = _built[id(survey)] = (survey, {})
    prompts = held[1]
    found = prompts.get((question_id, language))
    if found is None:
        found = prompts[(question_id, language)] = _build(survey, question_id, language)
    return found


# Every answer asks for the prompt it answered and the one it moves to: building them (the
# choices' captions, the hint's message) was most of the state machine's time. Held by the
# survey object's id, with the survey itself so that the id cannot be reused meanwhile;
# a catalogue reload brings new objects, and the old ones leave after _SURVEYS_KEPT more.
_SURVEYS_KEPT = 64
_built: dict[int, tuple[Survey, dict[tuple[str, str], Prompt]]] = {}


def _build(survey: Survey, question_id: str, language: str) -> Prompt:
    question = survey.question(question_id)
    choices: tuple[Choice, ...] = ()
    hint: str | None = None
    scale = question.scale
    if scale is not None:
        low, high = scale
        choices = tuple(
            Choice(
                value=str(value),
                label=str(value),
                caption=survey.text(question.labels[value], language)
                if value in question.labels
                else None,
            )
            for value in range(low, high + 1)
        )
        if low in question.labels and high in question.labels:
            hint = message(
                Message.SCALE_HINT,
                language,
                low=low,
                high=high,
                low_label=survey.text(question.labels[low], language),
                high_label=survey.text(question.labels[high], language),
            )
    elif question.kind is QuestionKind.CHOICE:
        choices = tuple(
            Choice(value=option.id, label=survey.text(option.label, language), caption=None)
            for option in question.options
        )
    else:
        hint = message(Message.COMMENT_HINT if question.skippable else Message.TEXT_HINT, language)
    return Prompt(
        question_id=question.id,
        kind=question.kind,
        text=survey.text(question.text, language),
        choices=choices,
        skippable=question.skippable,
        language=language,
        hint=hint,
    )
