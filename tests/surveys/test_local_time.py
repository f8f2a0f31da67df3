"""The reporting time zone: periods cut at local midnights, offsets and their changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from surveys.local_time import offset_changes, to_local, to_utc
from surveys.report_query import parse_report_args

WARSAW = "Europe/Warsaw"
HOUR = timedelta(hours=1)


def test_local_and_utc_round_trip() -> None:
    assert to_local(datetime(2026, 11, 30, 23, 30), WARSAW) == datetime(2026, 12, 1, 0, 30)
    assert to_utc(datetime(2026, 12, 1), WARSAW) == datetime(2026, 11, 30, 23)
    assert to_utc(datetime(2026, 7, 1), WARSAW) == datetime(2026, 6, 30, 22)  # summer time


def test_offset_changes_find_the_minute_the_clocks_change() -> None:
    year = offset_changes(datetime(2026, 1, 1), datetime(2027, 1, 1), WARSAW)
    assert year == [
        (datetime(2026, 1, 1), HOUR),
        (datetime(2026, 3, 29, 1), 2 * HOUR),  # 02:00 local becomes 03:00
        (datetime(2026, 10, 25, 1), HOUR),
    ]
    assert offset_changes(datetime(2026, 1, 1, 12, 0, 30), datetime(2027, 1, 1), "UTC") == [
        (datetime(2026, 1, 1, 12, 0, 30), timedelta(0))
    ]
    # Half-hour steps (Lord Howe Island) are found to the minute too.
    lord_howe = offset_changes(datetime(2026, 1, 1), datetime(2027, 1, 1), "Australia/Lord_Howe")
    assert [moment for moment, _ in lord_howe[1:]] == [
        datetime(2026, 4, 4, 15),
        datetime(2026, 10, 3, 15, 30),
    ]


def test_months_and_dates_start_at_local_midnight() -> None:
    now = datetime(2026, 12, 15)
    december = parse_report_args("2026-12", now=now, command="nps", timezone=WARSAW)
    assert (december.start, december.end) == (
        datetime(2026, 11, 30, 23),
        datetime(2026, 12, 31, 23),
    )
    assert december.timezone == WARSAW
    previous = december.previous()
    assert (previous.label, previous.start) == ("2026-11", datetime(2026, 10, 31, 23))
    dates = parse_report_args("2026-10-20..2026-10-26", now=now, command="nps", timezone=WARSAW)
    # The clocks went back on the 25th: seven days of 24 hours and one of 25.
    assert (dates.start, dates.end) == (datetime(2026, 10, 19, 22), datetime(2026, 10, 26, 23))
    before = dates.previous()
    assert before.label == "2026-10-13..2026-10-19"
    assert (before.start, before.end) == (datetime(2026, 10, 12, 22), dates.start)
    utc = parse_report_args("2026-12", now=now, command="nps")
    assert (utc.start, utc.timezone) == (datetime(2026, 12, 1), "UTC")


def test_rolling_days_are_days_of_the_local_clock() -> None:
    now = datetime(2026, 11, 2, 12)  # 13:00 in Warsaw, a week after the clocks went back
    week = parse_report_args("7d", now=now, command="nps", timezone=WARSAW)
    assert week.start == datetime(2026, 10, 26, 12)  # 13:00 local, 7 days back on the wall
    month = parse_report_args("30d", now=now, command="nps", timezone=WARSAW)
    assert month.start == datetime(2026, 10, 3, 11)  # 13:00 local in summer time
    assert month.previous().start == datetime(2026, 9, 3, 11)
