"""The one clock of the storage layer: naive UTC datetimes."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as a naive datetime in UTC.

    Every datetime we store is naive UTC: SQLite drops tzinfo on the way back, so aware
    datetimes would compare inconsistently across backends.
    """
    return datetime.now(UTC).replace(tzinfo=None)
