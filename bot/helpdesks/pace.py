"""How fast cxbot writes to each help desk: one rate per help desk, shared by every process.

Help desks limit their API per account (Zendesk 200 to 2,500 requests a minute by plan,
Freshdesk 100 to 700), and cxbot shares that budget with everything else the team runs.
A burst of answers (a thousand customers tapping after a campaign) is spread out at this
pace instead of running into the help desk's 429s; the 429s are still waited out if they
come (see writes.py).
"""

from __future__ import annotations

import time

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from bot.delivery.limits import parse_rate

SETTING = "CXBOT_HELPDESK_WRITE_RATE"
# Never come back sooner than this: a lost race is retried, not spun on.
MIN_WAIT_S = 0.05


class WritePace:
    """A moving window of writes per help desk, in Redis when REDIS_URL is set."""

    def __init__(
        self, rate: RateLimitItem, storage: Storage, pool: ConnectionPool | None = None
    ) -> None:
        self.rate = rate
        self.limiter = MovingWindowRateLimiter(storage)
        self._pool = pool

    @staticmethod
    def rate_of(setting: str) -> RateLimitItem:
        """CXBOT_HELPDESK_WRITE_RATE read; InvalidRate naming it when `limits` cannot."""
        return parse_rate(SETTING, setting)

    @classmethod
    def open(cls, item: RateLimitItem, redis_url: str | None, prefix: str) -> WritePace:
        if redis_url is None:
            return cls(item, MemoryStorage())
        pool = ConnectionPool.from_url(redis_url)
        storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix=f"{prefix}:helpdesk-writes",
            connection_pool=pool,  # type: ignore[arg-type]
        )
        return cls(item, storage, pool)

    async def wait(self, helpdesk: str) -> float:
        """0 when a write to `helpdesk` may go now (and it is counted); else the seconds until
        the window has room."""
        if await self.limiter.hit(self.rate, "helpdesk", helpdesk):
            return 0.0
        stats = await self.limiter.get_window_stats(self.rate, "helpdesk", helpdesk)
        return max(stats.reset_time - time.time(), MIN_WAIT_S)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
            self._pool = None
