"""When to send: delays written as "1h30m", send windows in local time, and DST-safe times."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_serializer, model_validator

from surveys.definitions import DefinitionProblem

__all__ = [
    "MAX_DELAY",
    "Window",
    "check_zone",
    "format_duration",
    "naive_utc",
    "parse_duration",
    "send_time",
]

MAX_DELAY = timedelta(days=365)  # past this a delay is a typo, and timedelta would soon overflow
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_WINDOW = re.compile(r"\s*(\S+)\s*-\s*(\S+)\s*")


def parse_duration(value: object) -> timedelta:
    """A delay from "90s", "30m", "2h", "1d", "1h30m", a number of seconds or a timedelta."""
    given = value
    if isinstance(value, str) and _SECONDS.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value
    elif isinstance(value, str) and value.strip() and (found := _DURATION.fullmatch(value.strip())):
        parts = zip(found.groups(), _UNITS, strict=True)
        seconds = sum(int(amount or 0) * unit for amount, (_, unit) in parts)
    else:
        raise DefinitionProblem(f"{given!r} is not a duration (use 90s, 30m, 2h, 1d)")
    if seconds < 0:
        raise DefinitionProblem(f"{given!r} is negative; a survey cannot go before its event")
    if seconds > MAX_DELAY.total_seconds():
        raise DefinitionProblem(f"{given!r} is longer than {MAX_DELAY.days} days")
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """ "1h30m" for 90 minutes: the shortest text `parse_duration` reads back the same."""
    seconds = duration.total_seconds()
    if seconds != int(seconds):
        return f"{seconds:.6f}".rstrip("0")  # fractions only come from code; read as seconds
    rest, out = int(seconds), ""
    for suffix, unit in _UNITS:
        amount, rest = divmod(rest, unit)
        out += f"{amount}{suffix}" if amount else ""
    return out or "0s"


def check_zone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows, else a clear error."""
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise DefinitionProblem(
            f"{name!r} is not a time zone (use an IANA name such as Europe/Warsaw)"
        ) from None
    return name


def naive_utc(moment: datetime) -> datetime:
    """The project stores naive UTC; an aware datetime is converted, a naive one taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


class Window(BaseModel):
    """Hours of the customer's day when a survey may arrive; start > end wraps past midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        found = _WINDOW.fullmatch(data)
        if found is None or not all(_CLOCK.fullmatch(part) for part in found.groups()):
            raise DefinitionProblem(f"{data!r} is not a window (use 09:00-20:00)")
        return {"start": found[1], "end": found[2]}

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 9:00 as the base-60 number 540.
            raise DefinitionProblem(f'{value} is not a time; write it in quotes, as "09:00"')
        if not isinstance(value, str):
            return value
        found = _CLOCK.fullmatch(value.strip())
        hour, minute, second = (int(part or 0) for part in found.groups()) if found else (99, 0, 0)
        if hour > 23 or minute > 59 or second > 59:
            raise DefinitionProblem(f"{value!r} is not a time of day (use 09:00)")
        return time(hour, minute, second)

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if self.start == self.end:
            raise DefinitionProblem(
                f"the window starts and ends at {_clock_text(self.start)}; "
                "leave the window out to send at any hour"
            )
        return self

    def contains(self, t: time) -> bool:
        """Whether `t` (local wall time) is in the window; the start is in, the end is out."""
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{_clock_text(self.start)}-{_clock_text(self.end)}"

    @model_serializer(when_used="json")
    def _as_text(self) -> str:
        return str(self)


def send_time(due: datetime, window: Window | None, zone: str) -> datetime:
    """`due` (naive UTC) if it falls inside `window` in `zone`, else the next window start.

    A start that falls in a spring-forward gap moves to the end of the gap; a start that
    occurs twice in an autumn fold counts from its first occurrence.
    """
    due = naive_utc(due)
    if window is None:
        return due
    tz = ZoneInfo(zone)
    local = due.replace(tzinfo=UTC).astimezone(tz)
    if window.contains(local.time()):
        return due
    candidates = (
        _instant(local.date() + timedelta(days=days), window.start, fold, tz)
        for days in range(4)
        for fold in (0, 1)
    )
    return min(
        instant
        for instant in candidates
        if instant >= due and window.contains(_local(instant, tz).time())
    )


def _instant(day: date, at: time, fold: int, tz: ZoneInfo) -> datetime:
    """The naive UTC instant of a local wall time; inside a DST gap, the instant the gap ends."""
    wall = datetime.combine(day, at, tzinfo=tz).replace(fold=fold)
    instant = wall.astimezone(UTC).replace(tzinfo=None)
    if _local(instant, tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # In a gap the two folds read the wall time with the offsets either side of the jump,
    # so the jump lies between them; bisect to the second (tzdata transitions are whole seconds).
    low, high = sorted(
        wall.replace(fold=side).astimezone(UTC).replace(tzinfo=None) for side in (0, 1)
    )
    after = _local(high, tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if _local(middle, tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.replace(tzinfo=UTC).astimezone(tz)


def _clock_text(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")
