"""`cxbot worker`'s small HTTP server: /livez, /readyz, /healthz and /metrics, nothing else.

Off unless CXBOT_WORKER_HTTP_PORT is set (docker compose sets it for the worker's health check).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.health import add_health_routes
from bot.listen import listen
from bot.metrics.scrape import add_metrics_route
from bot.services import Services
from bot.serving import JsonErrorsRunner

log = logging.getLogger(__name__)


def worker_app(services: Services) -> web.Application:
    app = web.Application()
    add_health_routes(app, services.probes, lambda: {"process": "worker"})
    # The counters of this worker's sends and 429s; SQL's figures come from `cxbot run` alone,
    # so that several workers do not report the same backlog several times.
    add_metrics_route(app, services.settings.metrics_token, services.probes, None)
    return app


@asynccontextmanager
async def worker_http(services: Services) -> AsyncIterator[str | None]:
    """Serve the worker's app while the block runs; yields its URL (None when off)."""
    settings = services.settings
    if settings.worker_http_port is None:
        yield None
        return
    runner = JsonErrorsRunner(worker_app(services), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http_host, settings.worker_http_port)
        await listen(
            site,
            settings.http_host,
            settings.worker_http_port,
            "CXBOT_HTTP_HOST, CXBOT_WORKER_HTTP_PORT",
        )
        port = runner.addresses[0][1]
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
        log.info("cxbot worker: health and metrics on %s:%s", settings.http_host, port)
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
