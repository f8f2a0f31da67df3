"""Redis state store: shared by every bot process, with redis-py's own locks."""

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Self

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.errors import StateLockTimeout, StateStoreUnavailable
from storage.state.base import BaseStateStore, StateKey, validate_ttl

logger = logging.getLogger(__name__)

# A lock whose holder died is released by Redis after this long; a live holder must finish
# its critical section (load state, advance, save, send) well within it.
DEFAULT_LOCK_TTL_S = 60.0
# Lock keys sit beside value keys: `prefix:lock:namespace:parts`.
LOCK_PREFIX = "lock"
CONNECT_TIMEOUT_S = 5.0


def _milliseconds(ttl: float) -> int:
    validate_ttl(ttl)
    return max(1, round(ttl * 1000))


class RedisStateStore(BaseStateStore):
    """Keys are `prefix:namespace:parts`; locks are `prefix:lock:namespace:parts`."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cxbot",
        lock_ttl: float = DEFAULT_LOCK_TTL_S,
        client: Redis | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        if client is None:
            client = Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_S
            )
        self.client = client

    @classmethod
    def from_client(
        cls, client: Redis, prefix: str = "cxbot", *, lock_ttl: float = DEFAULT_LOCK_TTL_S
    ) -> Self:
        """Wrap a client you made (tests, benchmarks); `close()` closes it too."""
        kwargs = client.connection_pool.connection_kwargs
        host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
        url = f"redis://{host}:{port}/{kwargs.get('db', 0)}"
        return cls(url, prefix=prefix, lock_ttl=lock_ttl, client=client)

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StateStoreUnavailable(self.url, f"{type(exc).__name__}: {exc}") from exc

    def _name(self, key: StateKey) -> str:
        return key.render(self.prefix)

    async def get(self, key: StateKey) -> str | None:
        with self._reachable():
            value = await self.client.get(self._name(key))
        # A client from from_client() may not decode; ours does.
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: StateKey, value: str, ttl: float | None) -> None:
        px = None if ttl is None else _milliseconds(ttl)
        with self._reachable():
            await self.client.set(self._name(key), value, px=px)

    async def delete(self, key: StateKey) -> None:
        with self._reachable():
            await self.client.delete(self._name(key))

    async def claim(self, key: StateKey, ttl: float) -> bool:
        px = _milliseconds(ttl)
        with self._reachable():
            claimed = await self.client.set(self._name(key), "1", nx=True, px=px)
        return bool(claimed)

    @asynccontextmanager
    # `timeout` is how long to wait for the lock (the interface's contract), not a call timeout.
    async def lock(self, key: StateKey, timeout: float = 10.0) -> AsyncIterator[None]:  # noqa: ASYNC109
        # redis-py polls every 0.1 s and gives up when the next poll would pass `timeout`.
        name = key.render(f"{self.prefix}:{LOCK_PREFIX}")
        lock = self.client.lock(
            name, timeout=self.lock_ttl, blocking_timeout=timeout, thread_local=False
        )
        with self._reachable():
            acquired = await lock.acquire()
        if not acquired:
            raise StateLockTimeout(name, timeout)
        try:
            yield
        finally:
            try:
                with self._reachable():
                    await lock.release()
            except LockNotOwnedError:
                # The holder outlived lock_ttl, so someone else may have entered meanwhile.
                logger.warning("lock %s expired before release (lock_ttl=%gs)", name, self.lock_ttl)

    async def ping(self) -> None:
        with self._reachable():
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()
