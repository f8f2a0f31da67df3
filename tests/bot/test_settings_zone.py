"""CXBOT_REPORT_TIMEZONE: an IANA name, UTC when unset, a clear error when mistyped."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_report_timezone_defaults_to_utc_and_takes_an_iana_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CXBOT_REPORT_TIMEZONE", raising=False)
    assert Settings(_env_file=None).report_timezone == "UTC"  # type: ignore[call-arg]
    monkeypatch.setenv("CXBOT_REPORT_TIMEZONE", "Europe/Warsaw")
    assert Settings(_env_file=None).report_timezone == "Europe/Warsaw"  # type: ignore[call-arg]


def test_a_mistyped_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXBOT_REPORT_TIMEZONE", "Europe/Warszawa")
    with pytest.raises(ValidationError, match="is not a time zone"):
        Settings(_env_file=None)  # type: ignore[call-arg]
