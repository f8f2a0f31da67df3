"""The reporting time zone: local wall time to naive UTC and back, and where its offset changes.

Reports store and compare naive UTC; periods, months and weeks are cut at the reporting zone's
midnights (CXBOT_REPORT_TIMEZONE). SQLite knows no time zones, so a week bucket there is
the UTC time shifted by the zone's offset, which is constant between the changes listed by
`offset_changes`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["offset_changes", "to_local", "to_utc", "utc_offset"]

_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)


def to_utc(local: datetime, zone: str) -> datetime:
    """The naive UTC instant of the naive wall time `local` in `zone` (the earlier of two
    in a repeated hour; a skipped hour's time is read with the offset before the change)."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    """The naive wall time in `zone` of the naive UTC instant `moment`."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def utc_offset(moment: datetime, zone: str) -> timedelta:
    """`zone`'s offset from UTC at the naive UTC instant `moment`."""
    return to_local(moment, zone) - moment


def offset_changes(start: datetime, end: datetime, zone: str) -> list[tuple[datetime, timedelta]]:
    """[(from, offset), ...]: the offset at `start`, then each change before `end`, as the
    naive UTC instant it takes effect. Offsets change at whole minutes, at most a few times
    a year: one look a day, then a search to the minute inside a day that changed."""
    changes = [(start, utc_offset(start, zone))]
    day = start.replace(second=0, microsecond=0)  # so that every midpoint is a whole minute
    while day < end:
        following = min(day + _DAY, end)
        if utc_offset(following, zone) != changes[-1][1]:
            low, high = day, following  # the offset of `low` is the old one, of `high` the new
            while high - low > _MINUTE:
                middle = low + (high - low) / 2
                middle -= timedelta(seconds=middle.second, microseconds=middle.microsecond)
                if middle <= low:
                    break
                if utc_offset(middle, zone) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high, utc_offset(high, zone)))
        day = following
    return changes
