"""Conversation state, dedupe claims and locks, in memory or in Redis."""

from storage.state.base import BaseStateStore, Locked, StateKey, key
from storage.state.memory import MemoryStateStore
from storage.state.redis import DEFAULT_MAX_CONNECTIONS, RedisStateStore

__all__ = [
    "BaseStateStore",
    "Locked",
    "MemoryStateStore",
    "RedisStateStore",
    "StateKey",
    "key",
    "open_state_store",
]


def open_state_store(
    url: str | None, *, prefix: str = "cxbot", max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> BaseStateStore:
    """Redis when `url` is set (at most `max_connections`, a caller waiting for a free one),
    else an in-process store (one bot process only)."""
    if url:
        return RedisStateStore(url, prefix=prefix, max_connections=max_connections)
    return MemoryStateStore()
