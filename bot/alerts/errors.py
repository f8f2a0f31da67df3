"""Errors of the detractor alerts, all rooted at AlertError (a BotError)."""

from __future__ import annotations

from bot.errors import BotError


class AlertError(BotError):
    """Root of the alert errors."""


class AlertsNotConfigured(AlertError):
    """An alert chat is set for a channel that is off, or the chat id cannot be used."""


class AlertNotDelivered(AlertError):
    """A channel could not post or edit an alert; ``reason`` says what the platform said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
