"""Telegram's chat and user ids, checked where one comes in: the API, events, the CLI, settings.

Outside bot/telegram/ so that settings and admin access can check ids without importing aiogram.
"""

from __future__ import annotations

import re

# The Bot API documents Chat.id and User.id as having "at most 52 significant bits": a user's
# id is positive, a group's negative, a supergroup's or channel's -100 followed by its number.
LARGEST = 2**52 - 1
_NUMBER = re.compile(r"-?[0-9]{1,32}")  # ASCII only: int() also reads "1_001" and other scripts


def telegram_id(text: str) -> int:
    """The Telegram id written in ``text``; ValueError, saying why, when it cannot be one
    (the message reads after the field's name: "recipient must be ...")."""
    value = text.strip()
    shown = value if len(value) <= 40 else value[:40] + "..."
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"must be a Telegram id, a whole number such as 123456789, not {shown!r}")
    number = int(value)
    if number == 0 or abs(number) > LARGEST:
        raise ValueError(
            f"{shown} is not a Telegram id: Telegram's ids have at most 52 significant bits "
            f"(1 to {LARGEST}, negative for groups)"
        )
    return number
