"""Chatwoot: an account webhook's conversation_status_changed in, signed by Chatwoot; the
answers back as private notes and a conversation custom attribute."""

from __future__ import annotations

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
from bot.helpdesks.errors import WriteFailed
from bot.helpdesks.fields import (
    Given,
    from_query,
    hook_event,
    identity,
    lower,
    mapping,
    named_event,
    present,
    status_type,
    tag_list,
    text,
)
from bot.triggers.auth import VendorSignature
from bot.triggers.errors import InvalidEvent
from bot.triggers.events import NamedEvent
from surveys.rules import Event

# Chatwoot (4.11.2 and later) signs each delivery of a webhook that has a secret: the header
# carries "sha256=" and the hex HMAC-SHA256 of "<timestamp>." + the raw body, keyed with the
# webhook's secret; the timestamp (unix seconds) comes in a header of its own.
SIGNATURE = "X-Chatwoot-Signature"
TIMESTAMP = "X-Chatwoot-Timestamp"
MAX_AGE = timedelta(minutes=5)
# The events of a conversation whose status changed; older versions also sent a
# conversation_resolved of their own.
EVENTS = ("conversation_status_changed", "conversation_resolved")
TELEGRAM_INBOX = "Channel::Telegram"
# Where a Telegram contact's chat id is: the contact inbox's source id, or else the
# conversation's additional attributes.
SOURCE_ID = "contact_inbox.source_id"
CHAT_ID = "additional_attributes.chat_id"
_FIELDS = {
    "case_id": "id",
    "type": "status",
    "team": "meta.team.name",
    "agent": "meta.assignee.name",
    "tags": "labels",
    "priority": "priority",
    "occurred_at": "timestamp",
}


class Chatwoot(HelpDesk):
    """Chatwoot's account webhooks, signed with the webhook's secret (CHATWOOT_WEBHOOK_SECRET)."""

    name = "chatwoot"
    title = "Chatwoot"

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        url: str | None = None,
        api_token: str | None = None,
        account_id: str | None = None,
        score_attribute: str = "cxbot_score",
    ) -> None:
        self.webhook_secret = webhook_secret
        self.url = url.rstrip("/") if url else None
        self.api_token = api_token
        self.account_id = account_id
        self.score_attribute = score_attribute

    def read(self, body: Any, query: Mapping[str, str]) -> NamedEvent:
        return hook_event(body, query, _event, _known)

    def signature(self) -> VendorSignature | None:
        return ChatwootSignature(self.webhook_secret) if self.webhook_secret else None

    @property
    def writes_back(self) -> bool:
        return bool(self.url and self.api_token)

    def _headers(self) -> dict[str, str]:
        assert self.api_token is not None
        return {"api_access_token": self.api_token}

    def _conversation(self, case: Case) -> str:
        # The webhook named the account; CHATWOOT_ACCOUNT_ID for events that came otherwise.
        account = text(case.attributes.get("account_id")) or self.account_id
        if account is None:
            raise WriteFailed(
                f"no Chatwoot account for conversation {case.case_id}: set CHATWOOT_ACCOUNT_ID",
                permanent=True,
            )
        conversation = quote(case.case_id, safe="")
        return f"{self.url}/api/v1/accounts/{quote(account, safe='')}/conversations/{conversation}"

    async def write(
        self, client: ClientSession, case: Case, note: TicketNote, *, retry: bool
    ) -> None:
        url, headers = self._conversation(case), self._headers()
        if not (retry and await self._noted(client, url, note.marker)):
            # Public: Chatwoot delivers it in the customer's own inbox (Telegram, email, ...).
            body = {"content": note.text, "message_type": "outgoing", "private": not note.public}
            await call(client, self.title, "POST", url + "/messages", headers=headers, json=body)
        if note.score is not None:
            # Chatwoot replaces all of a conversation's custom attributes unless told to merge
            # (a flag older versions do not know): send the others back with ours.
            found = await call(client, self.title, "GET", url, headers=headers)
            attributes = dict(mapping(mapping(found).get("custom_attributes")))
            attributes[self.score_attribute] = note.score
            body = {"custom_attributes": attributes, "merge": True}
            await call(
                client, self.title, "POST", url + "/custom_attributes", headers=headers, json=body
            )

    async def _noted(self, client: ClientSession, url: str, mark: str) -> bool:
        found = await call(client, self.title, "GET", url + "/messages", headers=self._headers())
        messages = mapping(found).get("payload")
        listed = messages if isinstance(messages, list) else []
        return any(mark in str(mapping(m).get("content", "")) for m in listed)


