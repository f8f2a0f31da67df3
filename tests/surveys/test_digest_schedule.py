"""Digest slots on the reporting zone's wall clock, across clock changes."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from surveys.digest_schedule import Schedule, parse_schedule, schedule_of
from surveys.errors import ReportQueryError


def test_parse_keeps_the_filters() -> None:
    schedule, rest = parse_schedule("Weekly Monday 9:05 team=billing survey=nps")
    assert schedule == Schedule("weekly", time(9, 5), 0)
    assert schedule.describe() == "weekly mon 09:05"
    assert rest == "team=billing survey=nps"
    assert schedule_of("weekly mon 09:05") == schedule


@pytest.mark.parametrize(
    "line",
    ["", "monthly 09:00", "weekly 09:00", "weekly xyz 09:00", "daily", "daily 25:00", "daily 9"],
)
def test_parse_refuses_what_is_no_schedule(line: str) -> None:
    with pytest.raises(ReportQueryError):
        parse_schedule(line)


def test_weekly_slots_keep_the_wall_clock_across_the_clock_change() -> None:
    weekly = Schedule("weekly", time(9, 0), 0)
    # Warsaw moves to summer time on Sunday 2027-03-28: 09:00 is 08:00 UTC, then 07:00 UTC.
    first = weekly.next_after(datetime(2027, 3, 20, 12, 0), "Europe/Warsaw")
    assert first == datetime(2027, 3, 22, 8, 0)
    assert weekly.next_after(first, "Europe/Warsaw") == datetime(2027, 3, 29, 7, 0)


def test_daily_slot_is_strictly_after_the_moment() -> None:
    daily = Schedule("daily", time(0, 30))
    # 23:45 UTC on 30 November is 00:45 on 1 December in Warsaw: the next 00:30 is the 2nd.
    assert daily.next_after(datetime(2026, 11, 30, 23, 45), "Europe/Warsaw") == datetime(
        2026, 12, 1, 23, 30
    )
    at_slot = datetime(2026, 12, 1, 23, 30)
    assert daily.next_after(at_slot, "Europe/Warsaw") == datetime(2026, 12, 2, 23, 30)
    assert daily.next_after(datetime(2026, 12, 1, 0, 0), "UTC") == datetime(2026, 12, 1, 0, 30)
