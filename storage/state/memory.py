"""In-process state store: one dict, lazy expiry, per-key asyncio locks."""

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from storage.errors import StateLockTimeout
from storage.state.base import BaseStateStore, Locked, StateKey, validate_ttl
from storage.state.base import key as state_key


class MemoryStateStore(BaseStateStore):
    """For one process (tests, the demo, a single bot): nothing survives a restart.

    Expiry is checked on read; a heap of deadlines also drops expired entries on each write,
    so claims that are never read again (update ids) do not pile up.
    """

    def __init__(self) -> None:
        self._values: dict[StateKey, tuple[str, float | None]] = {}
        self._deadlines: list[tuple[float, int, StateKey]] = []
        self._sequence = 0  # tie-breaker: StateKeys need not be comparable in the heap
        self._locks: dict[StateKey, tuple[asyncio.Lock, int]] = {}

    def _alive(self, key: StateKey, now: float) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and deadline <= now:
            del self._values[key]
            return None
        return value

    def _purge(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, _, stale = heapq.heappop(self._deadlines)
            entry = self._values.get(stale)
            if entry is not None and entry[1] == deadline:
                del self._values[stale]

    def _store(self, key: StateKey, value: str, ttl: float | None, now: float) -> None:
        self._purge(now)
        deadline = None if ttl is None else now + ttl
        self._values[key] = (value, deadline)
        if deadline is not None:
            self._sequence += 1
            heapq.heappush(self._deadlines, (deadline, self._sequence, key))

    async def get(self, key: StateKey) -> str | None:
        return self._alive(key, time.monotonic())

    async def set(self, key: StateKey, value: str, ttl: float | None) -> None:
        if ttl is not None:
            validate_ttl(ttl)
        self._store(key, value, ttl, time.monotonic())

    async def set_many(self, values: Mapping[StateKey, str], ttl: float | None) -> None:
        if ttl is not None:
            validate_ttl(ttl)
        now = time.monotonic()
        for key, value in values.items():  # no await in between: all or none
            self._store(key, value, ttl, now)

    async def delete(self, key: StateKey) -> None:
        self._values.pop(key, None)

    async def delete_if_equals(self, key: StateKey, value: str) -> bool:
        if self._alive(key, time.monotonic()) != value:
            return False
        del self._values[key]
        return True

    async def claim(self, key: StateKey, ttl: float) -> bool:
        validate_ttl(ttl)
        now = time.monotonic()
        # No await between the check and the write: atomic within the event loop.
        if self._alive(key, now) is not None:
            return False
        self._store(key, "1", ttl, now)
        return True

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
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(timeout):
                    await lock.acquire()
            except TimeoutError:
                raise StateLockTimeout(key.render("memory"), timeout) from None
            now = time.monotonic()
            # Looked at once the lock is ours, as Redis does: a holder handling the same event
            # has released it by now, mark written.
            if unless is not None and self._alive(unless, now) is not None:
                lock.release()
                yield Locked(seen=True)
                return
            locked = Locked(self._alive(read, now) if read is not None else None)
            try:
                yield locked
            finally:
                self._release_writes(locked)
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]  # nobody holds or waits: forget the lock
            else:
                self._locks[key] = (lock, users - 1)

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
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if unless is not None and self._alive(unless, now) is not None:
                yield Locked(seen=True)
                return
            pointed = self._alive(pointer, now)
            if pointed is None:
                yield Locked()
                return
            reading = state_key(read, pointed) if read is not None else None
            left = max(deadline - time.monotonic(), 0.0)
            async with self.lock(
                state_key(lock, pointed), left, read=reading, unless=unless
            ) as locked:
                # Waiting for the lock let others run: lock what the pointer names now.
                if locked.seen:
                    yield locked
                    return
                if self._alive(pointer, time.monotonic()) == pointed:
                    locked.pointed = pointed
                    yield locked
                    return

    def _release_writes(self, locked: Locked) -> None:
        now = time.monotonic()  # no await below: the writes land together
        for name, (value, ttl) in locked.sets.items():
            self._store(name, value, ttl, now)
        for name, expected in locked.deletes.items():
            if expected is None or self._alive(name, now) == expected:
                self._values.pop(name, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._values.clear()
        self._deadlines.clear()
