"""Freshdesk: automation webhooks in, the JSON body we document or "simple" content; the
answers back as private notes and a custom field."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import ClientSession

from bot.helpdesks.api import call
from bot.helpdesks.base import Case, HelpDesk, TicketNote
from bot.helpdesks.fields import (
    RECIPIENT,
    from_query,
    hook_event,
    identity,
    mapping,
    name_of,
    named_event,
    status_type,
    tag_list,
    text,
)
from bot.triggers.errors import InvalidEvent
from bot.triggers.events import NamedEvent
from surveys.rules import Event

# Freshdesk's numeric codes, as its API and some placeholders give them.
STATUSES = {"2": "Open", "3": "Pending", "4": "Resolved", "5": "Closed"}
PRIORITIES = {"1": "low", "2": "medium", "3": "high", "4": "urgent"}
_FIELDS = {
    "case_id": "ticket.id",
    "type": "ticket.status",
    "team": "ticket.group",
    "agent": "ticket.agent",
    "tags": "ticket.tags",
    "priority": "ticket.priority",
}


class Freshdesk(HelpDesk):
    """Freshdesk's automation webhooks (it does not sign them: bearer or X-Cxbot-Signature)."""

    name = "freshdesk"
    title = "Freshdesk"

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        score_field: str | None = None,
    ) -> None:
        self.url = url.rstrip("/") if url else None
        self.api_key = api_key
        self.score_field = score_field

    @property
    def writes_back(self) -> bool:
        return bool(self.url and self.api_key)

    def _headers(self) -> dict[str, str]:
        # The API key as the user name, any password ("X" by Freshdesk's own examples).
        pair = f"{self.api_key}:X".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _ticket(self, case: Case) -> str:
        return f"{self.url}/api/v2/tickets/{quote(case.case_id, safe='')}"

    async def write(
        self, client: ClientSession, case: Case, note: TicketNote, *, retry: bool
    ) -> None:
        headers = self._headers()
        if not (retry and await self._noted(client, case, note.marker)):
            body: dict[str, Any] = {"body": html.escape(note.text)}
            if note.public:  # a reply goes to the requester, by email or their channel
                path = "/reply"
            else:
                path, body["private"] = "/notes", True
            url = self._ticket(case) + path
            await call(client, self.title, "POST", url, headers=headers, json=body)
        if note.score is not None and self.score_field is not None:
            fields = {"custom_fields": {self.score_field: note.score}}
            await call(client, self.title, "PUT", self._ticket(case), headers=headers, json=fields)

    async def _noted(self, client: ClientSession, case: Case, mark: str) -> bool:
        url = self._ticket(case) + "/conversations?per_page=100"
        found = await call(client, self.title, "GET", url, headers=self._headers())
        listed = found if isinstance(found, list) else []
        return any(mark in str(mapping(item).get("body_text", "")) for item in listed)

    def read(self, body: Any, query: Mapping[str, str]) -> NamedEvent:
        return hook_event(body, query, _event, _known)


def freshdesk_event(body: Any, query: Mapping[str, str]) -> Event:
    """The event in a Freshdesk webhook request; InvalidEvent says what the payload lacks."""
    return hook_event(body, query, _event, _known).event


def _known(body: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, str | None]:
    """What a refused payload still says about its case, for `/why`."""
    simple = body.get("freshdesk_webhook")
    ticket = _from_simple(simple) if isinstance(simple, dict) else mapping(body.get("ticket"))
    status = text(ticket.get("status"))
    return {
        "case_id": text(ticket.get("id")),
        "type": status_type(STATUSES.get(status, status)) if status else None,
        "channel": text(query.get("channel")) or text(ticket.get("channel")),
        "team": name_of(ticket.get("group")),
    }


def _event(body: Mapping[str, Any], query: Mapping[str, str]) -> NamedEvent:
    if isinstance(body.get("freshdesk_webhook"), dict):
        ticket = _from_simple(body["freshdesk_webhook"])
    elif isinstance(body.get("ticket"), dict):
        ticket = body["ticket"]
    else:
        raise InvalidEvent.at(
            "ticket", 'expected the webhook body {"ticket": {...}} described in the README'
        )
    where = from_query(query, text(ticket.get("channel")))
    requester = mapping(ticket.get("requester"))
    status = text(ticket.get("status"))
    if status is None:
        raise InvalidEvent.at("ticket.status", 'add "status": "{{ticket.status}}" to the body')
    status = STATUSES.get(status, status)
    priority = text(ticket.get("priority"))
    who, carrier = identity(
        where["channel"],
        explicit=None,
        # Freshdesk has no chat id field: a contact field's placeholder fills "recipient".
        chat_id=(RECIPIENT, text(ticket.get("recipient"))),
        email=("ticket.requester.email", text(requester.get("email"))),
        requester=f"freshdesk:{found}" if (found := text(requester.get("id"))) else None,
        helpdesk="Freshdesk",
    )
    data = {
        **where,
        "type": status_type(status),
        "case_id": text(ticket.get("id")),
        **who,
        "team": name_of(ticket.get("group")),
        "agent": name_of(ticket.get("agent")),
        "tags": tag_list(ticket.get("tags"), ","),  # {{ticket.tags}}: comma-separated
        "priority": PRIORITIES.get(priority, priority.lower()) if priority else None,
        "attributes": {"helpdesk": "freshdesk", "status": status},
    }
    return named_event(data, _FIELDS, carrier)


def _from_simple(simple: Mapping[str, Any]) -> dict[str, Any]:
    # "Simple" webhook content: the fields ticked in the rule, as freshdesk_webhook.ticket_*.
    return {
        "id": simple.get("ticket_id"),
        "status": simple.get("ticket_status"),
        "priority": simple.get("ticket_priority"),
        "tags": simple.get("ticket_tags"),
        "group": simple.get("ticket_group_name"),
        "agent": simple.get("ticket_agent_name"),
        "requester": {
            "email": simple.get("ticket_contact_email") or simple.get("ticket_requester_email")
        },
    }
