"""Send rates shared by every process: per bot or workspace, per chat, and 429 pauses.

Each send takes a moment of its own in two even streams (bot/delivery/pacing.py): the bot's
(or workspace's) and its chat's, each spaced a little wider than its rate (written in the
`limits` library's notation, "30/second"), so that sends reach the platform as a steady
stream, never more than the rate in any window and never in bursts at a window's edges. The
streams are kept in Redis when REDIS_URL is set (every web and worker process then draws
from the same ones) and in memory otherwise (one process). A 429 from a platform pauses the
buckets it concerns for everyone, through a pause-until key with a time to live, checked
before a moment is taken.

(The `limits` moving windows once counted the sends beside the streams: three more calls to
Redis a send, and never the one that said no, since the streams are the stricter.)
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import limits
from limits import RateLimitItem
from redis.asyncio import ConnectionPool, Redis

from bot.delivery.errors import InvalidRate
from bot.delivery.pacing import AHEAD_S, MemoryPacer, Pacer, RedisPacer, Stream, gap_for
from bot.delivery.replies import ReplyTurns
from bot.paced import PacedTurn
from bot.runner import sleep_until
from bot.settings import Settings

log = logging.getLogger(__name__)

# Never tell a caller to come back sooner than this: a lost race is retried, not spun on.
MIN_WAIT_S = 0.005
# Callers told to wait for one bucket wake up to this much apart, so that they do not all ask
# at the same instant; small beside the gap between two sends (34 ms at 30/second).
SPREAD_S = 0.002

# KEYS[1]: the pause key; ARGV: until (epoch seconds), time to live (ms). A shorter pause
# never cuts a longer one short.
_PAUSE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""


@dataclass(frozen=True)
class ChannelRates:
    """A channel's two limits: all its sends (a bot, a workspace) and those to one address."""

    overall: RateLimitItem
    per_address: RateLimitItem

    def bot_stream(self, overall: str) -> Stream:
        """The whole bot's (or workspace's) paced stream, with its window of departures."""
        window = self.overall.get_expiry()
        return Stream(
            overall,
            gap_for(self.overall.amount / window, windowed=True),
            window,
            self.overall.amount,
        )

    def streams(self, overall: str, one: str) -> tuple[Stream, Stream]:
        """The paced streams a send joins: the whole bot's (or workspace's), and its chat's."""
        return (
            self.bot_stream(overall),
            Stream(one, gap_for(self.per_address.amount / self.per_address.get_expiry())),
        )


def parse_rate(setting: str, value: str) -> RateLimitItem:
    """`limits` notation ("30/second"); InvalidRate naming the setting when unreadable."""
    try:
        return limits.parse(value)
    except ValueError:
        raise InvalidRate(setting, value) from None


def channel_rates(settings: Settings) -> dict[str, ChannelRates]:
    """The configured rates of the channels that have platform limits."""
    return {
        "telegram": ChannelRates(
            parse_rate("CXBOT_TELEGRAM_RATE", settings.telegram_rate),
            parse_rate("CXBOT_TELEGRAM_CHAT_RATE", settings.telegram_chat_rate),
        ),
        "slack": ChannelRates(
            parse_rate("CXBOT_SLACK_RATE", settings.slack_rate),
            parse_rate("CXBOT_SLACK_CHANNEL_RATE", settings.slack_channel_rate),
        ),
    }


@dataclass(frozen=True)
class Turn:
    """The limits' answer to "may I send now?": ``wait`` seconds (0: go), and why.

    ``per_address`` is True when only this chat (or DM) is busy: other sends could go.
    A granted turn's ``at`` is the moment (epoch seconds) the message is to go, 0: now;
    ``slot`` its place in the bot's window, ``chat`` its chat's stream (see
    SendLimits.departed).
    """

    wait: float
    bucket: str = ""
    per_address: bool = False
    at: float = 0.0
    slot: str = ""
    chat: str = ""
    earliest: float = 0.0  # the moment as early as it can be (see bot.paced.PacedTurn)

    @property
    def granted(self) -> bool:
        return self.wait <= 0

    async def wait_out(self) -> None:
        """Sleep until the bucket should have room, give or take SPREAD_S."""
        await asyncio.sleep(self.wait + random.random() * SPREAD_S)


class PauseBoard(Protocol):
    """Buckets paused by a platform's 429, until a moment every process agrees on."""

    async def pause(self, bucket: str, seconds: float) -> None: ...

    async def until(self, *buckets: str) -> list[float]: ...

    async def close(self) -> None: ...


class MemoryPauseBoard:
    """The pauses of one process."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def pause(self, bucket: str, seconds: float) -> None:
        self._until[bucket] = max(self._until.get(bucket, 0.0), time.time() + seconds)

    async def until(self, *buckets: str) -> list[float]:
        return [self._until.get(bucket, 0.0) for bucket in buckets]

    async def close(self) -> None:
        self._until.clear()


class RedisPauseBoard:
    """Pauses in Redis: ``<prefix>:pause:<bucket>`` holds the end time and expires with it."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_PAUSE_SCRIPT)

    def _key(self, bucket: str) -> str:
        return f"{self.prefix}:pause:{bucket}"

    async def pause(self, bucket: str, seconds: float) -> None:
        until = time.time() + seconds
        await self._script(keys=[self._key(bucket)], args=[until, max(int(seconds * 1000), 1)])

    async def until(self, *buckets: str) -> list[float]:
        values = await self.client.mget([self._key(bucket) for bucket in buckets])
        return [float(value) if value is not None else 0.0 for value in values]

    async def close(self) -> None:
        await self.client.aclose()


