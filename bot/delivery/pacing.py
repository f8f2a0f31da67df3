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

# How much wider than the rate needs the gap between two sends is: 2% (34 ms instead of 33 at
# 30/second), which leaves 20 ms a second for the arrivals to jitter. An arrival late by more
# than that beside the one a second later is a 429 (a pause of retry_after for the whole bot).
# The headroom is also how far a backlog falls behind what the limit allows: 6.7 s at 10,000
# due at once. 0.5% (1.7 s) was tried: on a loaded machine it doubled the 429s (25-28 against
# 10-15 in 1,000 sends) and sent slower (bench/README.md).
HEADROOM = 1.02
# A moment is reserved at most this far ahead; a caller further back is told when to come back.
AHEAD_S = 0.05

# KEYS: the streams' next free moments (ms, Redis' own clock), then the first stream's "paced"
# key (the last moment handed out in it by this script, for replies to see that invitations
# are going out); ARGV[1]: how far ahead a moment may be reserved (ms), ARGV[1 + i]: the gap
# of stream i (ms). The moment is the latest of the streams' next free ones; it is reserved in
# all of them, or, when it is further ahead, in none.
# Returns {reserved 1 or 0, ms to the moment, index of the stream that set it (0: none), the
# moment itself (ms, Redis' clock)}.
_RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local streams = #KEYS - 1
local at, busiest = now, 0
for i = 1, streams do
    local key = KEYS[i]
    local free = tonumber(redis.call('GET', key) or '0')
    if free > at then
        at, busiest = free, i
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
return {1, tostring(at - now), busiest, tostring(at)}
"""

# Replies counted in a stream (see bot/delivery/replies.py). KEYS[1]: the stream's next free
# moment, KEYS[2]: its "paced" key; ARGV: the gap (ms), replies that wait for a moment, replies
# that went already, how far ahead those may push the stream at most (ms). The waiting ones
# take the next free moments one gap apart, ahead of any invitation not yet handed one; the
# ones gone are counted after them (a burst of replies above the rate pushes the invitations
# back by at most the cap: the rest is the platform's to refuse).
# Returns {ms to the first waiting reply's moment, ms since the last paced moment (negative:
# one is booked ahead; a huge number: none known)}.
_ACCOUNT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local gap, waiting, gone = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local following = first + waiting * gap
following = math.max(following, math.min(following + gone * gap, now + tonumber(ARGV[4])))
if following > now then
    redis.call('SET', KEYS[1], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
local paced = redis.call('GET', KEYS[2])
local since = paced and (now - tonumber(paced)) or 1e12
return {tostring(first - now), tostring(since)}
"""
# How far ahead replies already gone may push a stream at most (see _ACCOUNT_SCRIPT).
REPLIES_CAP_S = 1.0


def gap_for(per_second: float) -> float:
    """Seconds between two sends of a stream limited to ``per_second``, with the headroom."""
    return HEADROOM / per_second


@dataclass(frozen=True)
class Stream:
    """A sequence of sends to keep ``gap`` seconds apart: a bot's, a chat's."""

    name: str
    gap: float


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


@dataclass(frozen=True)
class Counted:
    """Replies counted in a stream: the first waiting one's moment is ``wait`` seconds away
    (the rest follow one gap apart); the stream's last paced send (an invitation) was
    ``since_paced`` seconds ago (negative: booked ahead; inf: none known)."""

    wait: float
    since_paced: float


class Pacer(Protocol):
    """Hands out the moments at which sends may go, each stream's ``gap`` apart."""

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        """The first moment free in every stream, taken in all if it is at most AHEAD_S away."""
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

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        now = time.monotonic()
        at, busiest = now, None
        for stream in streams:
            free = self._free.get(stream.name, 0.0)
            if free > at:
                at, busiest = free, stream
        if at - now > AHEAD_S:
            return Moment(False, at - now, busiest, at)
        for stream in streams:
            self._free[stream.name] = at + stream.gap
        self._paced[streams[0].name] = at
        return Moment(True, at - now, busiest, at)

    async def count(self, stream: Stream, waiting: int, gone: int) -> Counted:
        now = time.monotonic()
        first = max(self._free.get(stream.name, 0.0), now)
        following = first + waiting * stream.gap
        cap = now + REPLIES_CAP_S
        self._free[stream.name] = max(following, min(following + gone * stream.gap, cap))
        paced = self._paced.get(stream.name)
        return Counted(first - now, now - paced if paced is not None else math.inf)

    async def close(self) -> None:
        self._free.clear()
        self._paced.clear()


class RedisPacer:
    """Streams in Redis: ``<prefix>:pace:<stream>`` holds its next free moment."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_RESERVE_SCRIPT)
        self._count = client.register_script(_ACCOUNT_SCRIPT)

    def _key(self, stream: Stream) -> str:
        return f"{self.prefix}:pace:{stream.name}"

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        keys = [*(self._key(stream) for stream in streams), f"{self._key(streams[0])}:paced"]
        args = [AHEAD_S * 1000, *(stream.gap * 1000 for stream in streams)]
        reserved, wait_ms, busiest, at_ms = await self._script(keys=keys, args=args)
        wait = max(float(wait_ms), 0.0) / 1000
        stream = streams[int(busiest) - 1] if busiest else None
        return Moment(bool(reserved), wait, stream, float(at_ms) / 1000)

    async def count(self, stream: Stream, waiting: int, gone: int) -> Counted:
        key = self._key(stream)
        args = [stream.gap * 1000, waiting, gone, REPLIES_CAP_S * 1000]
        wait_ms, since_ms = await self._count(keys=[key, f"{key}:paced"], args=args)
        since = float(since_ms)
        return Counted(max(float(wait_ms), 0.0) / 1000, math.inf if since >= 1e12 else since / 1000)

    async def close(self) -> None:
        await self.client.aclose()
