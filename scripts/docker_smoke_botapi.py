"""The tests' fake Telegram Bot API, for scripts/docker-smoke.sh's containers to talk to.

``python scripts/docker_smoke_botapi.py HOST PORT`` serves ``tests/bot/telegram/botapi.py``'s
``BotAPI`` on HOST:PORT (the host's address on the docker bridge, where the containers reach it)
until it is stopped. Besides the Bot API: ``GET /_smoke/calls`` lists every call it recorded
(method, params, status), and ``POST /_smoke/tap`` with ``{"chat": ID, "text": "9"}`` taps the
button of that text in the last message sent to that chat, as the customer would (the bot gets
a ``callback_query`` update at its next ``getUpdates``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from tests.bot.telegram.botapi import BotAPI, callback_update


def button_data(markup: dict[str, Any], text: str) -> str | None:
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button.get("text") == text:
                found: str = button["callback_data"]
                return found
    return None


def smoke_routes(api: BotAPI) -> list[web.RouteDef]:
    async def calls(_request: web.Request) -> web.Response:
        found = [{"method": c.method, "params": c.params, "status": c.status} for c in api.calls]
        return web.json_response(found)

    async def tap(request: web.Request) -> web.Response:
        wanted = await request.json()
        chat, text = int(wanted["chat"]), str(wanted["text"])
        for sent in reversed(api.sent("sendMessage", chat)):
            data = button_data(sent.get("reply_markup") or {}, text)
            if data is not None:
                update = callback_update(
                    api.next_update_id(), chat, data, message_id=sent["_message_id"]
                )
                api.push(update)
                return web.json_response({"pushed": update["update_id"], "data": data})
        return web.json_response({"error": f"no button {text!r} sent to {chat}"}, status=404)

    return [web.get("/_smoke/calls", calls), web.post("/_smoke/tap", tap)]


async def serve(host: str, port: int) -> None:
    api = BotAPI()
    app = api.app()
    app.add_routes(smoke_routes(api))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"listening {host}:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
