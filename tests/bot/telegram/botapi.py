"""A small local server that speaks the Telegram Bot API subset cxbot uses, for tests."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 123456
TOKEN = f"{BOT_ID}:TEST-token-for-the-local-bot-api"
# Telegram takes uploads of up to 50 MB from bots.
UPLOAD_LIMIT = 50 * 1024 * 1024


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    # When the server took the call in (after any `delay`), and what it answered.
    at: float = field(default_factory=time.time)
    status: int = 200


@dataclass
class Upload:
    """A file sent with sendPhoto / sendDocument (multipart), as the server received it."""

    method: str
    field: str  # photo | document
    chat_id: int
    filename: str
    data: bytes
    caption: str | None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Failure:
    method: str
    status: int
    body: dict[str, Any]
    times: int
    chat_id: int | None = None


@dataclass
class BotAPI:
    """Records every call; answers like Telegram; fails on demand (429, 403)."""

    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    url: str = ""
    # Like Telegram's flood control: above this many sendMessage per second (a moving
    # window), answer 429 with `flood_retry_after`. None: no limit.
    flood_limit: int | None = None
    flood_retry_after: int = 1
    # Seconds each sendMessage takes to answer (sends stay in flight that long).
    delay: float = 0.0
    # When set: each sendMessage, once recorded, is answered only after this event is set.
    held: asyncio.Event | None = None
    # getUpdates calls answered so far (polling mode).
    polls: int = 0
    _accepted: collections.deque[float] = field(default_factory=collections.deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- what tests ask -------------------------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.calls
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def delivered(self, chat_id: int | None = None) -> list[Call]:
        """The sendMessage calls the server accepted (200), in the order it took them."""
        return [
            c
            for c in self.calls
            if c.method == "sendMessage"
            and c.status == 200
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [p["text"] for p in self.sent("sendMessage", chat_id)]

    async def wait_for(self, method: str, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} calls, got {self.sent(method)}")
            await asyncio.sleep(0.02)
        return self.sent(method)

    def fail(
        self,
        method: str,
        status: int,
        body: dict[str, Any],
        *,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        self.failures.append(Failure(method, status, body, times, chat_id))

    def rate_limit(self, method: str = "sendMessage", retry_after: int = 1, times: int = 1) -> None:
        self.fail(
            method,
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
            times=times,
        )

    def block(self, chat_id: int) -> None:
        self.fail(
            "sendMessage",
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
            times=1_000_000,
            chat_id=chat_id,
        )

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling mode)."""
        self.updates.append(update)
        self._new_update.set()

    def next_update_id(self) -> int:
        return next(self._update_ids)

    # --- the server --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        files = {name: value for name, value in form.items() if isinstance(value, web.FileField)}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                continue
            text = str(value)
            try:
                params[name] = json.loads(text) if text[:1] in "[{" else text
            except json.JSONDecodeError:
                params[name] = text
        self._attach(method, params, files)
        call = Call(method, params)
        if method != "getUpdates":
            self.calls.append(call)
        if method == "sendMessage" and self.held is not None:
            await self.held.wait()
        if method == "sendMessage" and self.delay:
            await asyncio.sleep(self.delay)
            call.at = time.time()
        if method == "sendMessage" and self._flooded(call.at):
            call.status = 429
            return too_many_requests(self.flood_retry_after)
        for failure in self.failures:
            chat = params.get("chat_id")
            if (
                failure.method == method
                and failure.times > 0
                and (failure.chat_id is None or (chat is not None and int(chat) == failure.chat_id))
            ):
                failure.times -= 1
                call.status = failure.status
                return web.json_response(failure.body, status=failure.status)
        result = await self._result(method, params)
        if method == "sendMessage":
            params["_message_id"] = result["message_id"]  # lets a test tap this message
        return web.json_response({"ok": True, "result": result})

    def _flooded(self, now: float) -> bool:
        if self.flood_limit is None:
            return False
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        if len(self._accepted) >= self.flood_limit:
            return True
        self._accepted.append(now)
        return False

    def _attach(self, method: str, params: dict[str, Any], files: dict[str, web.FileField]) -> None:
        """Replace each "attach://name" parameter by the file uploaded under that name."""
        for name, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                part = files[value[9:]]
                data = part.file.read()
                params[name] = {"filename": part.filename, "size": len(data)}
                self.uploads.append(
                    Upload(
                        method,
                        name,
                        int(params["chat_id"]),
                        part.filename,
                        data,
                        params.get("caption"),
                    )
                )

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        now = int(time.time())
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "cxbot",
                "username": "cxbot_test_bot",
            }
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            message_id = int(params["message_id"]) if "message_id" in params else next(self._ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": now,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "cxbot"},
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        if method in ("sendPhoto", "sendDocument"):
            chat_id = int(params["chat_id"])
            sent: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": now,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "cxbot"},
            }
            file_id = f"file{sent['message_id']}"
            if method == "sendPhoto":
                size = {"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}
                sent["photo"] = [size]
            else:
                name = (params.get("document") or {}).get("filename")
                document = {"file_id": file_id, "file_unique_id": file_id, "file_name": name}
                sent["document"] = document
            if params.get("caption"):
                sent["caption"] = params["caption"]
            return sent
        if method == "getUpdates":
            # Like Telegram: updates before the offset are confirmed and forgotten; at most
            # `limit` (1-100, default 100) of the rest, oldest first.
            self.polls += 1
            offset = int(params.get("offset", 0))
            limit = max(1, min(100, int(params.get("limit", 100))))
            waited = min(float(params.get("timeout", 0)), 1.0)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and waited > 0:
                self._new_update.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), waited)
            return self.updates[:limit]
        # answerCallbackQuery, setWebhook, deleteWebhook, ...
        return True

    def app(self) -> web.Application:
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_post("/bot{token}/{method}", self._handle)
        return app


# --- updates shaped like Telegram's ------------------------------------------------------------
def too_many_requests(retry_after: int) -> web.Response:
    """Telegram's 429: ``retry_after`` seconds to wait, in its body's parameters."""
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    return web.json_response(body, status=429)


def user(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"Customer{user_id}"}
    if language_code is not None:
        found["language_code"] = language_code
    return found


def message_update(
    update_id: int,
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    chat = chat_id if chat_id is not None else user_id
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10_000 + update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": user(user_id, language_code),
            "text": text,
        },
    }


def callback_update(
    update_id: int,
    user_id: int,
    data: str,
    *,
    message_id: int,
    chat_id: int | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    chat = chat_id if chat_id is not None else user_id
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user(user_id, language_code),
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "cxbot"},
                "text": "survey",
            },
        },
    }
