"""Zendesk: a trigger's JSON body or a ticket event subscription in, signed by Zendesk; the
answers back as internal notes, tags and a custom field."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    lower,
    mapping,
    name_of,
    named_event,
    status_type,
    tag_list,
    text,
)
from bot.helpdesks.notes import tag
from bot.triggers.auth import VendorSignature
from bot.triggers.errors import InvalidEvent
from bot.triggers.events import NamedEvent
from surveys.rules import Event

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
# Zendesk signs the timestamp with the body; an older one is a replay.
MAX_AGE = timedelta(minutes=5)
EVENT_PREFIX = "zen:event-type:"
# Event fields named as the trigger body names them, for 422 answers (the recipient: as the
# field it came from names it, see fields.identity).
_TRIGGER_FIELDS = {
    "case_id": "ticket.id",
    "type": "ticket.status",
    "team": "ticket.group.name",
    "agent": "ticket.assignee.name",
    "tags": "ticket.tags",
    "priority": "ticket.priority",
    "occurred_at": "ticket.updated_at",
}
_SUBSCRIPTION_FIELDS = {
    "case_id": "detail.id",
    "type": "event.current",
    "team": "detail.group_id",
    "agent": "detail.assignee_id",
    "tags": "detail.tags",
    "priority": "detail.priority",
    "occurred_at": "time",
}


class Zendesk(HelpDesk):
    """Zendesk's webhooks (triggers or ticket events), signed with ZENDESK_WEBHOOK_SECRET."""

    name = "zendesk"
    title = "Zendesk"

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        url: str | None = None,
        email: str | None = None,
        api_token: str | None = None,
        score_field: int | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.url = url.rstrip("/") if url else None
        self.email = email
        self.api_token = api_token
        self.score_field = score_field

    def read(self, body: Any, query: Mapping[str, str]) -> NamedEvent:
        return hook_event(body, query, _event, _known)

    def signature(self) -> VendorSignature | None:
        return ZendeskSignature(self.webhook_secret) if self.webhook_secret else None

    @property
    def writes_back(self) -> bool:
        return bool(self.url and self.email and self.api_token)

    def _headers(self) -> dict[str, str]:
        # An API token: Basic auth as "{email}/token:{token}".
        pair = f"{self.email}/token:{self.api_token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _ticket(self, case: Case) -> str:
        return f"{self.url}/api/v2/tickets/{quote(case.case_id, safe='')}"

    async def write(
        self, client: ClientSession, case: Case, note: TicketNote, *, retry: bool
    ) -> None:
        # One update: the internal note, the band's tag, the score's field, all or nothing.
        ticket: dict[str, Any] = {}
        if not (retry and await self._noted(client, case, note.marker)):
            ticket["comment"] = {"body": note.text, "public": note.public}
        if note.band is not None:
            ticket["additional_tags"] = [tag(note.kind, note.band)]
        if note.score is not None and self.score_field is not None:
            ticket["custom_fields"] = [{"id": self.score_field, "value": note.score}]
        if ticket:
            url = self._ticket(case) + ".json"
            await call(
                client, self.title, "PUT", url, headers=self._headers(), json={"ticket": ticket}
            )

    async def _noted(self, client: ClientSession, case: Case, mark: str) -> bool:
        url = self._ticket(case) + "/comments.json?sort_order=desc"
        found = await call(client, self.title, "GET", url, headers=self._headers())
        comments = mapping(found).get("comments")
        return any(mark in str(mapping(c).get("body", "")) for c in comments or [])


