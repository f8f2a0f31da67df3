"""The callback data our inline buttons carry (at most 64 bytes, Telegram's limit)."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from storage.tables import MAX_ID

SKIP_VALUE = "-"


class SurveyButton(CallbackData, prefix="cx"):
    """``cx:<invitation>:<question>:<value>``; ``value`` is ``-`` for Skip."""

    # Bounded as the database's ids are: a larger one would fail the query, for ever.
    invitation: Annotated[int, Field(ge=1, le=MAX_ID)]
    question: str
    value: str
