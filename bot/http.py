"""The aiohttp app: the invitations API, health and metrics, and the channels' webhooks."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from pydantic import SecretStr, ValidationError

from bot.bodies import CHECKED_BODIES, MAX_BODY, json_errors, json_or_form, read_json
from bot.bodies import error as error
from bot.errors import ChannelNotConfigured, DeliveryFailed
from bot.health import add_health_routes
from bot.invite import InvalidInvitation, InvitationRequest
from bot.metrics.scrape import add_metrics_route
from bot.openapi import add_openapi_route
from bot.services import Services
from bot.slack.service import EVENTS_PATH
from bot.telegram.updates import check_update
from bot.triggers import Credentials, add_trigger_routes
from bot.triggers.events import problems_of
from storage.answers import answers_for
from storage.invitations import get_invitation
from storage.tables import MAX_ID, Invitation, InvitationStatus
from surveys.errors import UnknownSurvey

SERVICES = web.AppKey("services", Services)


def _authorized(request: web.Request) -> web.Response | None:
    token = request.app[SERVICES].settings.api_token
    if token is None:
        return error(503, "api_disabled", "the API is off: set CXBOT_API_TOKEN to turn it on")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return error(
            401, "unauthorized", "send the header 'Authorization: Bearer <CXBOT_API_TOKEN>'"
        )
    if not secrets.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        return error(401, "unauthorized", "the bearer token is wrong")
    return None


def invitation_json(invitation: Invitation, link: str | None = None) -> dict[str, Any]:
    """The invitation as the API shows it; ``link`` is its Telegram link (None elsewhere)."""

    def stamp(value: Any) -> str | None:
        return value.isoformat() + "Z" if value is not None else None

    return {
        "id": invitation.id,
        "survey": invitation.survey_id,
        "case_id": invitation.case_id,
        "channel": invitation.channel,
        # None while a survey waits for its link: nobody knows the person's chat yet.
        "recipient": invitation.address or None,
        "link": link,
        "language": invitation.language,
        "attributes": invitation.attributes,
        "status": invitation.status,
        "failure_reason": invitation.failure_reason,
        "created_at": stamp(invitation.created_at),
        "scheduled_at": stamp(invitation.scheduled_at),
        "sent_at": stamp(invitation.sent_at),
        "completed_at": stamp(invitation.completed_at),
        "expires_at": stamp(invitation.expires_at),
    }


async def create_invitation(request: web.Request) -> web.Response:
    if (denied := _authorized(request)) is not None:
        return denied
    services = request.app[SERVICES]
    body = await read_json(request)
    if not isinstance(body, dict):
        return error(400, "invalid_json", "the body must be a JSON object")
    try:
        payload = InvitationRequest.model_validate(body)
    except ValidationError as failure:
        # As the events API words them: without pydantic's "Value error, " prefix.
        fields = [{"field": p.field, "message": p.message} for p in problems_of(failure)]
        return error(422, "invalid_request", "fix the fields listed", fields=fields)
    try:
        receipt = await services.invite(payload)
    except UnknownSurvey as failure:
        return error(422, "unknown_survey", str(failure), field="survey", known=failure.known)
    except ChannelNotConfigured as failure:
        return error(422, "channel_not_configured", str(failure), field="channel")
    except InvalidInvitation as failure:
        # `fields` as for a field the model refused (and as events answer), `field` as before.
        listed = [{"field": failure.field, "message": failure.message}]
        return error(422, "invalid_request", failure.message, field=failure.field, fields=listed)
    except DeliveryFailed as failure:
        # The platform would not answer a recipient lookup; nothing was stored, try again.
        return error(502, "channel_error", f"could not check the recipient: {failure.reason}")
    invitation = receipt.invitation
    assert invitation.id is not None
    if receipt.created and invitation.status != InvitationStatus.AWAITING_LINK:
        await services.delivery.submit(invitation.id)
    body = invitation_json(invitation, await services.link(invitation))
    return web.json_response(body, status=202 if receipt.created else 200)


async def show_invitation(request: web.Request) -> web.Response:
    if (denied := _authorized(request)) is not None:
        return denied
    given = request.match_info["id"]
    digits = given.removeprefix("-")  # -1 is a whole number, out of range
    if not (digits.isascii() and digits.isdigit()):
        return error(
            404, "not_found", f"no invitation {given[:20]}: invitation ids are whole numbers"
        )
    # Compared as text first: int() refuses more than 4,300 digits.
    if digits != given or len(given.lstrip("0")) > len(str(MAX_ID)) or not 0 < int(given) <= MAX_ID:
        shown = given if len(given) <= 20 else given[:20] + "..."
        return error(404, "not_found", f"no invitation {shown}: invitation ids are 1 to {MAX_ID}")
    invitation_id = int(given)
    async with request.app[SERVICES].database.session() as session:
        invitation = await get_invitation(session, invitation_id)
        answers = await answers_for(session, invitation_id) if invitation else []
    if invitation is None:
        return error(404, "not_found", f"no invitation {invitation_id}")
    body = invitation_json(invitation, await request.app[SERVICES].link(invitation))
    body["answers"] = [
        {
            "question": a.question_id,
            "kind": a.kind,
            "score": a.score,
            "choice": a.choice,
            "text": a.text,
            "answered_at": a.answered_at.isoformat() + "Z",
        }
        for a in answers
    ]
    return web.json_response(body)


def _credentials(services: Services) -> Credentials:
    settings = services.settings

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return Credentials(
        secret(settings.api_token),
        secret(settings.hmac_secret),
        hmac_untimed=settings.hmac_allow_untimed,
    )


def _about(services: Services) -> dict[str, Any]:
    backend = "redis" if services.settings.redis_url else "memory"
    return {"state_backend": backend, "channels": sorted(services.channels)}


def build_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app[SERVICES] = services
    checked = app[CHECKED_BODIES] = {}
    app.router.add_post("/api/v1/invitations", create_invitation)
    app.router.add_get("/api/v1/invitations/{id}", show_invitation)
    add_health_routes(app, services.probes, lambda: _about(services))
    add_openapi_route(app)
    add_metrics_route(app, services.settings.metrics_token, services.probes, services.database)
    add_trigger_routes(app, services.triggers, _credentials(services), services.helpdesks)
    if services.telegram is not None:
        services.telegram.mount(app)
        if services.telegram.webhook_path is not None:
            checked[services.telegram.webhook_path] = check_update
    if services.slack is not None:
        services.slack.mount(app)
        checked[EVENTS_PATH] = json_or_form
    return app
