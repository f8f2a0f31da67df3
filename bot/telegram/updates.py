"""What a webhook body must be before aiogram takes it: checked JSON holding a Telegram Update."""

from __future__ import annotations

from aiogram.types import Update
from pydantic import ValidationError

from bot.bodies import InvalidBody, parse_json


def check_update(raw: bytes, _content_type: str) -> None:
    """InvalidBody (400) unless `raw` is an Update; aiogram would fail on it with a 500, and
    Telegram would send it again and again."""
    body = parse_json(raw)
    try:
        Update.model_validate(body)
    except ValidationError as failure:
        first = failure.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidBody(
            f"not a Telegram update: {where}: {first['msg']}", "invalid_update"
        ) from None
