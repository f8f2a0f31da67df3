"""Errors of delivery: a bad rate setting, a worker without PostgreSQL, a send put off."""

from __future__ import annotations

from datetime import datetime

from bot.errors import BotError


class DeliveryError(BotError):
    """Root of the delivery package's errors."""


class InvalidRate(DeliveryError):
    """A rate-limit setting that `limits` cannot read (the message names the setting)."""

    def __init__(self, setting: str, value: str) -> None:
        super().__init__(
            f"{setting}={value!r} is not a rate: write it like 30/second, 1/second or 20/minute"
        )
        self.setting = setting
        self.value = value


class WorkerNeedsPostgres(DeliveryError):
    """`cxbot worker` was started against SQLite, where only `cxbot run` can send."""

    def __init__(self) -> None:
        super().__init__(
            "cxbot worker needs PostgreSQL (DATABASE_URL); with SQLite, `cxbot run` sends "
            "in-process"
        )


class Postponed(DeliveryError):
    """A job gives its worker slot back until ``at`` (UTC, aware): a rate limit is spent."""

    def __init__(self, at: datetime, bucket: str) -> None:
        super().__init__(f"{bucket} is busy until {at.isoformat()}")
        self.at = at
        self.bucket = bucket
