"""The runner of cxbot's aiohttp apps: requests aiohttp's parser refuses answered in JSON too.

A request whose head aiohttp cannot read (a duplicate Content-Type or Host, a header line too
long, a bad method) never reaches an app or its middlewares: aiohttp's protocol answers it with
a plain-text 400 and logs it at ERROR with a traceback, so that anyone who reaches the public
port could fill the log. Here the protocol's error hook answers it in the JSON error shape and
logs one WARNING line (DEBUG for a first line that is not HTTP at all: TLS or a port scan).

aiohttp offers no public way to give an AppRunner another protocol: `_make_server`, the
server's `_loop` and `_kwargs` are its internals (3.14). tests/bot/inputs/test_malformed_heads.py
fails if they change.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from bot.bodies import error, error_code

log = logging.getLogger(__name__)


class JsonErrorsProtocol(RequestHandler):
    """aiohttp's protocol, answering a request it could not parse in the JSON error shape."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        refused = isinstance(exc, HttpProcessingError) and 400 <= status < 500
        if not refused or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        assert isinstance(exc, HttpProcessingError)
        lines = str(exc.message).splitlines()
        why = lines[0][:200] if lines else HTTPStatus(status).phrase
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.WARNING
        log.log(
            level, "refused a request from %s that aiohttp could not read: %s", request.remote, why
        )
        code = error_code(status, HTTPStatus(status).phrase)
        response = error(status, code, f"cxbot could not read the request: {why}")
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorsProtocol(self, loop=self._loop, **self._kwargs)


class JsonErrorsRunner(web.AppRunner):
    """web.AppRunner whose connections are JsonErrorsProtocol's."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        kwargs: dict[str, Any] = made._kwargs
        return _Server(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **kwargs,
        )
