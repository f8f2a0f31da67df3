"""A local stand-in for the Zendesk, Freshdesk and Chatwoot REST APIs cxbot writes to.

It records every request (method, path, query, headers, JSON body), keeps what was written
(notes, tags, fields, custom attributes) so that reads see it, and can be told to answer the
next matching call with an error, before or after doing what it asked (an answer lost on the
way back).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    at: float


@dataclass
class Failure:
    method: str
    suffix: str
    status: int
    headers: dict[str, str]
    after: bool  # do the work, then fail the answer


@dataclass
class DeskAPI:
    calls: list[Call] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # case -> note texts
    tags: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # case -> last custom field(s)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # Chatwoot's
    failures: list[Failure] = field(default_factory=list)
    url: str = ""

    def fail_next(
        self,
        method: str,
        suffix: str,
        status: int,
        headers: dict[str, str] | None = None,
        *,
        after: bool = False,
    ) -> None:
        self.failures.append(Failure(method, suffix, status, headers or {}, after))

    def sent(self, method: str | None = None, suffix: str = "") -> list[Call]:
        return [
            c
            for c in self.calls
            if (method is None or c.method == method) and c.path.endswith(suffix)
        ]

    async def wait_for(self, method: str, suffix: str, count: int = 1) -> list[Call]:
        for _ in range(400):
            found = self.sent(method, suffix)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.025)
        raise AssertionError(f"{count} x {method} ...{suffix} never came: {self.calls}")

    def _failure(self, request: web.Request) -> Failure | None:
        for failure in self.failures:
            if failure.method == request.method and request.path.endswith(failure.suffix):
                self.failures.remove(failure)
                return failure
        return None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        # Zendesk
        r.add_put(r"/api/v2/tickets/{id:\d+}.json", self.zendesk_update)
        r.add_get(r"/api/v2/tickets/{id:\d+}/comments.json", self.zendesk_comments)
        # Freshdesk
        r.add_post(r"/api/v2/tickets/{id:\d+}/notes", self.freshdesk_note)
        r.add_put(r"/api/v2/tickets/{id:\d+}", self.freshdesk_update)
        r.add_get(r"/api/v2/tickets/{id:\d+}/conversations", self.freshdesk_conversations)
        # Chatwoot
        base = r"/api/v1/accounts/{account:\d+}/conversations/{id:\d+}"
        r.add_post(base + "/messages", self.chatwoot_message)
        r.add_get(base + "/messages", self.chatwoot_messages)
        r.add_get(base, self.chatwoot_conversation)
        r.add_post(base + "/custom_attributes", self.chatwoot_attributes)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.calls.append(
            Call(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
                asyncio.get_running_loop().time(),
            )
        )
        failure = self._failure(request)
        if failure is not None and not failure.after:
            return web.json_response(
                {"error": "failed"}, status=failure.status, headers=failure.headers
            )
        response: web.StreamResponse = await handler(request)
        if failure is not None:
            return web.json_response(
                {"error": "lost"}, status=failure.status, headers=failure.headers
            )
        return response

    # --- Zendesk -------------------------------------------------------------------------------
    async def zendesk_update(self, request: web.Request) -> web.Response:
        case, ticket = request.match_info["id"], (await request.json())["ticket"]
        if "comment" in ticket:
            self.notes.setdefault(case, []).append(ticket["comment"]["body"])
        self.tags.setdefault(case, []).extend(ticket.get("additional_tags", []))
        if "custom_fields" in ticket:
            self.fields[case] = ticket["custom_fields"]
        return web.json_response({"ticket": {"id": int(case)}})

    async def zendesk_comments(self, request: web.Request) -> web.Response:
        notes = self.notes.get(request.match_info["id"], [])
        return web.json_response({"comments": [{"body": n, "public": False} for n in notes]})

    # --- Freshdesk -----------------------------------------------------------------------------
    async def freshdesk_note(self, request: web.Request) -> web.Response:
        case = request.match_info["id"]
        self.notes.setdefault(case, []).append((await request.json())["body"])
        return web.json_response({"id": len(self.notes[case]), "private": True}, status=201)

    async def freshdesk_update(self, request: web.Request) -> web.Response:
        self.fields[request.match_info["id"]] = (await request.json())["custom_fields"]
        return web.json_response({"id": int(request.match_info["id"])})

    async def freshdesk_conversations(self, request: web.Request) -> web.Response:
        notes = self.notes.get(request.match_info["id"], [])
        return web.json_response([{"body": n, "body_text": n, "private": True} for n in notes])

    # --- Chatwoot ------------------------------------------------------------------------------
    async def chatwoot_message(self, request: web.Request) -> web.Response:
        case = request.match_info["id"]
        self.notes.setdefault(case, []).append((await request.json())["content"])
        return web.json_response({"id": len(self.notes[case]), "private": True})

    async def chatwoot_messages(self, request: web.Request) -> web.Response:
        notes = self.notes.get(request.match_info["id"], [])
        return web.json_response({"payload": [{"content": n, "private": True} for n in notes]})

    async def chatwoot_conversation(self, request: web.Request) -> web.Response:
        case = request.match_info["id"]
        return web.json_response(
            {"id": int(case), "custom_attributes": self.attributes.get(case, {})}
        )

    async def chatwoot_attributes(self, request: web.Request) -> web.Response:
        case = request.match_info["id"]
        self.attributes[case] = dict((await request.json())["custom_attributes"])
        return web.json_response({"custom_attributes": self.attributes[case]})
