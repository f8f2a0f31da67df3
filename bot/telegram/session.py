"""aiogram's HTTP session, telling paced sends the moment their request is written.

A paced send's moment (bot/delivery/pacing.py) keeps it a window's distance from the send
`count` before it, as the platform counts them on arrival. What the pacer must know is when
each send really left: the middleware (bot/telegram/retry.py) sees the call before aiogram
builds the request and aiohttp takes a connection and writes it, and on a busy event loop
(ten jobs' SQL, a collection) that can be milliseconds later, unseen; the send after it then
lands inside the platform's window: a 429, and a retry_after lost for the whole bot.

So paced calls go through a second aiohttp ClientSession on the same connector, with a trace
that tells the call's Departure (bot/paced.py) as its body's first bytes are written. Other
calls (replies, updates) keep the plain session: a trace costs every request it is on.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import ClientSession, TraceConfig, TraceRequestChunkSentParams

from bot.paced import is_departing, written


async def _chunk_sent(
    session: ClientSession, context: SimpleNamespace, params: TraceRequestChunkSentParams
) -> None:
    # aiohttp calls this right before it writes the chunk, with nothing awaited in between.
    written()


def departure_trace() -> TraceConfig:
    trace = TraceConfig()
    trace.on_request_chunk_sent.append(_chunk_sent)
    trace.freeze()
    return trace


class PacedSession(AiohttpSession):
    """AiohttpSession whose paced calls (bot.paced.departing) are traced as they are written."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._traced: ClientSession | None = None
        self._trace = departure_trace()

    async def create_session(self) -> ClientSession:
        plain = await super().create_session()
        if not is_departing():
            return plain
        traced = self._traced
        if traced is None or traced.closed or traced.connector is not plain.connector:
            if traced is not None:  # the plain session was made anew, with a new connector
                await traced.close()
            traced = ClientSession(
                connector=plain.connector,
                connector_owner=False,
                headers=plain.headers,
                trace_configs=[self._trace],
            )
            self._traced = traced
        return traced

    async def close(self) -> None:
        if self._traced is not None:  # it does not own the connector: the plain one closes it
            await self._traced.close()
            self._traced = None
        await super().close()
