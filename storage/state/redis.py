"""Redis state store: shared by every bot process; one round trip per operation."""

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Self

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.errors import StateLockTimeout, StateStoreUnavailable
from storage.state.base import BaseStateStore, Locked, StateKey, key, validate_ttl

logger = logging.getLogger(__name__)

# A lock whose holder died is released by Redis after this long; a live holder must finish
# its critical section (load state, advance, save, send) well within it.
DEFAULT_LOCK_TTL_S = 60.0
# Lock keys sit beside value keys: `prefix:lock:namespace:parts`.
LOCK_PREFIX = "lock"
CONNECT_TIMEOUT_S = 5.0
# Connections to Redis at most; a caller finding them all in use waits up to POOL_WAIT_S for
# one (then StateStoreUnavailable) instead of failing at once, so a burst queues.
DEFAULT_MAX_CONNECTIONS = 50
POOL_WAIT_S = 10.0
# A waiting locker tries again after this long, doubling up to the maximum: a tap queued
# behind another on the same survey (a few milliseconds of work) gets in soon after it.
LOCK_RETRY_FIRST_S = 0.005
LOCK_RETRY_MAX_S = 0.1

# SET each KEYS[i] to ARGV[i + 1]; ARGV[1] is the TTL in milliseconds, "" for none.
SET_MANY = """
for i, name in ipairs(KEYS) do
    if ARGV[1] == "" then
        redis.call("SET", name, ARGV[i + 1])
    else
        redis.call("SET", name, ARGV[i + 1], "PX", ARGV[1])
    end
end
return #KEYS
"""
# DEL KEYS[1] only while it holds ARGV[1]: releases a lock or an outdated pointer.
DELETE_IF_EQUALS = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""

# Take the lock KEYS[1] (token ARGV[1], expiring after ARGV[2] ms) and, if taken, read KEYS[2]
# when ARGV[3] is "1". The key after those, if any, is a mark (a seen-mark): while it is set,
# nothing is locked or read. 2 when the mark is set, 0 while someone else holds the lock, else
# {1, value} ({1} when there is nothing to read or the key is absent).
ACQUIRE_AND_READ = """
local mark = 2
if ARGV[3] == "1" then
    mark = 3
end
if KEYS[mark] and redis.call("EXISTS", KEYS[mark]) == 1 then
    return 2
end
if not redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
    return 0
end
if ARGV[3] ~= "1" then
    return {1}
end
return {1, redis.call("GET", KEYS[2])}
"""
# Unless the mark KEYS[2] (if given) is set ({3}), read the pointer KEYS[1]; if set, take the
# lock ARGV[3] .. pointer (token ARGV[1], ARGV[2] ms) and read ARGV[4] .. pointer (ARGV[4] "":
# nothing to read). {2} without a pointer, 0 while someone else holds the lock, else
# {1, pointer, value} (value nil when absent). The two keys are built here from the pointer,
# so they cannot be declared up front: fine on one Redis server (what this store talks to),
# not on a Redis Cluster.
ACQUIRE_POINTED = """
if KEYS[2] and redis.call("EXISTS", KEYS[2]) == 1 then
    return {3}
end
local pointed = redis.call("GET", KEYS[1])
if not pointed then
    return {2}
end
if not redis.call("SET", ARGV[3] .. pointed, ARGV[1], "NX", "PX", ARGV[2]) then
    return 0
end
if ARGV[4] == "" then
    return {1, pointed}
end
return {1, pointed, redis.call("GET", ARGV[4] .. pointed)}
"""
# Release the lock KEYS[1] (token ARGV[1]) after the holder's writes. KEYS[2..] are ARGV[2]
# keys to SET (value and PX, "" for none, in ARGV from 4 on), then ARGV[3] keys to DEL, then
# keys to DEL only while they hold the ARGV after the SET pairs. 1 if the lock was still ours.
RELEASE_WITH_WRITES = """
local sets, deletes = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, sets do
    local value, px = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
    if px == "" then
        redis.call("SET", KEYS[1 + i], value)
    else
        redis.call("SET", KEYS[1 + i], value, "PX", px)
    end
end
for i = 1, deletes do
    redis.call("DEL", KEYS[1 + sets + i])
end
for i = 2 + sets + deletes, #KEYS do
    if redis.call("GET", KEYS[i]) == ARGV[2 + sets + i - deletes] then
        redis.call("DEL", KEYS[i])
    end
end
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


def _text(value: str | bytes | None) -> str | None:
    # A client from from_client() may not decode; ours does.
    return value.decode() if isinstance(value, bytes) else value


def _milliseconds(ttl: float) -> int:
    validate_ttl(ttl)
    return max(1, round(ttl * 1000))


class _QueueingPool(BlockingConnectionPool):
    """redis-py's BlockingConnectionPool (a caller finding every connection in use waits for
    one, up to its timeout), minus its waiting machinery while nobody waits and a connection
    is free: then a connection is taken and given back as the plain pool does. That machinery
    (a condition, a timeout scope and its records, on each command and its release) was a
    twentieth of the answer path's CPU, spent though nobody waited.

    Waiters keep their turn: no one takes the fast way while anyone waits, so a connection
    given back goes to the condition's first waiter, as before. Between the check and the
    taking there is no await, so no other task comes between them; a connection given back
    the short way while someone began to wait wakes them too.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._waiting = 0

    async def get_connection(self, *args: object, **kwargs: object) -> AbstractConnection:
        if self._waiting or not self._available_connections or self._in_maintenance:
            self._waiting += 1
            try:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call,no-any-return]
            finally:
                self._waiting -= 1
        connection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        if self._waiting or self._in_maintenance:
            await super().release(connection)  # gives it back and wakes the first waiter
        else:
            await ConnectionPool.release(self, connection)
            if self._waiting:  # someone began to wait while it was given back: wake them
                async with self._condition:
                    self._condition.notify()


