"""HTTP routes: events in (generic, and each help desk's hook) and the rules API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.bodies import error as _error
from bot.bodies import parse_json
from bot.errors import DeliveryFailed
from bot.triggers.auth import Credentials, Denied, VendorSignature, authenticate, bearer
from bot.triggers.errors import InvalidEvent, RulesNotConfigured, UnknownRule
from bot.triggers.events import NamedEvent, Source, parse_event
from bot.triggers.service import Outcome, Triggers
from storage.clock import utcnow
from surveys.errors import InvalidRules
from surveys.rules import Rule

if TYPE_CHECKING:  # bot.helpdesks builds on bot.triggers, not the other way round
    from bot.helpdesks.base import HelpDesk

TRIGGERS = web.AppKey("triggers", Triggers)
CREDENTIALS = web.AppKey("trigger_credentials", Credentials)
API_ACTOR = "api"

Adapter = Callable[[Any, Mapping[str, str]], NamedEvent]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _denied(denied: Denied) -> web.Response:
    return _error(denied.status, denied.code, denied.message)


def _stamp(moment: datetime) -> str:
    return moment.isoformat() + "Z"


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """The decision as the event's sender gets it."""
    if outcome.scheduled:
        assert outcome.send_at is not None
        return {
            "decision": "scheduled",
            "invitation_id": outcome.invitation_id,
            "send_at": _stamp(outcome.send_at),
            "rule": outcome.rule_id,
            "link": outcome.link,
        }
    assert outcome.reason is not None
    body: dict[str, Any] = {
        "decision": "suppressed",
        "reason": outcome.reason.value,
        "detail": outcome.detail,
        "rule": outcome.rule_id,
    }
    if outcome.invitation_id is not None:
        body["invitation_id"] = outcome.invitation_id  # the case's existing invitation
    return body


def _invalid(failure: InvalidEvent) -> web.Response:
    fields = [{"field": p.field, "message": p.message} for p in failure.problems]
    status = 400 if failure.code == "invalid_json" else 422
    extra: dict[str, Any] = {"fields": fields}
    if len(fields) == 1:
        extra["field"] = fields[0]["field"]
    return _error(status, failure.code, failure.message, **extra)


def _events(source: Source, adapter: Adapter, vendor: VendorSignature | None = None) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        # Our own ways in, and on a help desk's hook that help desk's own signature.
        accepted = replace(request.app[CREDENTIALS], vendor=vendor)
        raw = await request.read()
        denied = authenticate(request.headers, raw, accepted, now=utcnow())
        if denied is not None:
            return _denied(denied)
        body = parse_json(raw)  # InvalidBody: a 400 from bot.bodies.json_errors
        triggers = request.app[TRIGGERS]
        try:
            named = adapter(body, with_default_channel(request.query, triggers.channels))
            outcome = await _decide(triggers, named, source)
        except InvalidEvent as failure:
            await triggers.reject(failure, source, raw)  # so that `/why CASE` says it came
            return _invalid(failure)
        except DeliveryFailed as failure:
            # The platform would not answer a recipient lookup; nothing was stored, try again.
            return _error(502, "channel_error", f"could not check the recipient: {failure.reason}")
        return web.json_response(outcome_json(outcome), status=202 if outcome.scheduled else 200)

    return handle


async def _decide(triggers: Triggers, named: NamedEvent, source: Source) -> Outcome:
    """The event decided; a field the decision refuses (a recipient the channel will not
    take) named as the event's source names it."""
    try:
        return await triggers.handle(named.event, source)
    except InvalidEvent as failure:
        raise failure.renamed(named.names) from None


def with_default_channel(query: Mapping[str, str], channels: Collection[str]) -> Mapping[str, str]:
    """The hook URL's query, with ``channel`` filled in when exactly one channel is configured
    (an installation on Telegram alone need not say ``?channel=telegram``)."""
    if query.get("channel") or len(channels) != 1:
        return query
    [only] = channels
    return {**query, "channel": only}


def _generic(body: Any, _query: Mapping[str, str]) -> NamedEvent:
    return NamedEvent(parse_event(body))


# --- rules -----------------------------------------------------------------------------------
def _bearer(request: web.Request) -> web.Response | None:
    denied = bearer(request.headers, request.app[CREDENTIALS].api_token)
    return _denied(denied) if denied is not None else None


def rule_json(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json", by_alias=True)


async def _rules_body(triggers: Triggers) -> dict[str, Any]:
    rules = await triggers.rules()
    book = triggers.rulebook
    return {
        "path": str(book.path) if book.path is not None else None,
        "error": book.error,
        "rules": [rule_json(rule) for rule in rules.rules],
    }


async def get_rules(request: web.Request) -> web.Response:
    if (denied := _bearer(request)) is not None:
        return denied
    return web.json_response(await _rules_body(request.app[TRIGGERS]))


async def put_rules(request: web.Request) -> web.Response:
    if (denied := _bearer(request)) is not None:
        return denied
    triggers = request.app[TRIGGERS]
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "invalid_body", "send the rules as UTF-8 YAML or JSON text")
    try:
        await triggers.replace_rules(text, API_ACTOR)
    except RulesNotConfigured as failure:
        return _error(409, "rules_not_configured", str(failure))
    except InvalidRules as failure:
        return _error(422, "invalid_rules", str(failure), line=failure.line, detail=failure.message)
    except OSError as failure:
        return _error(500, "rules_not_written", f"cannot write the rules file: {failure}")
    return web.json_response(await _rules_body(triggers))


def _pause(paused: bool) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        if (denied := _bearer(request)) is not None:
            return denied
        try:
            rule = await request.app[TRIGGERS].pause(request.match_info["id"], paused, API_ACTOR)
        except UnknownRule as failure:
            return _error(404, "unknown_rule", str(failure), known=failure.known)
        return web.json_response(rule_json(rule))

    return handle


def add_trigger_routes(
    app: web.Application,
    triggers: Triggers,
    credentials: Credentials,
    helpdesks: Iterable[HelpDesk] = (),
) -> None:
    """Mount the events endpoint, each help desk's hook and the rules API on `app`."""
    app[TRIGGERS] = triggers
    app[CREDENTIALS] = credentials
    app.router.add_post("/api/v1/events", _events(Source.API, _generic))
    for helpdesk in helpdesks:
        hook = _events(Source(helpdesk.name), helpdesk.read, helpdesk.signature())
        app.router.add_post(f"/api/v1/hooks/{helpdesk.name}", hook)
    app.router.add_get("/api/v1/rules", get_rules)
    app.router.add_put("/api/v1/rules", put_rules)
    app.router.add_post("/api/v1/rules/{id}/pause", _pause(True))
    app.router.add_post("/api/v1/rules/{id}/resume", _pause(False))
