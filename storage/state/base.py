"""State store interface: keys, and a small async key-value API with claims and locks."""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StateKey:
    """A structured key: a namespace (what kind of thing) and parts (which one)."""

    namespace: str
    parts: tuple[str, ...]

    def render(self, prefix: str) -> str:
        """The flat form, `prefix:namespace:part1:part2`."""
        return ":".join((prefix, self.namespace, *self.parts))


def key(namespace: str, *parts: str | int) -> StateKey:
    """Build a StateKey, e.g. `key("conversation", "telegram", chat_id)`."""
    if not namespace or ":" in namespace:
        raise ValueError(f"namespace must be non-empty and free of ':', got {namespace!r}")
    return StateKey(namespace, tuple(str(part) for part in parts))


@dataclass
class Locked:
    """What `lock()` yields: the value of its `read` key, read the moment the lock was taken,
    and the writes to make as it is released.

    A store sends the read with the lock and the writes with the release (Redis: one round
    trip each), so a read-modify-write under a lock costs two round trips, not four.
    """

    value: str | None = None
    # The `unless` mark was set: nothing was locked or read (the event was handled before).
    seen: bool = False
    # For `lock_pointed`: the pointer's value, which named the key locked (None: no pointer,
    # nothing locked).
    pointed: str | None = None
    # key -> (value, ttl): SET when the lock is released, before it is freed.
    sets: dict[StateKey, tuple[str, float | None]] = field(default_factory=dict)
    # key -> None (delete) or a value (delete only while the key holds it).
    deletes: dict[StateKey, str | None] = field(default_factory=dict)

    def set_on_release(self, values: Mapping[StateKey, str], ttl: float | None) -> None:
        """Store `values` (like `set_many`) as the lock is released, all at once."""
        if ttl is not None:
            validate_ttl(ttl)
        for name, value in values.items():
            self.deletes.pop(name, None)
            self.sets[name] = (value, ttl)

    def discard(self, key: StateKey) -> None:
        """Forget a write staged on `key`, if any."""
        self.sets.pop(key, None)
        self.deletes.pop(key, None)

    def delete_on_release(self, key: StateKey, *, if_equals: str | None = None) -> None:
        """Remove `key` as the lock is released; with `if_equals`, only while it holds that."""
        self.sets.pop(key, None)
        self.deletes[key] = if_equals


class BaseStateStore(ABC):
    """Conversation state, dedupe claims and locks; in memory or in Redis.

    Values are strings (callers serialise); `ttl` is in seconds, None meaning forever.
    """

    @abstractmethod
    async def get(self, key: StateKey) -> str | None:
        """The value at `key`, or None if absent or expired."""

    @abstractmethod
    async def set(self, key: StateKey, value: str, ttl: float | None) -> None:
        """Store `value` at `key`, replacing any value, expiring after `ttl` seconds."""

    @abstractmethod
    async def set_many(self, values: Mapping[StateKey, str], ttl: float | None) -> None:
        """Store every value at once (one round trip, all or none), each expiring after `ttl`."""

    @abstractmethod
    async def delete(self, key: StateKey) -> None:
        """Remove `key`; nothing happens if it is absent."""

    @abstractmethod
    async def delete_if_equals(self, key: StateKey, value: str) -> bool:
        """Atomically remove `key` only while it holds `value`; True if it was removed.

        For pointers that a newer writer may have taken over meanwhile.
        """

    @abstractmethod
    async def claim(self, key: StateKey, ttl: float) -> bool:
        """Atomically mark `key` seen: True the first time, False while the mark lives.

        Dedupes Telegram update ids and Slack event ids.
        """

    @abstractmethod
    def lock(
        self,
        key: StateKey,
        timeout: float = 10.0,
        *,
        read: StateKey | None = None,
        unless: StateKey | None = None,
    ) -> AbstractAsyncContextManager[Locked]:
        """`async with store.lock(key) as locked:` excludes every other holder of the key.

        Waits up to `timeout` seconds, then raises StateLockTimeout. Locking a key does not
        touch its value: lock, then read and write the same key. `read` names a key whose
        value comes with the lock (`locked.value`); writes staged on `locked` are made when
        the lock is released, whether or not the block raised. `unless` names a mark (an
        event's seen-mark, written with an earlier release): found set when the lock is
        free, nothing is locked or read and `locked.seen` is True, in the same step (Redis:
        the same round trip), so a redelivered event waits for the first to finish, then
        sees its mark.
        """

    @abstractmethod
    def lock_pointed(
        self,
        pointer: StateKey,
        lock: str,
        timeout: float = 10.0,
        *,
        read: str | None = None,
        unless: StateKey | None = None,
    ) -> AbstractAsyncContextManager[Locked]:
        """`lock(key(lock, v), read=key(read, v), unless=unless)` where v is the value
        `pointer` holds, read in the same step as the lock is taken (Redis: one round trip
        for all of it), so the pointer cannot move in between. `locked.pointed` is v; when
        `unless` is set, `locked.seen` is True and nothing else is looked at; when `pointer`
        is absent, `locked.pointed` is None and nothing is locked.
        """

    @abstractmethod
    async def ping(self) -> None:
        """Raise StateStoreUnavailable if the store cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""


def validate_ttl(ttl: float) -> None:
    """Reject TTLs that a store could only misread (zero, negative)."""
    if ttl <= 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
