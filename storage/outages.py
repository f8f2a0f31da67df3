"""Telling a store that is unreachable for now from a request that can never succeed."""

from psycopg import OperationalError as PsycopgOperationalError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.errors import DatabaseUnavailable, StateLockTimeout, StateStoreUnavailable

# A lock held too long (by a holder that died, until its time-to-live ends) passes too.
_PASSING = (
    StateStoreUnavailable,
    DatabaseUnavailable,
    StateLockTimeout,
    OperationalError,
    PsycopgOperationalError,  # the job queue's connection (procrastinate wraps it)
    InterfaceError,
    PoolTimeout,
    ConnectionError,
    TimeoutError,
    OSError,
)


# PostgreSQL's SQLSTATE classes of a server that cannot serve now: connection exceptions (08),
# insufficient resources (53: too many clients, out of memory or disk), operator intervention
# (57P: shutting down, starting up).
_PASSING_SQLSTATES = ("08", "53", "57P")


def unreachable(error: BaseException) -> bool:
    """Whether `error` (or its `__cause__` chain) says a store or the network is away for now: the
    same request may succeed once it is back, so it is worth trying again later."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _PASSING):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_PASSING_SQLSTATES):
            return True
        current = current.__cause__
    return False
