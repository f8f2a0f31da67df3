"""Whether the next message a task sends already took its turn in the shared rate limits.

Delivery takes a turn (a moment in the bot's paced stream) before it sends an invitation or a
reminder, and marks the task; the channel's request middleware, which sees every call, takes
the mark off at the next message-sending call. A call without the mark is a reply to a customer
(an edited question, the "why?", the thanks), which the middleware counts in the stream
itself (bot/delivery/replies.py). A context variable, so that it is one task's alone.

A paced call on its way is a Departure: the HTTP session tells it the moment the request's
first bytes are written to the socket (bot/telegram/session.py), which is when the platform's
clock can start to count it; everything before (building the request, a connection from the
pool, an event loop busy with other jobs) can make a send leave milliseconds after its moment
without anyone seeing it from the middleware.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A paced send tells when it really departed if it left later than this after its moment:
# always (a millisecond untold is a millisecond of the window's margin gone).
LATE_S = 0.0
# Awaited before a reply goes (a message-sending call that took no turn): delivery counts it
# in the bot's (or workspace's) paced stream (bot/delivery/replies.py), and returns its turn
# when it waited for a moment of its own (None: it went as it came, counted after).
ReplyTurn = Callable[[], Awaitable["PacedTurn | None"]]


@dataclass(frozen=True)
class PacedTurn:
    """The turn a send took: its moment (epoch seconds), its slot in the bot's window, and its
    chat's stream ("": none, a reply's), which a late departure holds back too.

    The moment came from the pacer's answer, which took a round trip: ``at`` is as late as it
    can be (the answer's arrival plus the wait it gave: the send never goes before its moment),
    ``earliest`` as early (the question's departure plus that wait, 0: ``at``), and how late a
    send left is counted from it, so that a send is never told as earlier than it went."""

    at: float
    slot: str
    chat: str = ""
    earliest: float = 0.0


_PACED: ContextVar[PacedTurn | None] = ContextVar("cxbot_paced", default=None)


def mark_paced(at: float, slot: str, chat: str = "", earliest: float = 0.0) -> None:
    """The current task's next message-sending call has its turn already."""
    _PACED.set(PacedTurn(at, slot, chat, earliest))


def take_paced() -> PacedTurn | None:
    """The turn the current task's call took already, if any; the mark is used up."""
    paced = _PACED.get()
    if paced is not None:
        _PACED.set(None)
    return paced


async def before_message(replies: ReplyTurn | None) -> PacedTurn | None:
    """What a channel's client does before a message-sending call: the turn the call took
    (the mark used up); for a reply (no mark), once ``replies`` let it go, the turn it waited
    for, or None."""
    paced = take_paced()
    if paced is None and replies is not None:
        try:
            paced = await replies()
        except Exception:  # the limits unreachable: the reply goes, unmetered
            log.exception("taking a reply's turn failed")
    return paced


# Told of a paced send that left late: (its turn, seconds after its moment).
LateListener = Callable[[PacedTurn, float], None]


@dataclass
class Departure:
    """A paced call on its way; ``late`` is told once, when its request is first written, if
    that is more than LATE_S after the turn's moment. Retries after a 429 are not told: they
    take turns of their own."""

    turn: PacedTurn
    late: LateListener
    written: bool = False


_DEPARTING: ContextVar[Departure | None] = ContextVar("cxbot_departing", default=None)


@contextlib.contextmanager
def departing(turn: PacedTurn, late: LateListener) -> Iterator[None]:
    """The current task's call (and the tasks it starts) is ``turn``'s send, until the end."""
    token = _DEPARTING.set(Departure(turn, late))
    try:
        yield
    finally:
        _DEPARTING.reset(token)


def is_departing() -> bool:
    """Whether the current task's call is a paced send whose departure is awaited."""
    departure = _DEPARTING.get()
    return departure is not None and not departure.written


def written() -> None:
    """The current call's request is being written now: tell its Departure, once."""
    departure = _DEPARTING.get()
    if departure is None or departure.written:
        return
    departure.written = True
    late = time.time() - (departure.turn.earliest or departure.turn.at)
    if late > LATE_S:
        departure.late(departure.turn, late)
