"""The callback data our inline buttons carry (at most 64 bytes, Telegram's limit)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

SKIP_VALUE = "-"


class SurveyButton(CallbackData, prefix="cx"):
    """``cx:<invitation>:<question>:<value>``; ``value`` is ``-`` for Skip."""

    invitation: int
    question: str
    value: str
