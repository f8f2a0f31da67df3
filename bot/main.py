"""Runs the whole service: HTTP app, channels and delivery, until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from bot.heap import freeze_startup_objects
from bot.http import build_app
from bot.listen import listen
from bot.services import Services, open_services
from bot.serving import JsonErrorsRunner
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    url: str
    services: Services


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Server]:
    """cxbot up and serving; port 0 in the settings picks a free port (see ``Server.url``)."""
    services = await open_services(settings)
    runner = JsonErrorsRunner(build_app(services), handle_signals=False)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await listen(
            site, settings.http_host, settings.http_port, "CXBOT_HTTP_HOST, CXBOT_HTTP_PORT"
        )
        port = runner.addresses[0][1]
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
        if services.telegram is not None:
            await services.telegram.start()
        if services.slack is not None:
            await services.slack.start()
        services.delivery.start()
        if services.digests is not None:
            services.digests.start()  # every process looks; one posts each slot
        services.triggers.start()  # takes up edits of the rules file as they happen
        log.info("cxbot listening on %s:%s", settings.http_host, port)
        yield Server(f"http://{host}:{port}", services)
    finally:
        await runner.cleanup()  # first: a request still being answered may queue a send
        await services.close()  # stops delivery (its sends under way finish) first


async def serve(settings: Settings) -> None:
    """`cxbot run`: serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(settings):
        freeze_startup_objects()
        await stop.wait()
    log.info("cxbot stopped")