class SendLimits:
    """Asks the shared buckets whether one message may go to ``address`` on ``channel`` now.

    A channel without configured rates (the terminal demo, a test channel) is never limited.
    """

    def __init__(
        self,
        rates: Mapping[str, ChannelRates],
        pauses: PauseBoard,
        pacer: Pacer,
        *,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.rates = dict(rates)
        self.pauses = pauses
        self.pacer = pacer
        self._pool = pool
        self._replies: dict[str, ReplyTurns] = {}

    def replies(self, channel: str) -> ReplyTurns | None:
        """This process's replies on ``channel``, counted in its bot's (or workspace's) stream;
        None for a channel without rates."""
        rates = self.rates.get(channel)
        if rates is None:
            return None
        if channel not in self._replies:
            overall, _ = self._buckets(channel, "")
            self._replies[channel] = ReplyTurns(self.pacer, rates.bot_stream(overall))
        return self._replies[channel]

    @classmethod
    def open(
        cls, rates: Mapping[str, ChannelRates], redis_url: str | None, prefix: str
    ) -> SendLimits:
        """Buckets in Redis (shared by all processes) or, without a URL, in this process."""
        if redis_url is None:
            return cls(rates, MemoryPauseBoard(), MemoryPacer())
        # One pool for the pauses and the pacer, closed by close().
        pool = ConnectionPool.from_url(redis_url)
        client = Redis(connection_pool=pool)
        pauses, pacer = RedisPauseBoard(client, prefix), RedisPacer(client, prefix)
        return cls(rates, pauses, pacer, pool=pool)

    @staticmethod
    def _buckets(channel: str, address: str) -> tuple[str, str]:
        return channel, f"{channel}:{address}"

    async def take(self, channel: str, address: str) -> Turn:
        """Take the next moment free in both of the address's streams, or say how long to wait.

        A send that may go is given its moment in the bot's even stream of sends, ``Turn.at``,
        a few milliseconds ahead at most: the caller gets ready and sends then. Two calls to
        Redis: the pauses, and the reservation (in both streams or, when either is further
        ahead, in none: a busy chat costs the bot no moment).
        """
        rates = self.rates.get(channel)
        if rates is None:
            return Turn(0.0)
        overall, one = self._buckets(channel, address)
        if paused := await self._paused(overall, one):
            return paused
        bot, chat = rates.streams(overall, one)
        asked = time.time()
        moment = await self.pacer.reserve((bot, chat))
        if not moment.reserved:  # further back in a stream: come back when nearly there
            per_address = moment.busiest == chat
            return Turn(
                max(moment.wait - AHEAD_S, MIN_WAIT_S),
                chat.name if per_address else overall,
                per_address,
            )
        return Turn(
            0.0,
            at=time.time() + moment.wait,
            slot=moment.slot,
            chat=chat.name,
            earliest=asked + moment.wait,
        )

    async def departed(self, channel: str, departures: Sequence[tuple[PacedTurn, float]]) -> None:
        """These sends left so many seconds after their moments (turn, late): their successors
        in the bot's window, and the next send to each's chat, keep their distance from when
        they really went."""
        rates = self.rates.get(channel)
        departures = [(turn, late) for turn, late in departures if turn.slot]
        if rates is None or not departures:
            return
        overall, _ = self._buckets(channel, "")
        _, chat = rates.streams(overall, "")
        chats = [
            (replace(chat, name=turn.chat), turn.slot, late)
            for turn, late in departures
            if turn.chat
        ]
        await self.pacer.depart(
            rates.bot_stream(overall), [(turn.slot, late) for turn, late in departures], chats
        )

    async def _paused(self, overall: str, one: str) -> Turn | None:
        now = time.time()
        paused_overall, paused_one = await self.pauses.until(overall, one)
        if paused_overall <= now and paused_one <= now:
            return None
        # A pause of the whole bot is everyone's wait; one chat's is only its own.
        per_address = paused_overall <= now
        left = max(paused_overall, paused_one) - now
        return Turn(left, f"{one if per_address else overall} (paused)", per_address)

    async def wait_for_turn(self, channel: str, address: str | None) -> None:
        """Wait as long as it takes for a turn, and for its moment: for a send that cannot
        give its slot back.

        That is a call Telegram refused with 429, about to go again from inside its send
        (its invitation is claimed): it counts against the limits like any other send.
        """
        while True:
            turn = await self.take(channel, address or "")
            if turn.granted:
                await sleep_until(turn.at)
                return
            await turn.wait_out()

    async def pause(self, channel: str, address: str | None, seconds: float) -> None:
        """A platform said 429 with retry-after: hold the channel (and the chat) that long.

        Telegram and Slack do not say which of their limits was hit, so the whole bot or
        workspace waits, as they ask; the chat named by the request waits too.
        """
        if seconds <= 0:
            return
        overall, one = self._buckets(channel, address or "")
        await self.pauses.pause(overall, seconds)
        if (rates := self.rates.get(channel)) is not None:
            margin = await self.pacer.widen(rates.bot_stream(overall))
            log.info("%s: a 429; the window's margin is now %.0f ms", channel, margin * 1000)
        if address is not None:
            await self.pauses.pause(one, seconds)

    async def close(self) -> None:
        for replies in self._replies.values():
            await replies.close()
        await self.pauses.close()
        await self.pacer.close()
        if self._pool is not None:
            await self._pool.aclose()
