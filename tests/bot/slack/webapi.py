"""A small local server that speaks the Slack Web API subset cxbot uses, for tests."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"
BOT_USER = "UBOT0001"
UPLOAD_LIMIT = 200 * 1024 * 1024


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.time)  # when the server took the call in


@dataclass
class Failure:
    method: str
    error: str
    times: int
    status: int = 200
    retry_after: int | None = None


@dataclass
class SlackUpload:
    """A file uploaded the way files_upload_v2 does: URL asked, bytes posted, upload completed."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    channel: str | None = None
    title: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class SlackAPI:
    """Records every call; answers like Slack; fails on demand (429, error codes)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Channels (C.../G...) whose members are known (ephemerals go to members only), and
    # channels the bot is not in (it cannot post there). Any other channel takes anything.
    channels: dict[str, set[str]] = field(default_factory=dict)
    outside: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    uploads: dict[str, SlackUpload] = field(default_factory=dict)
    url: str = ""
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _completed: list[str] = field(default_factory=list)
    _held: dict[str, asyncio.Event] = field(default_factory=dict)

    def add_user(self, user_id: str, email: str | None = None, locale: str = "en-US") -> None:
        self.users[user_id] = {"id": user_id, "locale": locale, "profile": {"email": email}}

    def add_channel(self, channel_id: str, *members: str) -> None:
        """A channel the bot is in, with these people (from any organisation) in it too."""
        self.channels[channel_id] = {BOT_USER, *members}

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def settings(self) -> dict[str, str]:
        """Settings for cxbot's Slack app against this server."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.base_url,
        }

    def files(self) -> list[SlackUpload]:
        """The completed uploads, in the order they were completed."""
        done = [upload for upload in self.uploads.values() if upload.completed]
        return sorted(done, key=lambda upload: self._completed.index(upload.file_id))

    def sent(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} calls, got {self.sent(method)}")
            await asyncio.sleep(0.02)
        return self.sent(method)

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        self.failures.append(Failure(method, error, times))

    def hold(self, method: str) -> asyncio.Event:
        """Calls of ``method`` wait (unanswered) until the returned event is set."""
        gate = self._held[method] = asyncio.Event()
        return gate

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.failures.append(Failure(method, "ratelimited", times, 429, retry_after))

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        self.calls.append(Call(method, params))
        if (gate := self._held.get(method)) is not None:
            await gate.wait()
        for failure in self.failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                return web.json_response(
                    {"ok": False, "error": failure.error}, status=failure.status, headers=headers
                )
        result = self._result(method, params)
        return web.json_response({"ok": "error" not in result, **result})

    def _result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"user_id": BOT_USER, "team_id": "T0001", "bot_id": "B0001"}
        if method == "users.lookupByEmail":
            for user in self.users.values():
                if user["profile"]["email"] == params.get("email"):
                    return {"user": user}
            return {"error": "users_not_found"}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"user": user} if user else {"error": "user_not_found"}
        if method == "conversations.open":
            user_id = str(params["users"])
            if user_id not in self.users:
                return {"error": "user_not_found"}
            return {"channel": {"id": dm_channel(user_id)}}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = str(params["channel"])
            members = self.channels.get(channel)
            if channel in self.outside:
                return {"error": "not_in_channel"}
            ephemeral = method == "chat.postEphemeral"
            if ephemeral and members is not None and params.get("user") not in members:
                return {"error": "user_not_in_channel"}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            params["_ts"] = ts
            return {"channel": params["channel"], "ts": ts, "message_ts": ts}
        if method == "views.open":
            if not params.get("trigger_id"):
                return {"error": "invalid_trigger_id"}
            view = params["view"]
            opened = json.loads(view) if isinstance(view, str) else view
            return {"view": {"id": f"V{next(self._ts):08d}", **opened}}
        if method == "chat.update":
            return {"channel": params["channel"], "ts": params["ts"]}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            self.uploads[file_id] = SlackUpload(
                file_id, str(params["filename"]), int(params["length"])
            )
            return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            described = params["files"]
            files = json.loads(described) if isinstance(described, str) else described
            done = []
            for item in files:
                upload = self.uploads.get(str(item["id"]))
                if upload is None or upload.data is None:
                    return {"error": "file_not_found"}
                upload.channel = params.get("channel_id")
                upload.title = item.get("title")
                upload.initial_comment = params.get("initial_comment")
                upload.completed = True
                self._completed.append(upload.file_id)
                done.append({"id": upload.file_id, "title": upload.title, "name": upload.filename})
            return {"files": done}
        return {"error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the file's bytes as the request body, like files.slack.com."""
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload.data = await request.read()
        return web.Response(text=f"OK - {len(upload.data)}")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        return app


def dm_channel(user_id: str) -> str:
    return "D" + hashlib.sha1(user_id.encode()).hexdigest()[:8].upper()


def signed_headers(
    body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def block_actions(
    user_id: str, message: dict[str, Any], button_value: str, *, team: str = "T0001"
) -> dict[str, Any]:
    """The interaction Slack sends when ``user_id`` taps the button whose value is given
    (``message`` as the Web API server recorded its chat.postMessage; in a thread if it was;
    ``team``: the tapper's organisation, another one for a Slack Connect user)."""
    action = next(
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["value"] == button_value
    )
    thread = {"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}
    return {
        "type": "block_actions",
        "user": {"id": user_id, "team_id": team},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "container": {
            "type": "message",
            "channel_id": message["channel"],
            "message_ts": message["_ts"],
            **thread,
        },
        "channel": {"id": message["channel"]},
        "message": {"ts": message["_ts"], "blocks": message["blocks"], **thread},
        "actions": [
            {
                "type": "button",
                "action_id": action["action_id"],
                "block_id": "b1",
                "value": action["value"],
                "action_ts": str(time.time()),
            }
        ],
    }


def view_submission(user_id: str, view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The interaction Slack sends when ``user_id`` submits the modal that views.open opened
    (``view`` as the server answered it), ``values`` typed by block_id."""
    state = {
        block["block_id"]: {
            block["element"]["action_id"]: {
                "type": block["element"]["type"],
                "value": values.get(block["block_id"]),
            }
        }
        for block in view["blocks"]
        if block["type"] == "input"
    }
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user_id, "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": "4.5.6",
        "view": {**view, "state": {"values": state}, "hash": "h1"},
    }


def message_event(
    user_id: str, text: str, event_id: str, *, channel: str | None = None
) -> dict[str, Any]:
    """A message event: in the user's DM with the app, or in ``channel`` if given."""
    return {
        "type": "event_callback",
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel_type": "im" if channel is None else "channel",
            "channel": dm_channel(user_id) if channel is None else channel,
            "user": user_id,
            "text": text,
            "ts": f"{time.time():.6f}",
        },
    }


def as_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload)
