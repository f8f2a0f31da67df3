"""The generic event body of POST /api/v1/events, and turning any mapped body into an Event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from bot.triggers.errors import FieldProblem, InvalidEvent
from surveys.rules import Event


class Source(StrEnum):
    """Where an event came in; stored with its decision."""

    API = "api"
    ZENDESK = "zendesk"
    FRESHDESK = "freshdesk"
    CHATWOOT = "chatwoot"


@dataclass(frozen=True)
class NamedEvent:
    """An event as read from its source, with the source's own names for its fields: a check
    made later (the channel refusing the recipient) names the field the source sent, a help
    desk's ``ticket.requester.external_id`` rather than ``recipient``."""

    event: Event
    names: Mapping[str, str] = field(default_factory=dict)


def problems_of(
    failure: ValidationError, names: Mapping[str, str] | None = None
) -> list[FieldProblem]:
    """Each validation error as a field and a message; `names` maps Event fields back to the
    field of the payload they came from (a help desk's `ticket.id` for `case_id`)."""
    found = []
    for error in failure.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        head = path.split(".", 1)[0]
        if names and head in names:
            path = names[head]
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append(FieldProblem(path, message))
    return found


def to_event(data: dict[str, Any], names: Mapping[str, str] | None = None) -> Event:
    """`data` as an Event, or InvalidEvent listing every field that is wrong."""
    try:
        return Event.model_validate(data)
    except ValidationError as failure:
        problems = problems_of(failure, names)
        listed = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise InvalidEvent("invalid_event", f"fix the fields listed: {listed}", problems) from None


def parse_event(body: Any) -> Event:
    """The body of POST /api/v1/events (a JSON object with the Event's fields)."""
    if not isinstance(body, dict):
        raise InvalidEvent.at("body", "the body must be a JSON object", code="invalid_json")
    try:
        return to_event(body)
    except InvalidEvent as failure:
        raise failure.about(body) from None
