"""Errors raised by the bot layer; every one derives from BotError."""

from __future__ import annotations

import os


class BotError(Exception):
    """Root of the bot layer's errors."""


class DeliveryFailed(BotError):
    """A channel could not deliver a message.

    ``permanent`` failures (the customer blocked the bot, the user does not exist) mark the
    invitation failed with ``reason``; others may be retried later.
    """

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class InvalidRecipient(BotError):
    """The recipient given for an invitation cannot be used on that channel; ``field`` is the
    one at fault (``recipient``, or ``user``)."""

    def __init__(self, message: str, field: str = "recipient") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ChannelNotConfigured(BotError):
    """An invitation names a channel that has no credentials configured."""

    def __init__(self, channel: str, known: list[str], hint: str) -> None:
        super().__init__(f"channel '{channel}' is not available: {hint}")
        self.channel = channel
        self.known = known
        self.hint = hint


class CannotListen(BotError):
    """The HTTP server could not bind its address (the port is taken, or the host is not ours)."""

    def __init__(self, host: str, port: int, settings: str, error: OSError) -> None:
        reason = os.strerror(error.errno) if error.errno else str(error)
        super().__init__(f"cannot listen on {host}:{port} ({settings}): {reason}")


class TelegramUnavailable(BotError):
    """The Bot API refused or did not answer the call that starts the Telegram channel
    (setWebhook, or deleteWebhook before polling): a wrong token, URL or network."""
