"""What a survey is: questions, scales, bands and translated texts, validated on load."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BANDS",
    "LANGUAGE_CODE",
    "SCALES",
    "SUPPORTED_LANGUAGES",
    "Band",
    "Condition",
    "DefinitionProblem",
    "Option",
    "Question",
    "QuestionKind",
    "Survey",
    "Texts",
    "band_of",
    "base_language",
]

# The languages cxbot's own messages (buttons, hints, errors) ship in. A survey may be written
# in any language; its file may give cxbot's messages in the others (surveys.messages).
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "pl", "ro")
# A language as surveys name it: an ISO 639 code, lower case ("de", "uk", "es", "fil").
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")

# Language code -> text. Every survey text is translated into each of its languages.
Texts: TypeAlias = dict[str, str]

# Question ids travel inside 64-byte Telegram callback data, hence the short limit.
QUESTION_ID = r"^[a-z][a-z0-9_]{0,15}$"
SURVEY_ID = r"^[a-z][a-z0-9_-]{0,31}$"
MAX_OPTIONS = 25  # more buttons than this is a wall nobody reads on a phone


class QuestionKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    CHOICE = "choice"
    TEXT = "text"

    @property
    def is_scale(self) -> bool:
        return self in SCALES


SCALES: dict[QuestionKind, tuple[int, int]] = {
    QuestionKind.NPS: (0, 10),
    QuestionKind.CSAT: (1, 5),
    QuestionKind.CES: (1, 7),
}


class Band(StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"
    EASY = "easy"
    DIFFICULT = "difficult"


# The bands of each scale, best first; each maps to the lowest score that reaches it.
_BAND_FLOORS: dict[QuestionKind, tuple[tuple[Band, int], ...]] = {
    QuestionKind.NPS: ((Band.PROMOTER, 9), (Band.PASSIVE, 7), (Band.DETRACTOR, 0)),
    QuestionKind.CSAT: ((Band.SATISFIED, 4), (Band.NEUTRAL, 3), (Band.DISSATISFIED, 1)),
    # CES here runs 1 = very difficult .. 7 = very easy, so higher is better as for the others.
    QuestionKind.CES: ((Band.EASY, 5), (Band.NEUTRAL, 4), (Band.DIFFICULT, 1)),
}

BANDS: dict[QuestionKind, tuple[Band, ...]] = {
    kind: tuple(band for band, _ in floors) for kind, floors in _BAND_FLOORS.items()
}


def band_of(kind: QuestionKind, score: int) -> Band:
    """The band a score falls into, e.g. 9 on NPS is a promoter."""
    if kind not in SCALES:
        raise ValueError(f"{kind.value} questions have no score bands")
    low, high = SCALES[kind]
    if not low <= score <= high:
        raise ValueError(f"{kind.value} score {score} is outside {low}..{high}")
    return next(band for band, floor in _BAND_FLOORS[kind] if score >= floor)


def base_language(tag: str) -> str:
    """The language part of a tag as clients send it: "pt-BR" and "pt_BR" -> "pt"."""
    return tag.replace("_", "-").split("-")[0].strip().lower()


class DefinitionProblem(ValueError):
    """A validation failure that knows where inside the validated model it lies.

    Pydantic locates errors raised by a model validator at the model itself; the
    loader appends `path` so the author is pointed at the exact field and line.
    """

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Option(_Frozen):
    """One answer of a choice question; the id is stored, the label shown."""

    id: str = Field(pattern=QUESTION_ID)
    label: Texts


class Condition(_Frozen):
    """Ask a question only when an earlier scale question scored in one of `bands`."""

    question: str
    bands: list[Band] = Field(min_length=1)


class Question(_Frozen):
    """One question; which fields apply depends on its kind."""

    id: str = Field(pattern=QUESTION_ID)
    kind: QuestionKind
    text: Texts
    # Captions for scale values: every value on CSAT, usually only the two ends otherwise.
    labels: dict[int, Texts] = Field(default_factory=dict)
    options: list[Option] = Field(default_factory=list)
    # None means the kind decides: comments may be skipped, scores and choices not.
    optional: bool | None = None
    when: Condition | None = None

    @property
    def skippable(self) -> bool:
        return self.kind is QuestionKind.TEXT if self.optional is None else self.optional

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    @model_validator(mode="after")
    def _fits_kind(self) -> Question:
        scale = self.scale
        if self.labels and scale is None:
            raise DefinitionProblem(f"{self.kind.value} questions take no labels", "labels")
        for value in self.labels:
            if scale is not None and not scale[0] <= value <= scale[1]:
                raise DefinitionProblem(
                    f"{value} is outside the {self.kind.value} scale {scale[0]}..{scale[1]}",
                    "labels",
                    value,
                )
        if self.kind is not QuestionKind.CHOICE:
            if self.options:
                raise DefinitionProblem(f"{self.kind.value} questions take no options", "options")
            return self
        if not 2 <= len(self.options) <= MAX_OPTIONS:
            raise DefinitionProblem(f"a choice needs 2 to {MAX_OPTIONS} options", "options")
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            if option.id in seen:
                raise DefinitionProblem(
                    f"duplicate option id {option.id!r}", "options", index, "id"
                )
            seen.add(option.id)
        return self


class Survey(_Frozen):
    """A whole survey, checked for consistency and complete translations as it loads."""

    id: str = Field(pattern=SURVEY_ID)
    name: Texts
    languages: list[str]
    default_language: str
    questions: list[Question] = Field(min_length=1)
    thanks: Texts
    thanks_by_band: dict[Band, Texts] = Field(default_factory=dict)
    expiry_hours: int = Field(default=72, ge=1, le=2160)
    # cxbot's own messages in languages it does not ship (surveys.messages.Message values):
    # {"skip_button": {"de": "Überspringen"}, ...}; what is not given is said in English.
    messages: dict[str, Texts] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Survey:
        self._check_languages()
        self._check_questions()
        for texts, path in self._all_texts():
            self._check_texts(texts, path)
        self._check_messages()
        return self

    def _check_messages(self) -> None:
        from surveys.messages import check_message  # the catalogue imports this module

        for key, texts in self.messages.items():
            for language, text in texts.items():
                if language in SUPPORTED_LANGUAGES:
                    raise DefinitionProblem(
                        f"cxbot has its own {language!r} messages; give messages only in "
                        "languages it does not ship",
                        "messages",
                        key,
                        language,
                    )
                if language not in self.languages:
                    raise DefinitionProblem(
                        f"{language!r} is not one of the survey's languages",
                        "messages",
                        key,
                        language,
                    )
                if problem := check_message(key, text):
                    raise DefinitionProblem(problem, "messages", key, language)

    def _check_languages(self) -> None:
        if not self.languages:
            raise DefinitionProblem("list at least one language", "languages")
        for index, language in enumerate(self.languages):
            if not LANGUAGE_CODE.fullmatch(language):
                raise DefinitionProblem(
                    f"{language!r} is not a language code; use a lower-case ISO 639 code "
                    "such as en, de, uk or es",
                    "languages",
                    index,
                )
            if language in self.languages[:index]:
                raise DefinitionProblem(f"{language!r} is listed twice", "languages", index)
        if self.default_language not in self.languages:
            raise DefinitionProblem(
                f"{self.default_language!r} is not one of the survey's languages",
                "default_language",
            )

    def _check_questions(self) -> None:
        earlier: dict[str, Question] = {}
        for index, question in enumerate(self.questions):
            if question.id in earlier:
                raise DefinitionProblem(
                    f"duplicate question id {question.id!r}", "questions", index, "id"
                )
            if question.when is not None:
                _check_condition(question.when, earlier, ("questions", index, "when"))
            earlier[question.id] = question
        kind = self.kind
        for band in self.thanks_by_band:
            if kind is None or band not in BANDS[kind]:
                fits = f"the {kind.value} scale" if kind else "a survey without a scale question"
                raise DefinitionProblem(
                    f"{band.value!r} does not fit {fits}", "thanks_by_band", band.value
                )

    def _all_texts(self) -> Iterator[tuple[Texts, tuple[str | int, ...]]]:
        yield self.name, ("name",)
        for index, question in enumerate(self.questions):
            at: tuple[str | int, ...] = ("questions", index)
            yield question.text, (*at, "text")
            for value, texts in question.labels.items():
                yield texts, (*at, "labels", value)
            for number, option in enumerate(question.options):
                yield option.label, (*at, "options", number, "label")
        yield self.thanks, ("thanks",)
        for band, texts in self.thanks_by_band.items():
            yield texts, ("thanks_by_band", band.value)

    def _check_texts(self, texts: Texts, path: tuple[str | int, ...]) -> None:
        for language in texts:
            # A typo such as "pll" would otherwise sit unnoticed forever.
            if language not in self.languages:
                raise DefinitionProblem(
                    f"{language!r} is not one of the survey's languages "
                    f"({', '.join(self.languages)})",
                    *path,
                    language,
                )
        for language in self.languages:
            if not texts.get(language, "").strip():
                raise DefinitionProblem(f"missing the {language!r} text", *path)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def text(self, texts: Texts, language: str) -> str:
        """`texts` in `language`, else in the survey's default language."""
        return texts.get(language) or texts.get(self.default_language) or ""

    def resolve_language(self, *candidates: str | None) -> str:
        """The first candidate the survey speaks ("pt-BR" counts as "pt"), else the default."""
        for candidate in candidates:
            if candidate and base_language(candidate) in self.languages:
                return base_language(candidate)
        return self.default_language

    @property
    def primary(self) -> Question | None:
        """The first scale question: its score is the one the survey reports and thanks by."""
        return next((question for question in self.questions if question.kind.is_scale), None)

    @property
    def kind(self) -> QuestionKind | None:
        primary = self.primary
        return primary.kind if primary else None


def _check_condition(
    when: Condition, earlier: dict[str, Question], at: tuple[str | int, ...]
) -> None:
    source = earlier.get(when.question)
    if source is None:
        raise DefinitionProblem(f"{when.question!r} is not an earlier question", *at, "question")
    if not source.kind.is_scale:
        raise DefinitionProblem(
            f"{when.question!r} is a {source.kind.value} question, not a scale", *at, "question"
        )
    for index, band in enumerate(when.bands):
        if band not in BANDS[source.kind]:
            raise DefinitionProblem(
                f"{band.value!r} is not one of the {source.kind.value} bands "
                f"({', '.join(BANDS[source.kind])})",
                *at,
                "bands",
                index,
            )
