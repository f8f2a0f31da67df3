"""Digests: a chat subscribed to the report, posted on schedule in the reporting zone."""

from bot.digests.commands import DigestCommands
from bot.digests.errors import DigestNotPosted
from bot.digests.posting import DigestPoster
from bot.digests.service import Digests

__all__ = ["DigestCommands", "DigestNotPosted", "DigestPoster", "Digests"]
