"""Request bodies: one place that reads JSON (bounded) and answers every HTTP error in JSON."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from storage.errors import StorageError
from storage.outages import unreachable

log = logging.getLogger(__name__)

# The largest body the app reads (aiohttp's client_max_size); a larger one is a 413.
MAX_BODY = 1024 * 1024
# No payload we take nests deeper than a few levels; 32 leaves room for `attributes`.
MAX_DEPTH = 32
# Slack's interactivity posts its JSON as the form field `payload`.
FORM_JSON_FIELDS = ("payload",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a body must be: checks `raw` (sent as the content type given), raises InvalidBody.
BodyCheck = Callable[[bytes, str], None]
# Paths whose bodies another library reads (aiogram, bolt), checked before it sees them.
CHECKED_BODIES = web.AppKey("checked_bodies", dict[str, BodyCheck])


class InvalidBody(ValueError):
    """A body that cannot be read as the JSON it should be; answered 400 ``code``."""

    def __init__(self, message: str, code: str = "invalid_json") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error(status: int, code: str, message: str, **details: Any) -> web.Response:
    """The error shape of every answer: ``{"error": code, "message": what to fix, ...}``."""
    return web.json_response({"error": code, "message": message, **details}, status=status)


def _constant(name: str) -> Any:
    raise InvalidBody(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidBody(f"the number {text[:40]} is too large")
    return value


def parse_json(raw: bytes) -> Any:
    """`raw` as JSON, or InvalidBody: not UTF-8, malformed, nested deeper than MAX_DEPTH, a
    number Python will not read (more than 4,300 digits, NaN, 1e999) or a lone surrogate."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBody("the body must be UTF-8 JSON") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise InvalidBody(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as failure:
        raise InvalidBody(f"the body is not JSON: {failure.msg} at {failure.pos}") from None
    except ValueError as failure:  # an integer of more than 4,300 digits
        if isinstance(failure, InvalidBody):
            raise
        raise InvalidBody("a number in the body has too many digits") from None
    _check(value)
    return value


def _check(value: Any) -> None:
    # Iterative, so that no depth can overflow the stack here.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidBody(f"the body nests deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, inner in item.items():
                    _text(key)
                    pending.append((inner, depth + 1))
            else:
                pending.extend((inner, depth + 1) for inner in item)


def _text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidBody("a string in the body holds a lone surrogate (\\ud800-\\udfff)") from None


def json_or_form(raw: bytes, content_type: str) -> None:
    """A JSON body, or a form whose JSON fields (Slack's ``payload``) parse_json would take."""
    if content_type != "application/x-www-form-urlencoded":
        parse_json(raw)
        return
    try:
        form = parse_qs(raw.decode("utf-8"), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidBody("the form body must be UTF-8") from None
    for name in FORM_JSON_FIELDS:
        for value in form.get(name, ()):
            parse_json(value.encode("utf-8"))


async def read_json(request: web.Request) -> Any:
    """The request's body as checked JSON; InvalidBody (400) or a 413 for a body too large."""
    return parse_json(await request.read())


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error answered in the JSON error shape: a bad body (400), aiohttp's own 4xx
    (413 body too large, 404, 405), a store away for now (503 with Retry-After, one warning)
    and a failure nobody expected (500, logged with its traceback)."""
    try:
        check = request.app.get(CHECKED_BODIES, {}).get(request.path)
        if check is not None and request.method == "POST":
            raw = await request.read()  # kept by aiohttp: the handler reads the same bytes
            check(raw, request.content_type)
        response = await handler(request)
    except InvalidBody as failure:
        return error(400, failure.code, failure.message)
    except web.HTTPException as failure:
        if failure.status < 400 or failure.content_type == "application/json":
            raise
        return _http_error(failure)
    except Exception as failure:
        if not isinstance(failure, StorageError) and not unreachable(failure):
            log.exception("%s %s failed", request.method, request.path)
            return error(500, "internal_error", "cxbot failed on this request; see its log")
        # A store away for now (PostgreSQL, Redis or the job queue's connection, whichever
        # layer noticed): the same request again is safe (cases are deduplicated) and will
        # succeed once it is back.
        # A connect that timed out raises a TimeoutError with no text: name the error then.
        said = str(failure) or type(failure).__name__
        log.warning("%s %s: a store is unreachable (%s)", request.method, request.path, said)
        response = error(
            503, "store_unavailable", "a store or service cxbot needs is unreachable; retry"
        )
        response.headers["Retry-After"] = "30"
        return response
    if response.status >= 400 and response.content_type != "application/json":
        # A library's own plain answer (aiogram's "Unauthorized"), in our shape.
        return _restated(response)
    return response


def _restated(response: web.StreamResponse) -> web.Response:
    text = ""
    if isinstance(response, web.Response):
        try:
            text = (response.text or "").strip()[:200]
        except UnicodeDecodeError:
            text = ""
    restated = error(
        response.status, error_code(response.status, response.reason), text or response.reason
    )
    for name in _KEPT_HEADERS:
        if name in response.headers:
            restated.headers[name] = response.headers[name]
    return restated


_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def error_code(status: int, reason: str) -> str:
    """The `error` field for an HTTP status: ours where we named it, else its reason phrase."""
    return _CODES.get(status, reason.lower().replace(" ", "_").replace("-", "_"))


def _http_error(failure: web.HTTPException) -> web.Response:
    code = error_code(failure.status, failure.reason)
    message = failure.reason
    if failure.status == 413:
        message = f"the body is larger than {MAX_BODY // 1024} KiB"
    elif failure.status == 405:
        message = f"{failure.reason}; allowed: {failure.headers.get('Allow', '')}"
    response = error(failure.status, code, message)
    for name in _KEPT_HEADERS:
        if name in failure.headers:
            response.headers[name] = failure.headers[name]
    return response
