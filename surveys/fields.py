"""The fields events and invitations share, typed once: the same value is taken or refused alike.

Every text field is stripped, must not be empty, has a maximum length that fits its column, and
must not hold a control character (C0, DEL, C1): NUL cannot be stored by PostgreSQL, and a line
break, a tab or an escape inside an id or a name is never meant, would split a log line or a
chat message, and makes a case that `/why` cannot be asked about. Ids (case, recipient, user)
may be sent as JSON whole numbers, as help desks and Telegram number them; other numbers, and
booleans, are refused.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

from surveys.schedule import check_zone, naive_utc

__all__ = [
    "LIMITS",
    "MAX_ATTRIBUTES_BYTES",
    "Attributes",
    "CaseId",
    "ChannelName",
    "EventType",
    "Label",
    "Language",
    "Moment",
    "NoControl",
    "Priority",
    "Recipient",
    "SurveyId",
    "Tag",
    "Tags",
    "UserId",
    "Zone",
]

# The longest value of each field; the README's table of fields says the same.
LIMITS = {
    "survey": 64,
    "type": 64,
    "case_id": 200,
    "channel": 32,
    "recipient": 254,  # the longest email address
    "user": 64,
    "language": 16,
    "timezone": 64,
    "team": 128,
    "agent": 128,
    "priority": 32,
    "tag": 64,
}
MAX_TAGS = 50
MAX_ATTRIBUTES_BYTES = 16 * 1024  # `attributes` as compact JSON


# C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F): Unicode's category Cc.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"must not contain a control character (U+{ord(found.group()):04X} at character "
            f"{found.start() + 1}): ids and names are one line of text, without tabs, line "
            "breaks, escapes or NUL"
        )
    return value


def _whole_number_as_text(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be text, or a whole number")
    return str(value) if isinstance(value, int) else value


def _text(name: str, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=LIMITS[name])


NoControl = AfterValidator(_no_control)
# Last in an Annotated, so that it runs first, before the string's own checks.
AsText = BeforeValidator(_whole_number_as_text)

SurveyId = Annotated[str, _text("survey"), NoControl]
EventType = Annotated[str, _text("type"), NoControl]
CaseId = Annotated[str, _text("case_id"), NoControl, AsText]
ChannelName = Annotated[str, _text("channel"), NoControl]
Recipient = Annotated[str, _text("recipient"), NoControl, AsText]  # chat id, Slack id or email
UserId = Annotated[str, _text("user"), NoControl, AsText]
Language = Annotated[str, _text("language", min_length=2), NoControl]
Zone = Annotated[str, _text("timezone"), NoControl, AfterValidator(check_zone)]
Label = Annotated[str, _text("team"), NoControl, AsText]  # a team's or an agent's name or id
Priority = Annotated[str, _text("priority"), NoControl]


def _no_comma(tag: str) -> str:
    # Invitations store tags as ",vip,refund,"; a comma inside a tag would split it.
    if "," in tag:
        raise ValueError(f"tag {tag!r} contains a comma")
    return tag


Tag = Annotated[str, _text("tag"), NoControl, AfterValidator(_no_comma)]
Tags = Annotated[tuple[Tag, ...], Field(max_length=MAX_TAGS)]


def _utc_moment(moment: datetime) -> datetime:
    try:
        return naive_utc(moment)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
        raise ValueError("is out of range once converted to UTC") from None


Moment = Annotated[datetime, AfterValidator(_utc_moment)]  # stored as naive UTC


def _tag_text(value: Any) -> Any:
    # An invitation's attributes may carry tags as "vip,refund".
    return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class _Promoted(BaseModel):
    """The attributes reports read (team, agent, tags, priority), typed as an event's fields."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    team: Label | None = None
    agent: Label | None = None
    tags: Annotated[Tags, BeforeValidator(_tag_text)] | None = None
    priority: Priority | None = None


_PROMOTED = TypeAdapter(_Promoted)


def _attributes(value: dict[str, Any]) -> dict[str, Any]:
    checked = _PROMOTED.validate_python(value).model_dump(exclude_unset=True)
    if isinstance(checked.get("tags"), tuple):
        checked["tags"] = list(checked["tags"])
    size = len(json.dumps(checked, separators=(",", ":"), default=str).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(
            f"attributes take at most {MAX_ATTRIBUTES_BYTES // 1024} KiB as JSON, not {size} bytes"
        )
    for key in checked:
        if not 0 < len(key) <= 64 or "\x00" in key:
            raise ValueError(
                f"attribute names are 1 to 64 characters without NUL, not {key[:70]!r}"
            )
    return checked


# Free-form context kept with the invitation; team, agent, tags and priority are checked as
# the event fields of the same names.
Attributes = Annotated[dict[str, Any], AfterValidator(_attributes)]
