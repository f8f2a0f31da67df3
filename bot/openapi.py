"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Request bodies come from the pydantic models that validate them (so a new field or limit shows
up by itself); responses are kept by hand here. tests/bot/test_openapi.py runs schemathesis
against the running app, so a response that drifts from this description fails the tests.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from bot.invite import InvitationRequest
from storage.tables import MAX_ID
from surveys.rules import Event, Rule

PATH = "/api/v1/openapi.json"
REF = "#/components/schemas/{model}"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def _nullable(kind: str, **more: Any) -> Schema:
    return {"type": [kind, "null"], **more}


STAMP = _nullable("string", format="date-time")

RESPONSES: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "a code: unauthorized, invalid_json, ..."},
            "message": {"type": "string", "description": "what to fix, for a person"},
            "field": {"type": "string"},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "known": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Invitation": {
        "type": "object",
        "required": ["id", "survey", "case_id", "channel", "status", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "survey": {"type": "string"},
            "case_id": {"type": "string"},
            "channel": {"type": "string"},
            "recipient": _nullable("string", description="null while it waits for its link"),
            "link": _nullable("string", description="the Telegram link (t.me/<bot>?start=...)"),
            "language": _nullable("string"),
            "attributes": {"type": "object"},
            "status": {
                "type": "string",
                "enum": [
                    "scheduled",
                    "awaiting_link",
                    "sending",
                    "sent",
                    "started",
                    "completed",
                    "expired",
                    "failed",
                ],
            },
            "failure_reason": _nullable("string"),
            "created_at": STAMP,
            "scheduled_at": STAMP,
            "sent_at": STAMP,
            "completed_at": STAMP,
            "expires_at": STAMP,
        },
    },
    "Answer": {
        "type": "object",
        "required": ["question", "kind", "answered_at"],
        "properties": {
            "question": {"type": "string"},
            "kind": {"type": "string"},
            "score": _nullable("integer"),
            "choice": _nullable("string"),
            "text": _nullable("string"),
            "answered_at": {"type": "string", "format": "date-time"},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["decision", "rule"],
        "properties": {
            "decision": {"type": "string", "enum": ["scheduled", "suppressed"]},
            "invitation_id": _nullable("integer"),
            "send_at": {"type": "string", "format": "date-time"},
            "rule": _nullable("string"),
            "link": _nullable("string"),
            "reason": {"type": "string"},
            "detail": _nullable("string"),
        },
    },
    "Rules": {
        "type": "object",
        "required": ["path", "error", "rules"],
        "properties": {
            "path": _nullable("string"),
            "error": _nullable("string", description="the last reload's problem"),
            "rules": {"type": "array", "items": _ref("Rule")},
        },
    },
}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _answers(ok: dict[str, tuple[str, str]], *errors: str) -> Schema:
    answers: Schema = {
        code: {"description": text, **_json(_ref(model))} for code, (model, text) in ok.items()
    }
    meanings = {
        "400": "malformed JSON or body",
        "401": "missing or wrong bearer token",
        "404": "no such thing",
        "409": "CXBOT_RULES is not set",
        "413": "body over 1 MiB",
        "422": "the fields listed are wrong",
        "502": "the chat platform did not answer a recipient lookup; nothing stored",
        "503": "the API is off (CXBOT_API_TOKEN is not set), or a store is unreachable for now "
        "(store_unavailable, with Retry-After): send the same request again",
    }
    for code in ("401", "503", *errors):
        answers[code] = {"description": meanings[code], **_json(_ref("Error"))}
    return answers


@cache
def openapi_document() -> Schema:
    """The whole description (built once; it depends on code only, not on settings)."""
    _, found = models_json_schema(
        [(InvitationRequest, "validation"), (Event, "validation"), (Rule, "serialization")],
        ref_template=REF,
    )
    schemas: Schema = {**found["$defs"], **RESPONSES}
    with_answers = {
        "allOf": [
            _ref("Invitation"),
            {
                "type": "object",
                "properties": {"answers": {"type": "array", "items": _ref("Answer")}},
            },
        ]
    }
    rule_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths: Schema = {
        "/api/v1/invitations": {
            "post": {
                "summary": "Invite one customer to a survey (once per case and survey)",
                "requestBody": {"required": True, **_json(_ref("InvitationRequest"))},
                "responses": _answers(
                    {
                        "202": ("Invitation", "stored, to be sent"),
                        "200": ("Invitation", "this case had this survey already: nothing sent"),
                    },
                    "400",
                    "413",
                    "422",
                    "502",
                ),
            }
        },
        "/api/v1/invitations/{id}": {
            "get": {
                "summary": "An invitation, its status and its answers",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    }
                ],
                "responses": {
                    "200": {"description": "the invitation", **_json(with_answers)},
                    **_answers({}, "404"),
                },
            }
        },
        "/api/v1/events": {
            "post": {
                "summary": "A support event: the rules decide whether a survey goes",
                "description": (
                    "The bearer token, or X-Cxbot-Signature: t=<unix>,v1=<hex HMAC-SHA256 of"
                    " '<t>.' + body with CXBOT_HMAC_SECRET> (five minutes)."
                ),
                "security": [{"bearer": []}, {"signature": []}],
                "requestBody": {"required": True, **_json(_ref("Event"))},
                "responses": _answers(
                    {
                        "202": ("Decision", "scheduled"),
                        "200": ("Decision", "suppressed, with the reason"),
                    },
                    "400",
                    "413",
                    "422",
                    "502",
                ),
            }
        },
        "/api/v1/rules": {
            "get": {
                "summary": "The trigger rules in use",
                "responses": _answers({"200": ("Rules", "the rules")}),
            },
            "put": {
                "summary": "Replace the rules file (the whole file, YAML or JSON)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/yaml": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                },
                "responses": _answers(
                    {"200": ("Rules", "written and in use")}, "400", "409", "413", "422"
                ),
            },
        },
        "/api/v1/rules/{id}/pause": {
            "post": {
                "summary": "Pause a rule",
                "parameters": rule_id,
                "responses": _answers({"200": ("Rule", "the rule, paused")}, "404"),
            }
        },
        "/api/v1/rules/{id}/resume": {
            "post": {
                "summary": "Resume a paused rule",
                "parameters": rule_id,
                "responses": _answers({"200": ("Rule", "the rule, resumed")}, "404"),
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cxbot API",
            "version": "1",
            "description": "Invitations, events and trigger rules of a cxbot installation.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CXBOT_API_TOKEN",
                },
                "signature": {"type": "apiKey", "in": "header", "name": "X-Cxbot-Signature"},
            },
        },
        "paths": paths,
    }


async def serve_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def add_openapi_route(app: web.Application) -> None:
    """``GET /api/v1/openapi.json``: no token needed, it holds nothing but the API's shape."""
    app.router.add_get(PATH, serve_openapi)