class RedisStateStore(BaseStateStore):
    """Keys are `prefix:namespace:parts`; locks are `prefix:lock:namespace:parts`.

    A lock is one `SET NX PX` holding a random token, released by a compare-and-delete
    script, so a holder that outlived `lock_ttl` cannot free its successor's lock.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cxbot",
        lock_ttl: float = DEFAULT_LOCK_TTL_S,
        client: Redis | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        if client is None:
            pool = _QueueingPool.from_url(
                url,
                max_connections=max_connections,
                timeout=POOL_WAIT_S,
                decode_responses=True,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
            )
            client = Redis.from_pool(pool)  # closing the client closes its pool
        self.client = client
        # Sent by SHA (EVALSHA); redis-py loads a script again if Redis forgot it.
        self._set_many = client.register_script(SET_MANY)
        self._delete_if_equals = client.register_script(DELETE_IF_EQUALS)
        self._acquire_and_read = client.register_script(ACQUIRE_AND_READ)
        self._release_with_writes = client.register_script(RELEASE_WITH_WRITES)
        self._acquire_pointed = client.register_script(ACQUIRE_POINTED)

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

    async def set_many(self, values: Mapping[StateKey, str], ttl: float | None) -> None:
        px = "" if ttl is None else str(_milliseconds(ttl))
        if not values:
            return
        # One script runs atomically: no reader sees some of the values without the others.
        with self._reachable():
            await self._set_many(
                keys=[self._name(key) for key in values], args=[px, *values.values()]
            )

    async def delete(self, key: StateKey) -> None:
        with self._reachable():
            await self.client.delete(self._name(key))

    async def delete_if_equals(self, key: StateKey, value: str) -> bool:
        return await self._compare_and_delete(self._name(key), value)

    async def _compare_and_delete(self, name: str, value: str) -> bool:
        with self._reachable():
            deleted = await self._delete_if_equals(keys=[name], args=[value])
        return bool(deleted)

    async def claim(self, key: StateKey, ttl: float) -> bool:
        px = _milliseconds(ttl)
        with self._reachable():
            claimed = await self.client.set(self._name(key), "1", nx=True, px=px)
        return bool(claimed)

    @asynccontextmanager
    # `timeout` is how long to wait for the lock (the interface's contract), not a call timeout.
    async def lock(
        self,
        key: StateKey,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        read: StateKey | None = None,
        unless: StateKey | None = None,
    ) -> AsyncIterator[Locked]:
        name = key.render(f"{self.prefix}:{LOCK_PREFIX}")
        token = os.urandom(16).hex()
        try:
            seen, value = await self._acquire(
                name,
                token,
                timeout,
                self._name(read) if read is not None else None,
                self._name(unless) if unless is not None else None,
            )
        except asyncio.CancelledError:
            # Cancelled while our SET may have landed: free the lock if it is ours.
            with contextlib.suppress(StateStoreUnavailable):
                await self._compare_and_delete(name, token)
            raise
        if seen:
            yield Locked(seen=True)
            return
        locked = Locked(value)
        try:
            yield locked
        finally:
            if not await self._release(name, token, locked):
                # The holder outlived lock_ttl, so someone else may have entered meanwhile.
                logger.warning("lock %s expired before release (lock_ttl=%gs)", name, self.lock_ttl)

    @asynccontextmanager
    async def lock_pointed(
        self,
        pointer: StateKey,
        lock: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        read: str | None = None,
        unless: StateKey | None = None,
    ) -> AsyncIterator[Locked]:
        token = os.urandom(16).hex()
        # The names `lock(key(lock, v), read=key(read, v))` would use, up to the v.
        lock_prefix = key(lock).render(f"{self.prefix}:{LOCK_PREFIX}") + ":"
        read_prefix = key(read).render(self.prefix) + ":" if read is not None else ""
        taken: tuple[str, str | None] | bool = False
        try:
            taken = await self._acquire_pointer(
                self._name(pointer),
                token,
                timeout,
                lock_prefix,
                read_prefix,
                self._name(unless) if unless is not None else None,
            )
        except asyncio.CancelledError:
            # Cancelled while our script may have taken a lock: free it if it is ours. The
            # pointer may have moved since, so this frees what it names now, if ours.
            with contextlib.suppress(StateStoreUnavailable):
                pointed = await self.get(pointer)
                if pointed is not None:
                    await self._compare_and_delete(lock_prefix + pointed, token)
            raise
        if isinstance(taken, bool):  # the mark was set (True), or there is no pointer
            yield Locked(seen=taken)
            return
        pointed, value = taken
        locked = Locked(value, pointed=pointed)
        name = lock_prefix + pointed
        try:
            yield locked
        finally:
            if not await self._release(name, token, locked):
                logger.warning("lock %s expired before release (lock_ttl=%gs)", name, self.lock_ttl)

    async def _acquire_pointer(
        self,
        pointer: str,
        token: str,
        timeout: float,  # noqa: ASYNC109
        lock_prefix: str,
        read_prefix: str,
        unless: str | None,
    ) -> tuple[str, str | None] | bool:
        """(pointer, value read) once locked; True when the mark `unless` is set, False when
        there is no pointer."""
        px = _milliseconds(self.lock_ttl)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = LOCK_RETRY_FIRST_S
        keys = [pointer] if unless is None else [pointer, unless]
        while True:
            with self._reachable():
                taken = await self._acquire_pointed(
                    keys=keys, args=[token, px, lock_prefix, read_prefix]
                )
            if taken:
                if taken[0] != 1:
                    return bool(taken[0] == 3)
                pointed, value = _text(taken[1]), taken[2] if len(taken) > 2 else None
                assert pointed is not None
                return pointed, _text(value)
            left = deadline - loop.time()
            if left <= 0:
                raise StateLockTimeout(f"{lock_prefix}<{pointer}>", timeout)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LOCK_RETRY_MAX_S)

    async def _release(self, name: str, token: str, locked: Locked) -> bool:
        if not locked.sets and not locked.deletes:
            return await self._compare_and_delete(name, token)
        sets = list(locked.sets.items())
        plain = [key for key, expected in locked.deletes.items() if expected is None]
        compared = [(key, value) for key, value in locked.deletes.items() if value is not None]
        args: list[str | int] = [token, len(sets), len(plain)]
        for _, (value, ttl) in sets:
            args += [value, "" if ttl is None else _milliseconds(ttl)]
        args += [expected for _, expected in compared]
        keys = [name, *(self._name(key) for key, _ in sets)]
        keys += [self._name(key) for key in plain]
        keys += [self._name(key) for key, _ in compared]
        with self._reachable():
            released = await self._release_with_writes(keys=keys, args=args)
        return bool(released)

    async def _acquire(
        self,
        name: str,
        token: str,
        timeout: float,  # noqa: ASYNC109
        read: str | None,
        unless: str | None,
    ) -> tuple[bool, str | None]:
        """(True, None) when the mark `unless` is set (nothing locked); else, once locked,
        (False, the value read)."""
        px = _milliseconds(self.lock_ttl)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = LOCK_RETRY_FIRST_S
        keys = [name, *(k for k in (read, unless) if k is not None)]
        args: list[str | int] = [token, px, "1" if read is not None else ""]
        while True:
            with self._reachable():
                if read is None and unless is None:
                    if await self.client.set(name, token, nx=True, px=px):
                        return False, None
                else:
                    taken = await self._acquire_and_read(keys=keys, args=args)
                    if taken == 2:
                        return True, None
                    if taken:
                        return False, _text(taken[1]) if len(taken) > 1 else None
            left = deadline - loop.time()
            if left <= 0:
                raise StateLockTimeout(name, timeout)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LOCK_RETRY_MAX_S)

    async def ping(self) -> None:
        with self._reachable():
            try:
                await self.client.ping()
            except InvalidResponse as exc:  # REDIS_URL names another server's port
                cause = (
                    f"it answered, but not as Redis does: {exc}; is that Redis's port? a "
                    "Redis with TLS takes rediss://"
                )
                raise StateStoreUnavailable(self.url, cause) from exc

    async def close(self) -> None:
        await self.client.aclose()
