"""Errors of the admin commands, all rooted at AdminError (a BotError)."""

from __future__ import annotations

from bot.errors import BotError

EXAMPLE = "telegram:123456, slack:U012ABC, telegram:777@billing, slack:U9ABC@billing|support"


class AdminError(BotError):
    """Root of the admin commands' errors."""


class InvalidAdmins(AdminError, ValueError):
    """CXBOT_ADMINS holds an entry that cannot be read; ``entry`` is the one at fault.

    Raised while cxbot starts; the CLI prints it as one line and exits 2.
    """

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__(f"CXBOT_ADMINS: bad entry {entry!r}: {reason} (e.g. {EXAMPLE})")
