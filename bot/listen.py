"""Starting an HTTP server on its address, with a clear error when the address is not free."""

from __future__ import annotations

from aiohttp import web

from bot.errors import CannotListen


async def listen(site: web.TCPSite, host: str, port: int, settings: str) -> None:
    """Start ``site``; a bind that fails is a ``CannotListen`` naming the ``settings`` to change."""
    try:
        await site.start()
    except OSError as error:
        raise CannotListen(host, port, settings, error) from error
