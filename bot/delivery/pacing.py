"""Even spacing of sends, shared by every process: one stream per bot (or workspace) and one
per chat (or DM).

A moving window (the `limits` library's, which cxbot used before) caps how many messages go
out per second, but lets them go as a burst at the start of each window. The platform counts
a message when it arrives, and arrivals jitter by milliseconds, so a burst taken at the very
edge of our window lands inside the platform's: a 429, and a whole retry_after lost for
everyone. The pacer gives each send a moment of its own in a steady stream instead, a little
slower than the rate, never a burst.
A moment is handed out only shortly ahead, so that a sender holds one for a few milliseconds
(claimed in SQL and ready to go), not for as long as the stream is booked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

# How much wider than the rate needs the gap between two sends of a stream without a window
# (a chat's) is: 2%, 1.02 s at one a second, which leaves 20 ms for the arrivals to jitter.
HEADROOM = 1.02
# A moment is reserved at most this far ahead; a caller further back is told when to come back.
AHEAD_S = 0.05

# A stream with a window (the bot's: `count` sends a `window`) is spaced exactly at its rate
# (33.3 ms at 30/second), and keeps the moments of its last `count` sends: a send goes no
# sooner than WINDOW_MARGIN_S after a window has passed since the `count`-th last one
# departed. A send that left late (a slow claim in SQL, a busy event loop) reports when it
# really went (depart): when its request was written to the socket (bot/telegram/session.py),
# so that the one `count` later keeps its distance from the actual departure, not from the
# moment handed out: a late send makes its successors wait, instead of landing among them in
# the platform's window (a 429). The margin is the headroom left for the way from the socket
# to the platform's clock to jitter, and how far a backlog falls behind what the limit allows:
# 2 ms a window, 0.7 s at 10,000 due at once. (It was 5 ms while departures were stamped in
# the middleware, before aiogram and aiohttp built and wrote the request, and 2% of the gap,
# 6.7 s at 10,000, before there was a window.)
WINDOW_MARGIN_S = 0.002
# ... at least. A 429 says arrivals jitter more than the margin allows (a loaded machine, a
# slow network): each one widens it (twice as wide, plus the least), up to MARGIN_MAX_S, and
# each send after narrows it by MARGIN_DECAY, back to the least in about 350 sends (12 s at
# 30/second) without a 429. A 429 costs the whole bot its retry_after (a second); a wider
# margin costs it a few milliseconds a second while it lasts.
MARGIN_MAX_S = 0.1
MARGIN_DECAY = 0.998

# KEYS: the streams' next free moments (ms, Redis' own clock), then the first stream's "paced"
# key (the last moment handed out in it by this script, for replies to see that invitations
# are going out) and its window's sorted set (slot -> departure, ms). ARGV[1]: how far ahead
# a moment may be reserved (ms), ARGV[1 + i]: the gap of stream i (ms); then the first
# stream's window (ms), count (0: no window) and margin (ms). The moment is the latest of the
# streams' next free ones and the window's; it is reserved in all of them, or, when it is
# further ahead, in none. The window's margin is the least one or, after 429s, the widened one
# (KEYS: last), which each reservation narrows by the decay (ARGV: last).
# Returns {reserved 1 or 0, ms to the moment, index of the stream that set it (0: none), the
# moment itself (ms, Redis' clock; also the send's slot in the window)}.
_RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local streams = #KEYS - 3
local sent, widened = KEYS[streams + 2], KEYS[streams + 3]
local window, count = tonumber(ARGV[streams + 2]), tonumber(ARGV[streams + 3])
local least = tonumber(ARGV[streams + 4])
local margin = math.max(tonumber(redis.call('GET', widened) or '0'), least)
local at, busiest = now, 0
for i = 1, streams do
    local free = tonumber(redis.call('GET', KEYS[i]) or '0')
    if free > at then
        at, busiest = free, i
    end
end
if count > 0 then
    local oldest = redis.call('ZREVRANGE', sent, count - 1, count - 1, 'WITHSCORES')
    if oldest[2] then
        local free = tonumber(oldest[2]) + window + margin
        if free > at then
            at, busiest = free, 1
        end
    end
end
if at - now > tonumber(ARGV[1]) then
    return {0, tostring(at - now), busiest, tostring(at)}
end
for i = 1, streams do
    local following = at + tonumber(ARGV[i + 1])
    redis.call('SET', KEYS[i], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
redis.call('SET', KEYS[streams + 1], tostring(at), 'PX', math.ceil(at - now) + 10000)
if count > 0 then
    redis.call('ZADD', sent, at, tostring(at))
    redis.call('ZREMRANGEBYRANK', sent, 0, -(count + 1))
    redis.call('PEXPIRE', sent, math.ceil(at - now + window) + 10000)
    if margin > least then
        redis.call('SET', widened, tostring(margin * tonumber(ARGV[streams + 5])), 'PX', 600000)
    end
end
return {1, tostring(at - now), busiest, tostring(at)}
"""