def zendesk_signature(body: bytes, timestamp: str, secret: str) -> str:
    """Zendesk's X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of timestamp + body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class ZendeskSignature:
    """Zendesk's signing headers, checked with the webhook's signing secret."""

    secret: str
    header: str = SIGNATURE
    description: str = (
        f"Zendesk's signing headers ({SIGNATURE} and {TIMESTAMP}, signed with "
        "ZENDESK_WEBHOOK_SECRET)"
    )

    def problem(self, headers: Mapping[str, str], body: bytes, now: datetime) -> str | None:
        stamp = headers.get(TIMESTAMP, "").strip()
        try:
            signed_at = datetime.fromisoformat(stamp)
        except ValueError:
            return f"send {TIMESTAMP} with the time Zendesk signed at (ISO 8601)"
        if signed_at.tzinfo is None:
            signed_at = signed_at.replace(tzinfo=UTC)
        if abs(now.replace(tzinfo=UTC) - signed_at) > MAX_AGE:
            return (
                f"the Zendesk signature timestamp {stamp} is more than "
                f"{int(MAX_AGE.total_seconds() // 60)} minutes from now (a replay, or a "
                "clock that is off)"
            )
        expected = zendesk_signature(body, stamp, self.secret)
        if not secrets.compare_digest(headers[SIGNATURE].strip().encode(), expected.encode()):
            return f"the {SIGNATURE} header does not match the body and timestamp"
        return None


def zendesk_event(body: Any, query: Mapping[str, str]) -> Event:
    """The event in a Zendesk webhook request; InvalidEvent says what the payload lacks."""
    return hook_event(body, query, _event, _known).event


def _known(body: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, str | None]:
    """What a refused payload still says about its case, for `/why`."""
    ticket, detail = mapping(body.get("ticket")), mapping(body.get("detail"))
    status = text(ticket.get("status")) or text(mapping(body.get("event")).get("current"))
    return {
        "case_id": text(ticket.get("id"))
        or text(detail.get("id"))
        or _ticket_of(text(body.get("subject"))),
        "type": status_type(status) if status else None,
        "channel": text(query.get("channel")) or text(ticket.get("channel")),
        "team": name_of(ticket.get("group")) or _id(detail.get("group_id")),
    }


def _event(body: Mapping[str, Any], query: Mapping[str, str]) -> NamedEvent:
    kind = body.get("type")
    if isinstance(kind, str) and kind.startswith(EVENT_PREFIX):
        return _subscription_event(body, kind.removeprefix(EVENT_PREFIX), query)
    if not isinstance(body.get("ticket"), dict):
        raise InvalidEvent.at(
            "ticket",
            'expected a trigger body {"ticket": {...}} (see the README) or a '
            "zen:event-type:ticket.* event",
        )
    return _trigger_event(body["ticket"], query)


def _trigger_event(ticket: Mapping[str, Any], query: Mapping[str, str]) -> NamedEvent:
    where = from_query(query, text(ticket.get("channel")))
    requester = mapping(ticket.get("requester"))
    status = text(ticket.get("status"))
    if status is None:
        raise InvalidEvent.at("ticket.status", 'add "status": "{{ticket.status}}" to the body')
    who, carrier = identity(
        where["channel"],
        explicit=(RECIPIENT, text(ticket.get("recipient"))),
        chat_id=("ticket.requester.external_id", text(requester.get("external_id"))),
        email=("ticket.requester.email", text(requester.get("email"))),
        requester=_requester(requester.get("id")),
        helpdesk="Zendesk",
    )
    data = {
        **where,
        "type": status_type(status),
        "case_id": text(ticket.get("id")),
        **who,
        "team": name_of(ticket.get("group")),
        "agent": name_of(ticket.get("assignee")),
        "tags": tag_list(ticket.get("tags"), None),  # {{ticket.tags}}: space-separated
        "priority": lower(ticket.get("priority")),
        "occurred_at": text(ticket.get("updated_at")),
        "attributes": {"helpdesk": "zendesk", "status": status},
    }
    return named_event(data, _TRIGGER_FIELDS, carrier)


def _subscription_event(body: Mapping[str, Any], kind: str, query: Mapping[str, str]) -> NamedEvent:
    if not kind.startswith("ticket."):
        raise InvalidEvent.at(
            "type", "cxbot takes ticket events; subscribe the webhook to zen:event-type:ticket.*"
        )
    detail, change = mapping(body.get("detail")), mapping(body.get("event"))
    where = from_query(query)
    status = None
    if kind == "ticket.status_changed":
        current = change.get("current")
        status = text(mapping(current).get("status") if isinstance(current, dict) else current)
    event_type = status_type(status) if status else kind
    case_id = text(detail.get("id")) or _ticket_of(text(body.get("subject")))
    who, carrier = identity(
        where["channel"],
        explicit=None,
        # Ticket events name the requester only by Zendesk id; the ticket's external id is
        # the one field that can carry the customer's chat id.
        chat_id=("detail.external_id", text(detail.get("external_id"))),
        email=None,
        requester=_requester(detail.get("requester_id")),
        helpdesk="Zendesk event",
    )
    data = {
        **where,
        "type": event_type,
        "case_id": case_id,
        **who,
        "team": _id(detail.get("group_id")),
        "agent": _id(detail.get("assignee_id")),
        "tags": tag_list(detail.get("tags"), None),
        "priority": lower(detail.get("priority")),
        "occurred_at": text(body.get("time")),
        "attributes": {
            "helpdesk": "zendesk",
            "event": kind,
            "status": status or text(detail.get("status")),
            "requester_id": _id(detail.get("requester_id")),
        },
    }
    return named_event(data, _SUBSCRIPTION_FIELDS, carrier)


def _requester(value: Any) -> str | None:
    found = _id(value)
    return f"zendesk:{found}" if found else None


def _id(value: Any) -> str | None:
    found = text(value)
    return None if found in (None, "0") else found


def _ticket_of(subject: str | None) -> str | None:
    # "subject": "zen:ticket:35436"
    if subject and subject.startswith("zen:ticket:"):
        return subject.removeprefix("zen:ticket:") or None
    return None
