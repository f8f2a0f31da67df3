"""What a customer's reply means for a question: an answer to record, or a refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from surveys.definitions import Option, Question, QuestionKind
from surveys.messages import Message

__all__ = [
    "MAX_TEXT_LENGTH",
    "Recorded",
    "Refusal",
    "RejectReason",
    "Reply",
    "Skip",
    "Tap",
    "Text",
    "read_reply",
]

# Room for any real comment, and under Telegram's 4096-character cap so it can be echoed back.
MAX_TEXT_LENGTH = 4000

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


@dataclass(frozen=True)
class Tap:
    """A button press; `question_id` says which question the button belonged to."""

    question_id: str
    value: str


@dataclass(frozen=True)
class Text:
    """A typed message."""

    text: str


@dataclass(frozen=True)
class Skip:
    """A skip button (naming its question) or a skip command (question_id None)."""

    question_id: str | None = None


Reply: TypeAlias = Tap | Text | Skip


@dataclass(frozen=True)
class Recorded:
    """An accepted answer to persist; exactly one of score, choice and text is set."""

    question_id: str
    kind: QuestionKind
    score: int | None
    choice: str | None
    text: str | None


class RejectReason(StrEnum):
    STALE = "stale"
    OUT_OF_RANGE = "out_of_range"
    NOT_A_NUMBER = "not_a_number"
    UNKNOWN_OPTION = "unknown_option"
    EMPTY_TEXT = "empty_text"
    TOO_LONG = "too_long"
    NOT_SKIPPABLE = "not_skippable"
    FINISHED = "finished"


@dataclass(frozen=True)
class Refusal:
    """Why a reply was not accepted, with the message key and its values."""

    reason: RejectReason
    key: Message
    values: dict[str, object] = field(default_factory=dict)


def read_reply(question: Question, raw: str, *, typed: bool) -> Recorded | Refusal:
    """What a tapped (`typed` False) or typed value means as an answer to `question`."""
    scale = question.scale
    if scale is not None:
        low, high = scale
        value = _parse_int(raw)
        if value is None or not low <= value <= high:
            reason = RejectReason.NOT_A_NUMBER if value is None else RejectReason.OUT_OF_RANGE
            return Refusal(reason, Message.REJECT_TAP_SCALE, {"low": low, "high": high})
        return Recorded(question.id, question.kind, score=value, choice=None, text=None)
    if question.kind is QuestionKind.CHOICE:
        for option in question.options:
            if raw == option.id or (typed and _names(raw, option)):
                return Recorded(question.id, question.kind, score=None, choice=option.id, text=None)
        return Refusal(RejectReason.UNKNOWN_OPTION, Message.REJECT_UNKNOWN_OPTION)
    # PostgreSQL text columns refuse NUL characters, and nobody means to type one.
    cleaned = raw.replace("\x00", "").strip()
    if not cleaned:
        key = Message.REJECT_EMPTY if question.skippable else Message.REJECT_EMPTY_REQUIRED
        return Refusal(RejectReason.EMPTY_TEXT, key)
    if len(cleaned) > MAX_TEXT_LENGTH:
        return Refusal(RejectReason.TOO_LONG, Message.REJECT_TOO_LONG, {"limit": MAX_TEXT_LENGTH})
    return Recorded(question.id, question.kind, score=None, choice=None, text=cleaned)


def _names(raw: str, option: Option) -> bool:
    # Buttons send the exact id; people type a label, in whichever language they think in.
    wanted = raw.strip().casefold()
    return any(name.strip().casefold() == wanted for name in (option.id, *option.label.values()))


def _parse_int(raw: str) -> int | None:
    """An integer typed or sent by a button, or None when `raw` is not one."""
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw):
        return None
    # Python refuses int() on very long digit strings; anything past six digits is out of
    # every scale, so clamp it to a value that is out of range but still a number.
    if len(raw.lstrip("+-").lstrip("0")) > 6:
        return -1_000_000 if raw.startswith("-") else 1_000_000
    return int(raw)