# KEYS[1]: a stream's widened margin (ms); ARGV: the least one, the most. Twice, plus the least.
_WIDEN_SCRIPT = """
local least = tonumber(ARGV[1])
local margin = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), least)
margin = math.min(margin * 2 + least, tonumber(ARGV[2]))
redis.call('SET', KEYS[1], tostring(margin), 'PX', 600000)
return tostring(margin)
"""

# KEYS: streams' next free moments; ARGV: for each, a moment (ms, Redis' clock) it must not
# come before (a send to it left late). Only ever later.
_HOLD_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
for i = 1, #KEYS do
    local held = tonumber(ARGV[i])
    if held > tonumber(redis.call('GET', KEYS[i]) or '0') and held > now then
        redis.call('SET', KEYS[i], tostring(held), 'PX', math.ceil(held - now) + 1000)
    end
end
return 0
"""

# Replies counted in a stream (see bot/delivery/replies.py). KEYS[1]: the stream's next free
# moment, KEYS[2]: its "paced" key, KEYS[3]: its window, KEYS[4]: the window's widened margin;
# ARGV: the gap (ms), replies that wait for a moment, replies that went already, how far ahead
# those may push the stream at most (ms), the window (ms), count (0: none) and least margin
# (ms). The waiting ones take the next free moments, one gap apart and each a window and the
# margin after the `count`-th departure before it, as a reserved send's (_RESERVE_SCRIPT),
# ahead of any invitation not yet handed one; the ones gone are counted after them (a burst of
# replies above the rate pushes the invitations back by at most the cap: the rest is the
# platform's to refuse). All of them take their places in the window.
# Returns {ms to the first waiting reply's moment, ms since the last paced moment (negative:
# one is booked ahead; a huge number: none known), then each waiting reply's moment (ms,
# Redis' clock), which is also its slot in the window (to tell when it really departed)}.
_ACCOUNT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local gap, waiting, gone = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local margin = math.max(tonumber(redis.call('GET', KEYS[4]) or '0'), tonumber(ARGV[7]))
local at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local first = at
local slots = {}
for i = 1, waiting do
    if count > 0 then
        local oldest = redis.call('ZREVRANGE', KEYS[3], count - 1, count - 1, 'WITHSCORES')
        if oldest[2] then
            at = math.max(at, tonumber(oldest[2]) + window + margin)
        end
        slots[i] = tostring(at)
        redis.call('ZADD', KEYS[3], at, slots[i])
        redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(count + 1))
    else
        slots[i] = tostring(at)
    end
    if i == 1 then
        first = at
    end
    at = at + gap
end
local following = math.max(at, math.min(at + gone * gap, now + tonumber(ARGV[4])))
if following > now then
    redis.call('SET', KEYS[1], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
if count > 0 then
    for i = 1, math.min(gone, count) do
        redis.call('ZADD', KEYS[3], now, 'gone:' .. tostring(now) .. ':' .. i)
    end
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(count + 1))
    redis.call('PEXPIRE', KEYS[3], math.ceil(following - now + window) + 10000)
end
local paced = redis.call('GET', KEYS[2])
local since = paced and (now - tonumber(paced)) or 1e12
return {tostring(first - now), tostring(since), unpack(slots)}
"""
# How far ahead replies already gone may push a stream at most (see _ACCOUNT_SCRIPT).
REPLIES_CAP_S = 1.0


def gap_for(per_second: float, *, windowed: bool = False) -> float:
    """Seconds between two sends of a stream limited to ``per_second``: with the headroom, or
    exact for a stream with a window (its margin is its headroom)."""
    return (1.0 if windowed else HEADROOM) / per_second


@dataclass(frozen=True)
class Stream:
    """A sequence of sends to keep ``gap`` seconds apart: a bot's, a chat's. With a
    ``count``, also never more than that many within ``window`` seconds of departures (the
    bot's)."""

    name: str
    gap: float
    window: float = 0.0
    count: int = 0


