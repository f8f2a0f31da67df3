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

# KEYS: the streams' next free moments (ms, Redis' own clock); ARGV[1]: how far ahead a moment
# may be reserved (ms), ARGV[1 + i]: the gap of stream i (ms). The moment is the latest of the
# streams' next free ones; it is reserved in all of them, or, when it is further ahead, in none.
# Returns {reserved 1 or 0, ms to the moment, index of the stream that set it (0: none), the
# moment itself (ms, Redis' clock)}.
_RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local at, busiest = now, 0
for i, key in ipairs(KEYS) do
    local free = tonumber(redis.call('GET', key) or '0')
    if free > at then
        at, busiest = free, i
    end
end
if at - now > tonumber(ARGV[1]) then
    return {0, tostring(at - now), busiest, tostring(at)}
end
for i, key in ipairs(KEYS) do
    local following = at + tonumber(ARGV[i + 1])
    redis.call('SET', key, tostring(following), 'PX', math.ceil(following - now) + 1000)
end
return {1, tostring(at - now), busiest, tostring(at)}
"""


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


class Pacer(Protocol):
    """Hands out the moments at which sends may go, each stream's ``gap`` apart."""

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        """The first moment free in every stream, taken in all if it is at most AHEAD_S away."""
        ...

    async def close(self) -> None: ...


class MemoryPacer:
    """The streams of one process."""

    def __init__(self) -> None:
        self._free: dict[str, float] = {}

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
        return Moment(True, at - now, busiest, at)

    async def close(self) -> None:
        self._free.clear()


class RedisPacer:
    """Streams in Redis: ``<prefix>:pace:<stream>`` holds its next free moment."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_RESERVE_SCRIPT)

    async def reserve(self, streams: Sequence[Stream]) -> Moment:
        keys = [f"{self.prefix}:pace:{stream.name}" for stream in streams]
        args = [AHEAD_S * 1000, *(stream.gap * 1000 for stream in streams)]
        reserved, wait_ms, busiest, at_ms = await self._script(keys=keys, args=args)
        wait = max(float(wait_ms), 0.0) / 1000
        stream = streams[int(busiest) - 1] if busiest else None
        return Moment(bool(reserved), wait, stream, float(at_ms) / 1000)

    async def close(self) -> None:
        await self.client.aclose()