def chatwoot_signature(body: bytes, timestamp: str, secret: str) -> str:
    """The X-Chatwoot-Signature value for `body` sent at `timestamp` (unix seconds)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChatwootSignature:
    """Chatwoot's signing headers, checked with the webhook's secret."""

    secret: str
    header: str = SIGNATURE
    description: str = (
        f"Chatwoot's signing headers ({SIGNATURE} and {TIMESTAMP}, signed with "
        "CHATWOOT_WEBHOOK_SECRET)"
    )

    def problem(self, headers: Mapping[str, str], body: bytes, now: datetime) -> str | None:
        stamp = headers.get(TIMESTAMP, "").strip()
        if not stamp.isdigit() or len(stamp) > 12:
            return f"send {TIMESTAMP} with the time Chatwoot signed at (unix seconds)"
        signed_at = datetime.fromtimestamp(int(stamp), UTC)
        if abs(now.replace(tzinfo=UTC) - signed_at) > MAX_AGE:
            return (
                f"the Chatwoot signature timestamp {stamp} is more than "
                f"{int(MAX_AGE.total_seconds() // 60)} minutes from now (a replay, or a "
                "clock that is off)"
            )
        given = headers[SIGNATURE].strip().lower()
        expected = chatwoot_signature(body, stamp, self.secret)
        if not secrets.compare_digest(given.encode(), expected.encode()):
            return f"the {SIGNATURE} header does not match the body and timestamp"
        return None


def chatwoot_event(body: Any, query: Mapping[str, str]) -> Event:
    """The event in a Chatwoot webhook request; InvalidEvent says what the payload lacks."""
    return hook_event(body, query, _event, _known).event


def _known(body: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, str | None]:
    """What a refused payload still says about its conversation, for `/why`."""
    status = text(body.get("status"))
    telegram = text(body.get("channel")) == TELEGRAM_INBOX
    return {
        "case_id": text(body.get("id")),
        "type": status_type(status) if status else None,
        "channel": "telegram" if telegram else text(query.get("channel")),
        "team": text(mapping(mapping(body.get("meta")).get("team")).get("name")),
    }


def _event(body: Mapping[str, Any], query: Mapping[str, str]) -> NamedEvent:
    kind = text(body.get("event"))
    if kind not in EVENTS:
        raise InvalidEvent.at(
            "event",
            f"cxbot takes {' and '.join(EVENTS)}; subscribe the webhook to "
            "'Conversation Status Changed' only",
        )
    meta = mapping(body.get("meta"))
    contact = mapping(meta.get("sender"))
    inbox_channel = text(body.get("channel"))
    telegram = inbox_channel == TELEGRAM_INBOX
    # A Telegram inbox's customer is on Telegram, whatever the hook URL says for the others.
    where = from_query({**query, "channel": "telegram"} if telegram else query)
    status = text(body.get("status"))
    if status is None:
        raise InvalidEvent.at("status", "the conversation's status is missing")
    # Chatwoot keeps a Telegram contact's user id as the contact inbox's source id, and the
    # private chat's id (the same number) in the conversation's additional attributes.
    chat_id: Given = (SOURCE_ID, None)
    if telegram:
        source_id = text(mapping(body.get("contact_inbox")).get("source_id"))
        in_attributes = text(mapping(body.get("additional_attributes")).get("chat_id"))
        chat_id = (SOURCE_ID, source_id) if source_id else (CHAT_ID, in_attributes)
    who, carrier = identity(
        where["channel"],
        explicit=None,
        chat_id=chat_id,
        email=("meta.sender.email", text(contact.get("email"))),
        requester=f"chatwoot:{found}" if (found := text(contact.get("id"))) else None,
        helpdesk="Chatwoot",
    )
    data = {
        **where,
        "type": status_type(status),
        "case_id": text(body.get("id")),
        **who,
        "team": text(mapping(meta.get("team")).get("name")),
        "agent": text(mapping(meta.get("assignee")).get("name")),
        "tags": tag_list(body.get("labels"), ","),
        "priority": lower(body.get("priority")),
        "occurred_at": _moment(body.get("timestamp")),
        "attributes": present(
            {
                "helpdesk": "chatwoot",
                "event": kind,
                "status": status,
                "account_id": text(mapping(body.get("account")).get("id")),
                "inbox_id": text(body.get("inbox_id")),
                "inbox_channel": inbox_channel,
                "requester_id": text(contact.get("id")),
            }
        ),
    }
    return named_event(data, _FIELDS, carrier)


def _moment(value: Any) -> str | None:
    # Chatwoot sends times as unix seconds.
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (OverflowError, ValueError, OSError):  # past the year 9999: no time we can keep
            raise InvalidEvent.at(
                "timestamp", "must be unix seconds within the years 1-9999"
            ) from None
    return None