@dataclass(frozen=True)
class Moment:
    """When a send may go: ``wait`` seconds from now, reserved; or, not ``reserved``, when to
    come back. ``busiest`` is the stream that decided the wait (None: no wait). ``at`` is the
    moment on the pacer's own clock (seconds; Redis' or this process's monotonic one): exact
    where ``wait`` is blurred by the time its answer took to arrive."""

    reserved: bool
    wait: float
    busiest: Stream | None = None
    at: float = 0.0
    # The send's place in its first stream's window, to tell when it really departed.
    slot: str = ""


@dataclass(frozen=True)
class Counted:
    """Replies counted in a stream: the first waiting one's moment is ``wait`` seconds away;
    the stream's last paced send (an invitation) was ``since_paced`` seconds ago (negative:
    booked ahead; inf: none known). ``slots``: each waiting reply's moment, in order, on the
    pacer's clock in its own notation (ms in Redis), which is also its place in the window
    (see Pacer.depart); ``moments`` gives them as seconds after the first's."""

    wait: float
    since_paced: float
    slots: tuple[str, ...] = ()
    scale: float = 1.0  # the slots' unit, in seconds

    def moments(self) -> list[float]:
        """Each waiting reply's moment, in seconds after the first's."""
        if not self.slots:
            return []
        first = float(self.slots[0])
        return [(float(slot) - first) * self.scale for slot in self.slots]


class Pacer(Protocol):
    """Hands out the moments at which sends may go, each stream's ``gap`` apart."""

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        """The first moment free in every stream, taken in all if it is at most AHEAD_S away."""
        ...

    async def depart(
        self,
        stream: Stream,
        departures: Sequence[tuple[str, float]],
        chats: Sequence[tuple[Stream, str, float]] = (),
    ) -> None:
        """The sends of these slots in ``stream``'s window went so many seconds after their
        moments (slot, late); and each chat stream's next moment is no sooner than its gap
        after the one of its sends that left late (chat, slot, late)."""
        ...

    async def widen(self, stream: Stream) -> float:
        """A 429: widen the margin of ``stream``'s window; returns the new one (seconds)."""
        ...

    async def count(self, stream: Stream, waiting: int, gone: int) -> Counted:
        """Count replies in ``stream``: ``waiting`` take its next moments, ahead of sends not
        yet handed one; ``gone`` (sent already) push it back, by REPLIES_CAP_S at most."""
        ...

    async def close(self) -> None: ...


class MemoryPacer:
    """The streams of one process."""

    def __init__(self) -> None:
        self._free: dict[str, float] = {}
        self._paced: dict[str, float] = {}
        self._sent: dict[str, dict[str, float]] = {}  # window: slot -> departure
        self._margin: dict[str, float] = {}
        self._slots = 0

    def _window_free(self, stream: Stream) -> float:
        departures = sorted(self._sent.get(stream.name, {}).values())
        if stream.count <= 0 or len(departures) < stream.count:
            return 0.0
        return departures[-stream.count] + stream.window + self._margin_of(stream)

    def _margin_of(self, stream: Stream) -> float:
        return max(self._margin.get(stream.name, 0.0), WINDOW_MARGIN_S)

    async def widen(self, stream: Stream) -> float:
        margin = min(self._margin_of(stream) * 2 + WINDOW_MARGIN_S, MARGIN_MAX_S)
        self._margin[stream.name] = margin
        return margin

    def _place(self, stream: Stream, slot: str, at: float) -> None:
        if stream.count <= 0:
            return
        sent = self._sent.setdefault(stream.name, {})
        sent[slot] = at
        for old in sorted(sent, key=sent.__getitem__)[: max(len(sent) - stream.count, 0)]:
            del sent[old]

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        now = time.monotonic()
        at, busiest = now, None
        for stream in streams:
            free = self._free.get(stream.name, 0.0)
            if free > at:
                at, busiest = free, stream
        if (free := self._window_free(streams[0])) > at:
            at, busiest = free, streams[0]
        slot = repr(at)
        if at - now > AHEAD_S:
            return Moment(False, at - now, busiest, at, slot)
        for stream in streams:
            self._free[stream.name] = at + stream.gap
        self._paced[streams[0].name] = at
        self._place(streams[0], slot, at)
        if streams[0].count > 0:
            self._margin[streams[0].name] = self._margin_of(streams[0]) * MARGIN_DECAY
        return Moment(True, at - now, busiest, at, slot)

    async def depart(
        self,
        stream: Stream,
        departures: Sequence[tuple[str, float]],
        chats: Sequence[tuple[Stream, str, float]] = (),
    ) -> None:
        sent = self._sent.get(stream.name, {})
        for slot, late in departures:
            if slot in sent:
                sent[slot] = max(sent[slot], float(slot) + late)
        for chat, slot, late in chats:
            held = float(slot) + late + chat.gap
            self._free[chat.name] = max(self._free.get(chat.name, 0.0), held)

    async def count(self, stream: Stream, waiting: int, gone: int) -> Counted:
        now = time.monotonic()
        at = max(self._free.get(stream.name, 0.0), now)
        slots: list[str] = []
        for _ in range(waiting):  # each a gap after the last, and a window after the count-th
            at = max(at, self._window_free(stream))
            slots.append(repr(at))
            self._place(stream, slots[-1], at)
            at += stream.gap
        first = float(slots[0]) if slots else at
        cap = now + REPLIES_CAP_S
        self._free[stream.name] = max(at, min(at + gone * stream.gap, cap))
        for _ in range(min(gone, stream.count)):
            self._slots += 1
            self._place(stream, f"gone:{self._slots}", now)
        paced = self._paced.get(stream.name)
        return Counted(first - now, now - paced if paced is not None else math.inf, tuple(slots))

    async def close(self) -> None:
        self._free.clear()
        self._paced.clear()
        self._sent.clear()
        self._margin.clear()


