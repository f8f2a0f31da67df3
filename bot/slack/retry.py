"""Honours Slack's 429 Retry-After, and tells delivery so that every process holds back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# Told of every 429: (no address: Slack's limits are per method and workspace; seconds).
RetryAfterListener = Callable[[str | None, float], Awaitable[None]]


def retry_after_seconds(response: HttpResponse) -> float:
    """The Retry-After header in seconds (1 when Slack leaves it out, as it rarely does)."""
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) else value
            try:
                return float(first)
            except ValueError:
                break
    return 1.0


class SharedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (wait Retry-After, send again), with ``listeners`` told first."""

    def __init__(self, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.listeners: list[RetryAfterListener] = []

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            seconds = retry_after_seconds(response)
            for listener in list(self.listeners):
                try:
                    await listener(None, seconds)
                except Exception:  # a pause not shared must not lose the request itself
                    log.exception("retry-after listener %r failed", listener)
        allowed: bool = await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )
        return allowed


def shared_rate_limit_handler(client: AsyncWebClient) -> SharedRateLimitRetryHandler | None:
    """The SharedRateLimitRetryHandler installed on ``client``, if any."""
    for handler in client.retry_handlers:
        if isinstance(handler, SharedRateLimitRetryHandler):
            return handler
    return None
