"""State store interface: keys, and a small async key-value API with claims and locks."""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass


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
    def lock(self, key: StateKey, timeout: float = 10.0) -> AbstractAsyncContextManager[None]:
        """`async with store.lock(key):` excludes every other holder of the same key.

        Waits up to `timeout` seconds, then raises StateLockTimeout. Locking a key does not
        touch its value: lock, then read and write the same key.
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