class RedisPacer:
    """Streams in Redis: ``<prefix>:pace:<stream>`` holds its next free moment,
    ``...:paced`` the last one handed to a paced send, ``...:sent`` its window's departures,
    ``...:margin`` its window's margin when 429s widened it."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_RESERVE_SCRIPT)
        self._count = client.register_script(_ACCOUNT_SCRIPT)
        self._widen = client.register_script(_WIDEN_SCRIPT)
        self._hold = client.register_script(_HOLD_SCRIPT)

    def _key(self, stream: Stream) -> str:
        return f"{self.prefix}:pace:{stream.name}"

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        first = self._key(streams[0])
        keys = [*(self._key(stream) for stream in streams)]
        keys += [f"{first}:paced", f"{first}:sent", f"{first}:margin"]
        args = [
            AHEAD_S * 1000,
            *(stream.gap * 1000 for stream in streams),
            streams[0].window * 1000,
            streams[0].count,
            WINDOW_MARGIN_S * 1000,
            MARGIN_DECAY,
        ]
        reserved, wait_ms, busiest, at_ms = await self._script(keys=keys, args=args)
        wait = max(float(wait_ms), 0.0) / 1000
        stream = streams[int(busiest) - 1] if busiest else None
        slot = at_ms.decode() if isinstance(at_ms, bytes) else str(at_ms)
        return Moment(bool(reserved), wait, stream, float(slot) / 1000, slot)

    async def depart(
        self,
        stream: Stream,
        departures: Sequence[tuple[str, float]],
        chats: Sequence[tuple[Stream, str, float]] = (),
    ) -> None:
        # Only slots still in the window (XX), only later than they stand (GT): one call.
        later = {slot: float(slot) + late * 1000 for slot, late in departures}
        if later:
            await self.client.zadd(f"{self._key(stream)}:sent", later, xx=True, gt=True)
        if chats:
            keys = [self._key(chat) for chat, _, _ in chats]
            args = [float(slot) + (late + chat.gap) * 1000 for chat, slot, late in chats]
            await self._hold(keys=keys, args=args)

    async def widen(self, stream: Stream) -> float:
        keys = [f"{self._key(stream)}:margin"]
        margin = await self._widen(keys=keys, args=[WINDOW_MARGIN_S * 1000, MARGIN_MAX_S * 1000])
        return float(margin) / 1000

    async def count(self, stream: Stream, waiting: int, gone: int) -> Counted:
        key = self._key(stream)
        keys = [key, f"{key}:paced", f"{key}:sent", f"{key}:margin"]
        args = [stream.gap * 1000, waiting, gone, REPLIES_CAP_S * 1000]
        args += [stream.window * 1000, stream.count, WINDOW_MARGIN_S * 1000]
        wait_ms, since_ms, *slots = await self._count(keys=keys, args=args)
        since = float(since_ms)
        return Counted(
            max(float(wait_ms), 0.0) / 1000,
            math.inf if since >= 1e12 else since / 1000,
            tuple(slot.decode() if isinstance(slot, bytes) else str(slot) for slot in slots),
            scale=0.001,
        )

    async def close(self) -> None:
        await self.client.aclose()
