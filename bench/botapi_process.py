"""The fake Telegram Bot API in a process of its own, so that its CPU is not charged to the bots.

Real Telegram's CPU is not ours: with the fake server in the bots' process, every Bot API call
also costs the bot the server's request handling and JSON. ``python bench/botapi_process.py``
serves ``tests/bot/telegram/botapi.py``'s ``BotAPI`` on 127.0.0.1, port 0, prints
``listening <port>`` and serves until its stdin closes. Besides the Bot API it answers
``GET /_bench/calls`` with every call it recorded (``method``, ``params``, ``status``), so the
bench can check what the customers were sent. ``RemoteBotAPI`` starts and reads one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as `python bench/botapi_process.py` from the repository: the fake Bot API lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, web

from tests.bot.telegram.botapi import BotAPI

READY = "listening"
SCRIPT = str(Path(__file__).resolve())


def calls_route(api: BotAPI) -> web.RouteDef:
    async def calls(_request: web.Request) -> web.Response:
        found = [{"method": c.method, "params": c.params, "status": c.status} for c in api.calls]
        return web.json_response(found)

    return web.get("/_bench/calls", calls)


async def serve() -> None:
    api = BotAPI()
    app = api.app()
    app.add_routes([calls_route(api)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"{READY} {runner.addresses[0][1]}", flush=True)
    # Serve until the parent closes our stdin (it exits, or is done with us).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int


class RemoteBotAPI:
    """The parent's side: the server's URL, and what it recorded."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def calls(self) -> list[Call]:
        async with ClientSession() as client, client.get(f"{self.url}/_bench/calls") as response:
            response.raise_for_status()
            return [Call(**found) for found in json.loads(await response.read())]

    async def sent(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in await self.calls()
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]


@contextlib.asynccontextmanager
async def botapi_process() -> AsyncIterator[RemoteBotAPI]:
    """Start the server process, yield its client, stop it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30.0)).decode()
        if not line.startswith(READY):
            raise RuntimeError(f"the Bot API process said {line!r}")
        yield RemoteBotAPI(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10.0)
        except TimeoutError:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(serve())
