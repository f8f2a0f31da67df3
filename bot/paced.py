"""Whether the next message a task sends already took its turn in the shared rate limits.

Delivery takes a turn (a moment in the bot's paced stream) before it sends an invitation or a
reminder, and marks the task; the channel's request middleware, which sees every call, takes
the mark off at the next message-sending call. A call without the mark is a reply to a customer
(an edited question, the "why?", the thanks), which the middleware counts in the stream
itself (bot/delivery/replies.py). A context variable, so that it is one task's alone.
"""

from __future__ import annotations

from contextvars import ContextVar

_PACED: ContextVar[bool] = ContextVar("cxbot_paced", default=False)


def mark_paced() -> None:
    """The current task's next message-sending call has its turn already."""
    _PACED.set(True)


def take_paced() -> bool:
    """Whether the current task's call has its turn already; the mark is used up."""
    if not _PACED.get():
        return False
    _PACED.set(False)
    return True
