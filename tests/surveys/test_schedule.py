"""Send times: delays, windows in the customer's local time, and both DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from surveys.definitions import DefinitionProblem
from surveys.schedule import Window, format_duration, naive_utc, parse_duration, send_time


@pytest.mark.parametrize(
    ("written", "seconds", "text"),
    [
        pytest.param("90s", 90, "1m30s", id="seconds"),
        pytest.param("30m", 1800, "30m", id="minutes"),
        pytest.param("2h", 7200, "2h", id="hours"),
        pytest.param("1d", 86400, "1d", id="days"),
        pytest.param("1h30m", 5400, "1h30m", id="hours-and-minutes"),
        pytest.param("2d3h4m5s", 183845, "2d3h4m5s", id="every-unit"),
        pytest.param(" 45m ", 2700, "45m", id="spaces"),
        pytest.param(5400, 5400, "1h30m", id="int-seconds"),
        pytest.param("120", 120, "2m", id="digits-are-seconds"),
        pytest.param(0, 0, "0s", id="zero"),
        pytest.param(1.5, 1.5, "1.5", id="fraction"),
        pytest.param(timedelta(hours=3), 10800, "3h", id="timedelta"),
    ],
)
def test_durations_read_and_write_back(written: object, seconds: float, text: str) -> None:
    duration = parse_duration(written)
    assert duration == timedelta(seconds=seconds)
    assert format_duration(duration) == text
    assert parse_duration(text) == duration


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param(
            "30 minutes", "'30 minutes' is not a duration (use 90s, 30m, 2h, 1d)", id="words"
        ),
        pytest.param("1h30", "'1h30' is not a duration (use 90s, 30m, 2h, 1d)", id="no-unit"),
        pytest.param("", "'' is not a duration (use 90s, 30m, 2h, 1d)", id="empty"),
        pytest.param("m", "'m' is not a duration (use 90s, 30m, 2h, 1d)", id="unit-only"),
        pytest.param(True, "True is not a duration (use 90s, 30m, 2h, 1d)", id="bool"),
        pytest.param(float("inf"), "inf is not a duration (use 90s, 30m, 2h, 1d)", id="infinite"),
        pytest.param(-5, "-5 is negative; a survey cannot go before its event", id="negative"),
        pytest.param("400d", "'400d' is longer than 365 days", id="too-long"),
    ],
)
def test_bad_durations_say_what_to_write(written: object, message: str) -> None:
    with pytest.raises(DefinitionProblem) as caught:
        parse_duration(written)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        pytest.param("09:00-20:00", time(9), time(20), id="text"),
        pytest.param(" 9:00 - 20:30 ", time(9), time(20, 30), id="loose-text"),
        pytest.param("22:00-06:00", time(22), time(6), id="wraps"),
        pytest.param({"start": "08:15", "end": "17:45"}, time(8, 15), time(17, 45), id="mapping"),
        pytest.param({"start": time(7), "end": time(19)}, time(7), time(19), id="times"),
        pytest.param("09:00:30-10:00", time(9, 0, 30), time(10), id="seconds"),
    ],
)
def test_windows_are_read_from_text_or_mapping(written: Any, start: time, end: time) -> None:
    window = Window.model_validate(written)
    assert (window.start, window.end) == (start, end)
    assert Window.model_validate(window.model_dump(mode="json")) == window


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param("9-17", "'9-17' is not a window (use 09:00-20:00)", id="hours-only"),
        pytest.param("25:00-26:00", "'25:00' is not a time of day (use 09:00)", id="hour-25"),
        pytest.param("09:60-10:00", "'09:60' is not a time of day (use 09:00)", id="minute-60"),
        pytest.param(
            "09:00-09:00",
            "the window starts and ends at 09:00; leave the window out to send at any hour",
            id="empty",
        ),
        pytest.param(
            {"start": 540, "end": "17:00"},
            '540 is not a time; write it in quotes, as "09:00"',
            id="yaml-base-60",
        ),
    ],
)
def test_bad_windows_say_what_to_write(written: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Window.model_validate(written)
    assert str(caught.value.errors()[0]["ctx"]["error"]) == message


@pytest.mark.parametrize(
    ("window", "at", "inside"),
    [
        pytest.param("09:00-20:00", time(9), True, id="start-is-in"),
        pytest.param("09:00-20:00", time(19, 59), True, id="just-before-end"),
        pytest.param("09:00-20:00", time(20), False, id="end-is-out"),
        pytest.param("09:00-20:00", time(8, 59), False, id="before"),
        pytest.param("22:00-06:00", time(23), True, id="wrap-evening"),
        pytest.param("22:00-06:00", time(0), True, id="wrap-midnight"),
        pytest.param("22:00-06:00", time(5, 59), True, id="wrap-morning"),
        pytest.param("22:00-06:00", time(6), False, id="wrap-end-is-out"),
        pytest.param("22:00-06:00", time(12), False, id="wrap-midday"),
    ],
)
def test_window_contains(window: str, at: time, inside: bool) -> None:
    assert Window.model_validate(window).contains(at) is inside


def utc(*parts: int) -> datetime:
    return datetime(*parts)  # the project keeps naive UTC


@pytest.mark.parametrize(
    ("window", "zone", "due", "expected"),
    [
        pytest.param(None, "UTC", utc(2026, 5, 1, 3), utc(2026, 5, 1, 3), id="no-window"),
        pytest.param("09:00-17:00", "UTC", utc(2026, 5, 1, 12), utc(2026, 5, 1, 12), id="inside"),
        pytest.param("09:00-17:00", "UTC", utc(2026, 5, 1, 9), utc(2026, 5, 1, 9), id="at-start"),
        pytest.param(
            "09:00-17:00", "UTC", utc(2026, 5, 1, 7, 30), utc(2026, 5, 1, 9), id="before-start"
        ),
        pytest.param(
            "09:00-17:00", "UTC", utc(2026, 5, 1, 17), utc(2026, 5, 2, 9), id="at-end-next-day"
        ),
        pytest.param(
            "09:00-17:00", "UTC", utc(2026, 12, 31, 23), utc(2027, 1, 1, 9), id="after-new-year"
        ),
        pytest.param(
            "22:00-06:00", "UTC", utc(2026, 5, 1, 23), utc(2026, 5, 1, 23), id="wrap-inside-late"
        ),
        pytest.param(
            "22:00-06:00", "UTC", utc(2026, 5, 1, 3), utc(2026, 5, 1, 3), id="wrap-inside-early"
        ),
        pytest.param(
            "22:00-06:00", "UTC", utc(2026, 5, 1, 12), utc(2026, 5, 1, 22), id="wrap-outside"
        ),
        # Europe/Warsaw is UTC+1 in winter, UTC+2 in summer.
        pytest.param(
            "09:00-20:00",
            "Europe/Warsaw",
            utc(2026, 1, 15, 7),
            utc(2026, 1, 15, 8),
            id="warsaw-winter-morning",
        ),
        pytest.param(
            "09:00-20:00",
            "Europe/Warsaw",
            utc(2026, 7, 15, 19),
            utc(2026, 7, 16, 7),
            id="warsaw-summer-evening",
        ),
        pytest.param(
            "09:00-20:00",
            "Europe/Warsaw",
            utc(2026, 7, 15, 17, 59),
            utc(2026, 7, 15, 17, 59),
            id="warsaw-summer-inside",
        ),
        pytest.param(
            "09:00-20:00",
            "Europe/Warsaw",
            utc(2026, 3, 28, 20),
            utc(2026, 3, 29, 7),
            id="warsaw-spring-forward-overnight",
        ),
        pytest.param(
            "09:00-20:00",
            "Europe/Warsaw",
            utc(2026, 10, 24, 20),
            utc(2026, 10, 25, 8),
            id="warsaw-fall-back-overnight",
        ),
        pytest.param(
            "02:30-04:00",
            "Europe/Warsaw",
            utc(2026, 3, 29, 0),
            utc(2026, 3, 29, 1),
            id="warsaw-start-in-gap-moves-to-03:00",
        ),
        pytest.param(
            "02:00-02:30",
            "Europe/Warsaw",
            utc(2026, 3, 29, 0),
            utc(2026, 3, 30, 0),
            id="warsaw-window-inside-gap-waits-a-day",
        ),
        pytest.param(
            "02:30-04:00",
            "Europe/Warsaw",
            utc(2026, 10, 24, 22),
            utc(2026, 10, 25, 0, 30),
            id="warsaw-repeated-start-first-time",
        ),
        pytest.param(
            "02:30-02:40",
            "Europe/Warsaw",
            utc(2026, 10, 25, 0, 45),
            utc(2026, 10, 25, 1, 30),
            id="warsaw-repeated-start-second-time",
        ),
        # America/New_York is UTC-5 in winter, UTC-4 in summer.
        pytest.param(
            "09:00-20:00",
            "America/New_York",
            utc(2026, 3, 8, 2),
            utc(2026, 3, 8, 13),
            id="new-york-spring-forward",
        ),
        pytest.param(
            "02:30-05:00",
            "America/New_York",
            utc(2026, 3, 8, 6),
            utc(2026, 3, 8, 7),
            id="new-york-start-in-gap",
        ),
        pytest.param(
            "09:00-20:00",
            "America/New_York",
            utc(2026, 11, 1, 4),
            utc(2026, 11, 1, 14),
            id="new-york-fall-back",
        ),
        pytest.param(
            "09:00-18:00",
            "Asia/Kolkata",
            utc(2026, 5, 1, 0),
            utc(2026, 5, 1, 3, 30),
            id="half-hour-offset",
        ),
    ],
)
def test_send_time(window: str | None, zone: str, due: datetime, expected: datetime) -> None:
    parsed = None if window is None else Window.model_validate(window)
    assert send_time(due, parsed, zone) == expected


def test_send_time_takes_an_aware_due_as_its_utc_instant() -> None:
    due = datetime(2026, 5, 1, 9, tzinfo=ZoneInfo("Europe/Warsaw"))  # 07:00 UTC
    assert send_time(due, Window.model_validate("08:00-17:00"), "UTC") == utc(2026, 5, 1, 8)


def test_naive_utc() -> None:
    assert naive_utc(utc(2026, 1, 1, 12)) == utc(2026, 1, 1, 12)
    aware = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Warsaw"))
    assert naive_utc(aware) == utc(2026, 3, 29, 1, 30)


ZONES = [
    "UTC",
    "Europe/Warsaw",
    "America/New_York",
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kolkata",
    "Pacific/Chatham",
]
minutes = st.integers(min_value=0, max_value=24 * 60 - 1).map(lambda m: time(m // 60, m % 60))
windows = st.tuples(minutes, minutes).filter(lambda pair: pair[0] != pair[1])


@given(
    due=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    bounds=windows,
    zone=st.sampled_from(ZONES),
)
def test_send_time_is_never_early_and_always_inside_the_window(
    due: datetime, bounds: tuple[time, time], zone: str
) -> None:
    window = Window(start=bounds[0], end=bounds[1])
    sent = send_time(due, window, zone)
    local = sent.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    assert sent >= due
    assert window.contains(local.time())
    assert sent - due < timedelta(days=2)
    due_local = due.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    if window.contains(due_local.time()):
        assert sent == due
