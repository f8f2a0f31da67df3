"""One call to a help desk's REST API: JSON in and out, its 429s and failures as our errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.helpdesks.errors import RateLimited, WriteFailed

TIMEOUT = ClientTimeout(total=20)
# A 429 without Retry-After waits this long (Zendesk and Freshdesk always send one).
DEFAULT_RETRY_AFTER_S = 60.0
# 408 (timeout) and 409 (Zendesk: the ticket was updated at the same moment) pass with time.
TEMPORARY = (408, 409, 423, 425)


async def call(
    http: ClientSession,
    helpdesk: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    json: Any = None,
) -> Any:
    """The decoded JSON answer (None when empty); RateLimited on 429, WriteFailed otherwise."""
    try:
        async with http.request(
            method, url, headers=headers, json=json, timeout=TIMEOUT
        ) as response:
            if response.status == 429:
                raise RateLimited(helpdesk, _retry_after(response.headers.get("Retry-After")))
            text = await response.text()
            if response.status >= 400:
                reason = f"{helpdesk} answered {response.status} to {method} {url}: {text[:300]}"
                permanent = response.status < 500 and response.status not in TEMPORARY
                raise WriteFailed(reason, permanent=permanent)
            if not text.strip():
                return None
            try:
                return await response.json(content_type=None)
            except ValueError:
                return None
    except (TimeoutError, ClientError) as failure:
        raise WriteFailed(
            f"{helpdesk} did not answer {method} {url}: {failure!r}", permanent=False
        ) from failure


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER_S  # an HTTP date: rare from these APIs
    return max(seconds, 1.0)
