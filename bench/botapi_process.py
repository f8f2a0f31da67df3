"""The fake Telegram Bot API in a process of its own, so that its CPU is not charged to the bots.

Real Telegram's CPU is not ours: with the fake server in the bots' process, every Bot API call
also costs the bot the server's request handling and JSON, and whatever stalls that process's
event loop stamps arrivals late and bunches them up. ``python bench/botapi_process.py
[--flood-limit N] [--retry-after S]`` serves ``tests/bot/telegram/botapi.py``'s ``BotAPI`` on
127.0.0.1, port 0, prints ``listening <port>`` and serves until its stdin closes. With
``--flood-limit`` it answers 429 above N message-sending or editing calls (sendMessage,
editMessageText, ...) in any one second, counted at arrival: Telegram's per-bot limit as a
strict moving window. Besides the Bot API it answers ``GET /_bench/calls`` with every call it
recorded (``method``, ``params``, ``at``, ``status``; ``?since=N``: from the N-th on) and
``POST /_bench/updates`` with a JSON list of updates to queue for getUpdates. ``RemoteBotAPI``
starts and reads one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as `python bench/botapi_process.py` from the repository: the fake Bot API lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, web

from tests.bot.telegram.botapi import BotAPI, too_many_requests
from tests.bot.telegram.botapi import Call as RecordedCall

READY = "listening"
SCRIPT = str(Path(__file__).resolve())
# Besides sendMessage (which BotAPI itself counts), the calls that send or change a message.
EDITS = frozenset(
    {"editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument", "deleteMessage"}
)
COUNTED = EDITS | {"sendMessage"}


class WindowedBotAPI(BotAPI):
    """BotAPI whose flood window counts edits and uploads too, not only sendMessage."""

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in EDITS and self.flood_limit is not None:
            form = await request.post()  # cached: BotAPI._handle reads it again
            at = time.time()
            if self._flooded(at):
                params = {k: str(v) for k, v in form.items() if isinstance(v, str)}
                self.calls.append(RecordedCall(method, params, at=at, status=429))
                return too_many_requests(self.flood_retry_after)
        return await super()._handle(request)


def bench_routes(api: BotAPI) -> list[web.RouteDef]:
    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        found = [
            {"method": c.method, "params": c.params, "at": c.at, "status": c.status}
            for c in api.calls[since:]
        ]
        return web.json_response(found)

    async def updates(request: web.Request) -> web.Response:
        for update in await request.json():
            api.push(update)
        return web.json_response({"ok": True})

    return [web.get("/_bench/calls", calls), web.post("/_bench/updates", updates)]


async def serve(flood_limit: int | None, retry_after: int, nice: int) -> None:
    if nice:
        # Real Telegram's clock is not on our CPU: on a loaded machine a server that waits
        # its turn for the CPU stamps arrivals late and bunches them up (429s no platform
        # would give). A higher priority lets it stamp them as they come.
        try:
            os.nice(nice)
        except PermissionError:
            print(f"warning: could not change the server's priority by {nice}", file=sys.stderr)
    api = WindowedBotAPI()
    api.flood_limit = flood_limit
    api.flood_retry_after = retry_after
    app = api.app()
    app.add_routes(bench_routes(api))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    # Nor does Telegram's clock stop for our collector: the record of every call grows to tens
    # of thousands of objects, and a full collection of them stalls this loop for tens of
    # milliseconds, stamping the calls that arrive meanwhile late, bunched after the earlier
    # ones (seen: 429s for messages that left a window apart). A bench server lives minutes.
    gc.freeze()
    gc.disable()
    print(f"{READY} {runner.addresses[0][1]}", flush=True)
    # Serve until the parent closes our stdin (it exits, or is done with us).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float = 0.0


class RemoteBotAPI:
    """The parent's side: the server's URL, what it recorded, and updates to queue."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def calls(self, client: ClientSession | None = None, since: int = 0) -> list[Call]:
        """What the server recorded, from the ``since``-th call on."""
        if client is None:
            async with ClientSession() as own:
                return await self.calls(own, since)
        async with client.get(f"{self.url}/_bench/calls", params={"since": since}) as response:
            response.raise_for_status()
            return [Call(**found) for found in json.loads(await response.read())]

    async def sent(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in await self.calls()
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    async def push(self, client: ClientSession, updates: list[dict[str, Any]]) -> None:
        async with client.post(f"{self.url}/_bench/updates", json=updates) as response:
            response.raise_for_status()


@contextlib.asynccontextmanager
async def botapi_process(
    flood_limit: int | None = None, retry_after: int = 1, nice: int = 0
) -> AsyncIterator[RemoteBotAPI]:
    """Start the server process (its priority changed by ``nice``), yield its client, stop it."""
    options = ["--retry-after", str(retry_after), "--nice", str(nice)]
    if flood_limit is not None:
        options += ["--flood-limit", str(flood_limit)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        *options,
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-limit", type=int, help="sends and edits a second before 429")
    parser.add_argument("--retry-after", type=int, default=1, help="the 429s' retry_after")
    parser.add_argument("--nice", type=int, default=0, help="change the priority by this")
    return parser.parse_args()


if __name__ == "__main__":
    options = parse_args()
    asyncio.run(serve(options.flood_limit, options.retry_after, options.nice))
