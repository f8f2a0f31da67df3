"""Liveness and readiness: `/livez`, `/readyz` and `/healthz`, which name a store that is down
(and the queue, where this process sends and its worker does not run).

The answers are unauthenticated, so they say *which* store is down and never where it is: hosts,
user names and database names go to the log (once per outage), not to whoever asks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from storage.errors import StorageError

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # under the container health checks' timeout (4-5 s), both checks at once

Check = Callable[[], Awaitable[None]]


class Stopped(Exception):
    """Raised by a check whose part of this process is not running (state ``stopped``)."""


@dataclass
class Probes:
    """What cxbot needs to be ready, each with a check that raises when it is not: the stores
    (StorageError: unreachable) and, where this process sends, the queue's worker (Stopped)."""

    checks: dict[str, Check]
    timeout: float = CHECK_SECONDS
    _down: set[str] = field(default_factory=set)

    async def run(self) -> dict[str, str]:
        """Each one's state: ``ok``, ``unreachable``, ``timeout`` or ``stopped``."""
        names = list(self.checks)
        found = await asyncio.gather(*(self._one(name) for name in names))
        return dict(zip(names, found, strict=True))

    async def _one(self, name: str) -> str:
        try:
            await asyncio.wait_for(self.checks[name](), self.timeout)
        except TimeoutError:
            return self._failed(name, "timeout", f"no answer within {self.timeout:g} s")
        except StorageError as failure:
            return self._failed(name, "unreachable", str(failure))
        except Stopped as failure:
            return self._failed(name, "stopped", str(failure))
        if name in self._down:
            self._down.discard(name)
            log.info("%s is ok again", name)
        return "ok"

    def _failed(self, name: str, state: str, detail: str) -> str:
        if name not in self._down:  # once per outage, not once per probe
            self._down.add(name)
            log.warning("%s is down (%s): %s", name, state, detail)
        return state


def add_health_routes(
    app: web.Application, probes: Probes, about: Callable[[], dict[str, Any]] | None = None
) -> None:
    """``/livez`` (the process answers), ``/readyz`` (its stores answer too) and ``/healthz``
    (readiness with ``about()`` added: what this installation runs)."""

    async def readiness(extra: dict[str, Any]) -> web.Response:
        stores = await probes.run()
        ready = all(state == "ok" for state in stores.values())
        body = {**stores, **extra, "status": "ok" if ready else "unavailable"}
        return web.json_response(body, status=200 if ready else 503)

    async def livez(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        return await readiness({})

    async def healthz(request: web.Request) -> web.Response:
        return await readiness(about() if about is not None else {})

    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/healthz", healthz)
