"""What a survey reply yields: the notice shown, the answer told to listeners, and the hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from surveys.definitions import LANGUAGE_CODE, base_language


@dataclass(frozen=True)
class Outcome:
    """What the channel shows the person who replied, beyond what the runner already sent.

    ``notice`` is a short text for them (a callback answer in Telegram, an ephemeral message in
    Slack); ``handled`` is False when nothing was waiting for their message.
    """

    notice: str | None = None
    handled: bool = True


@dataclass(frozen=True)
class AnswerGiven:
    """Told to every answer listener once an answer is safely in SQL (alerts use it)."""

    invitation_id: int
    channel: str
    respondent: str
    survey_id: str
    language: str
    question_id: str
    kind: str
    score: int | None
    choice: str | None
    text: str | None
    finished: bool
    at: datetime = field(compare=False)


AnswerListener = Callable[[AnswerGiven], Awaitable[None]]
# Awaited with (channel, address) right before a send is claimed: delivery waits there for a
# turn of the shared rate limits, and it returns the moment (epoch seconds, a few ms ahead at
# most) the platform call is to be made, after the claim. It may raise to put the send off.
Turn = Callable[[str, str], Awaitable[float]]
# Tells the channel a reply was accepted (Telegram: answer the callback query, no text).
Acknowledge = Callable[[], Awaitable[None]]


def supported_language(hint: str | None) -> str | None:
    """The language of a client's code (``pl``, ``pt-BR`` -> ``pt``), None if it is none.

    Any language: a survey speaks it or not (it decides), and cxbot's own messages fall back
    to English where neither cxbot nor a survey file gives them.
    """
    base = base_language(hint or "")
    return base if LANGUAGE_CODE.fullmatch(base) else None


def notice_language(hint: str | None) -> str:
    """The language of a short notice to someone we may know nothing about but their client."""
    return supported_language(hint) or "en"
