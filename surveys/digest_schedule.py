"""When a digest is due: ``daily 08:00`` or ``weekly mon 09:00`` on the reporting zone's wall
clock, read from the ``/digest`` arguments, and the next slot after a moment (naive UTC)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from surveys.errors import ReportQueryError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
USAGE = "e.g. digest daily 08:00, digest weekly mon 09:00 team=billing, digest off"
Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True)
class Schedule:
    """A daily slot at ``at``, or a weekly one on ``weekday`` (0 = Monday) at ``at``."""

    frequency: Frequency
    at: time
    weekday: int | None = None

    @property
    def period(self) -> str:
        """The report period each digest covers: the day or the week up to its slot."""
        return "1d" if self.frequency == "daily" else "7d"

    def describe(self) -> str:
        """``daily 08:00`` or ``weekly mon 09:00``: how it is typed, and stored."""
        clock = self.at.strftime("%H:%M")
        if self.weekday is None:
            return f"{self.frequency} {clock}"
        return f"{self.frequency} {WEEKDAYS[self.weekday]} {clock}"

    def next_after(self, moment: datetime, timezone: str) -> datetime:
        """The first slot strictly after ``moment`` (naive UTC), as naive UTC.

        Slots are wall-clock times in ``timezone``: 09:00 in Warsaw is 08:00 UTC in winter
        and 07:00 in summer. A slot in a gap of a clock change is taken as the same wall
        time read with the offset before it (zoneinfo's fold=0).
        """
        zone = ZoneInfo(timezone)
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        day = local.date()
        if self.weekday is not None:
            day += timedelta(days=(self.weekday - day.weekday()) % 7)
        step = timedelta(days=1 if self.weekday is None else 7)
        while True:
            slot = datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)
            naive = slot.replace(tzinfo=None)
            if naive > moment:
                return naive
            day += step


def parse_schedule(args: str) -> tuple[Schedule, str]:
    """``"weekly mon 09:00 team=billing"`` -> (the schedule, ``"team=billing"``).

    Raises ReportQueryError with a message for the admin when the words are not a schedule.
    """
    words = args.split()
    if not words or words[0].lower() not in ("daily", "weekly"):
        raise ReportQueryError(f"A digest is daily or weekly; {USAGE}")
    frequency: Frequency = "daily" if words[0].lower() == "daily" else "weekly"
    rest = words[1:]
    weekday: int | None = None
    if frequency == "weekly":
        if not rest or rest[0].lower()[:3] not in WEEKDAYS:
            raise ReportQueryError(f"A weekly digest names its day (mon … sun); {USAGE}")
        weekday = WEEKDAYS.index(rest[0].lower()[:3])
        rest = rest[1:]
    if not rest or (match := CLOCK.match(rest[0])) is None:
        raise ReportQueryError(f"A digest names its time as HH:MM (24 h); {USAGE}")
    at = time(int(match.group(1)), int(match.group(2)))
    return Schedule(frequency, at, weekday), " ".join(rest[1:])


def schedule_of(text: str) -> Schedule:
    """The stored ``describe()`` form read back."""
    schedule, rest = parse_schedule(text)
    assert not rest, text
    return schedule
