"""Whether the next message a task sends already took its turn in the shared rate limits.

Delivery takes a turn (a moment in the bot's paced stream) before it sends an invitation or a
reminder, and marks the task; the channel's request middleware, which sees every call, takes
the mark off at the next message-sending call. A call without the mark is a reply to a customer
(an edited question, the "why?", the thanks), which the middleware counts in the stream
itself (bot/delivery/replies.py). A context variable, so that it is one task's alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A paced send tells when it really departed if it left later than this after its moment.
LATE_S = 0.001
# Awaited before a reply goes (a message-sending call that took no turn): delivery counts it
# in the bot's (or workspace's) paced stream (bot/delivery/replies.py).
ReplyTurn = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class PacedTurn:
    """The turn a send took: its moment (epoch seconds) and its slot in the bot's window."""

    at: float
    slot: str


_PACED: ContextVar[PacedTurn | None] = ContextVar("cxbot_paced", default=None)


def mark_paced(at: float, slot: str) -> None:
    """The current task's next message-sending call has its turn already."""
    _PACED.set(PacedTurn(at, slot))


def take_paced() -> PacedTurn | None:
    """The turn the current task's call took already, if any; the mark is used up."""
    paced = _PACED.get()
    if paced is not None:
        _PACED.set(None)
    return paced


async def before_message(replies: ReplyTurn | None) -> PacedTurn | None:
    """What a channel's client does before a message-sending call: the turn the call took
    (the mark used up); for a reply (no mark), None once ``replies`` let it go."""
    paced = take_paced()
    if paced is None and replies is not None:
        try:
            await replies()
        except Exception:  # the limits unreachable: the reply goes, unmetered
            log.exception("taking a reply's turn failed")
    return paced
