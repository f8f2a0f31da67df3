"""What help desk hooks share: reading placeholders, statuses, the customer's identity."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.triggers.errors import InvalidEvent
from bot.triggers.events import NamedEvent, to_event

# A help desk's reading of its hook's body (and the hook URL's query), and of what a refused
# one still says about its case.
Reader = Callable[[Mapping[str, Any], Mapping[str, str]], NamedEvent]
Known = Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, str | None]]

# Query parameters of the hook URLs (the help desks cannot add fields to their own events).
QUERY_FIELDS = ("channel", "timezone", "language")
RECIPIENT = "ticket.recipient"  # the body field that names the customer's chat id outright
# A payload's field, and what it holds (None: absent or blank).
Given = tuple[str, str | None]

_STATUS_TYPES = {
    "new": "case.new",
    "open": "case.open",
    "pending": "case.pending",
    "hold": "case.on_hold",
    "on-hold": "case.on_hold",
    "on hold": "case.on_hold",
    "solved": "case.solved",
    "resolved": "case.solved",  # Freshdesk's word for Zendesk's "solved"
    "closed": "case.closed",
}
_SLUG = re.compile(r"[^a-z0-9]+")


def text(value: Any) -> str | None:
    """A placeholder's value as text; None when blank, when the help desk left it unrendered,
    or when it rendered an empty field as "-" (Zendesk does for a ticket with no priority)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    rendered = str(value).strip()
    if rendered in ("", "-") or ("{{" in rendered and "}}" in rendered):
        return None
    return rendered


def hook_event(body: Any, query: Mapping[str, str], read: Reader, known: Known) -> NamedEvent:
    """The event `read` finds in a hook's JSON `body`; InvalidEvent says what the payload
    lacks, with what `known` still finds about its case (for `/why`)."""
    if not isinstance(body, dict):
        raise InvalidEvent.at("body", "the body must be a JSON object", code="invalid_json")
    try:
        return read(body, query)
    except InvalidEvent as failure:
        raise failure.about(known(body, query)) from None


def name_of(value: Any) -> str | None:
    """A named thing's name: {{ticket.group.name}} may be sent as "group": "..." or as
    "group": {"name": "..."}."""
    return text(mapping(value).get("name")) if isinstance(value, dict) else text(value)


def status_type(status: str) -> str:
    """The event type of a help desk status: Solved -> case.solved, Closed -> case.closed."""
    folded = status.strip().casefold()
    return _STATUS_TYPES.get(folded) or "case." + (_SLUG.sub("_", folded).strip("_") or "unknown")


def tag_list(value: Any, separator: str | None) -> list[str]:
    """Tags from a list, or from text split on `separator` (None: on whitespace)."""
    if isinstance(value, list):
        return [tag for item in value if (tag := text(item))]
    rendered = text(value)
    if rendered is None:
        return []
    return [tag.strip() for tag in rendered.split(separator) if tag.strip()]


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one (a help desk left it out)."""
    return value if isinstance(value, dict) else {}


def from_query(query: Mapping[str, str], body_channel: str | None = None) -> dict[str, str]:
    """channel (required), timezone and language from the hook URL's query string."""
    found = {name: value for name in QUERY_FIELDS if (value := text(query.get(name)))}
    channel = found.get("channel") or body_channel
    if channel is None:
        raise InvalidEvent.at(
            "channel",
            "say which chat the customer is on: add ?channel=telegram (or slack) to the hook URL",
            code="missing_identity",
        )
    found["channel"] = channel
    return found


def identity(
    channel: str,
    *,
    explicit: Given | None,
    chat_id: Given,
    email: Given | None,
    requester: str | None,
    helpdesk: str,
) -> tuple[dict[str, Any], str]:
    """The event's ``recipient`` and ``person``: the customer's id on `channel` (an explicit
    recipient, else the chat id field, else on Slack the email), and what the help desk knows
    of them (email, ``<help desk>:<requester id>``); and the field the recipient came from
    (the chat id's when none did), which a 422 about it names. Without a chat id a Telegram
    survey waits for its link; InvalidEvent (422) saying what to configure when nothing is
    known."""
    candidates = [explicit, chat_id, email if channel == "slack" else None]
    given = [(name, value) for name, value in filter(None, candidates) if value]
    carrier, found = given[0] if given else (chat_id[0], None)
    person = present({"email": email[1] if email else None, "requester": requester})
    chat_id_field = chat_id[0]
    if found is None and not person:
        also = "" if channel == "slack" else "; for Slack (?channel=slack) the email is enough"
        explicitly = "" if chat_id_field == RECIPIENT else f", or send it as {RECIPIENT}"
        raise InvalidEvent.at(
            chat_id_field,
            f"the {helpdesk} payload has no chat identity for the customer: fill "
            f"{chat_id_field} with their {channel} id{explicitly}, or send their email{also}",
            code="missing_identity",
        )
    return present({"recipient": found, "person": person or None}), carrier


def named_event(data: dict[str, Any], names: Mapping[str, str], recipient: str) -> NamedEvent:
    """`data` as an event, its fields named as the payload names them (``recipient``: the
    field it came from), for the 422s of this reading and of the checks after it."""
    named = {**names, "recipient": recipient}
    return NamedEvent(to_event(present(data), named), named)


def lower(value: Any) -> str | None:
    """A placeholder's value in lower case (priorities: "High" -> "high")."""
    found = text(value)
    return found.lower() if found else None


def present(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its missing fields, so that an Event says "Field required" rather than
    "not a string"."""
    return {name: value for name, value in data.items() if value is not None}
