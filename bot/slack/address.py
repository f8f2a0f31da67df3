"""Where a Slack survey goes: the customer's DM, or a channel (and a thread in it) for one user.

An invitation's ``recipient`` names the place; ``user`` names the customer when the place is
a channel. The stored address packs both, so the channel needs nothing else to post, mention
and answer ephemerally:

- ``U012AB3CD``: the customer's DM with the app (as before channels existed);
- ``C012AB3CD:U012AB3CD``: the channel's top level, for that user;
- ``C012AB3CD/1712345678.123456:U012AB3CD``: the thread under that message, for that user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bot.errors import InvalidRecipient

# Users of the workspace and of Slack Connect partner organisations (U...), Enterprise Grid (W...).
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Public (C...) and private (G..., older private channels) channels, shared ones included.
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
# A message's ts: seconds, a dot, six digits (Slack's own form, which `thread_ts` takes).
THREAD_TS = re.compile(r"^\d{9,10}\.\d{6}$")
# A message's link ("Copy link"): /archives/<channel>/p<ts without its dot>, with
# ?thread_ts=<parent>&cid=<channel> when the message is a reply in a thread.
PERMALINK_PATH = re.compile(r"^/archives/([CG][A-Z0-9]{2,})/p(\d{9,10})(\d{6})/?$")

FORMS = (
    "a Slack user id such as U012AB3CD or an email (a DM), or a channel id such as C012AB3CD, "
    '"C012AB3CD/<thread_ts>" or a message link (a channel or its thread, with "user")'
)


@dataclass(frozen=True)
class SlackAddress:
    """A DM (``channel`` None) or a channel and optional thread, and the user it is for."""

    user: str
    channel: str | None = None
    thread: str | None = None

    def pack(self) -> str:
        if self.channel is None:
            return self.user
        place = f"{self.channel}/{self.thread}" if self.thread else self.channel
        return f"{place}:{self.user}"

    @classmethod
    def parse(cls, address: str) -> SlackAddress:
        """The address `pack` made (a bare user id is a DM, as stored before channels)."""
        place, sep, user = address.rpartition(":")
        if not sep:
            return cls(user=address)
        channel, _, thread = place.partition("/")
        return cls(user=user, channel=channel, thread=thread or None)


@dataclass(frozen=True)
class Place:
    """A channel, and the thread in it, named by an invitation's recipient."""

    channel: str
    thread: str | None


def channel_place(recipient: str) -> Place | None:
    """The channel (and thread) `recipient` names, None when it names a person (a DM).

    Raises InvalidRecipient for a channel form that is malformed (a bad ts, a foreign link).
    """
    if recipient.startswith(("https://", "http://")):
        return _from_link(recipient)
    channel, sep, thread = recipient.partition("/")
    if not CHANNEL_ID.match(channel):
        if sep:
            raise InvalidRecipient(f"recipient must be {FORMS}, not {recipient!r}")
        return None
    if not sep:
        return Place(channel, None)
    if not THREAD_TS.match(thread):
        raise InvalidRecipient(
            f"the thread in {recipient!r} must be the parent message's ts, such as "
            "1712345678.123456 (its thread_ts)"
        )
    return Place(channel, thread)


def _from_link(link: str) -> Place:
    parts = urlsplit(link)
    found = PERMALINK_PATH.match(parts.path)
    host = parts.hostname or ""
    if not found or not (host == "slack.com" or host.endswith(".slack.com")):
        raise InvalidRecipient(
            f"{link!r} is not a Slack message link such as "
            "https://acme.slack.com/archives/C012AB3CD/p1712345678123456"
        )
    channel, seconds, micros = found.groups()
    # A reply's link names its thread's parent: the survey goes in that thread (Slack asks for
    # the parent's ts as thread_ts, never a reply's).
    parents = parse_qs(parts.query).get("thread_ts", [])
    thread = parents[0] if parents and THREAD_TS.match(parents[0]) else f"{seconds}.{micros}"
    return Place(channel, thread)
