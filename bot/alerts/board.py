"""The port a channel implements to show alerts in a team chat, and where they were posted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.alerts.view import AlertView


@dataclass(frozen=True)
class Posted:
    """One alert message: its channel, the chat it is in, and the platform's message id."""

    channel: str
    address: str
    ref: str


def pack_posted(posts: Iterable[Posted]) -> str:
    """``telegram:-100123:55 slack:C0123:1700000000.000100`` (the follow-up's ``alert_ref``).

    Chat ids, Slack channel ids, message ids and Slack timestamps hold no spaces, and only
    the message id part may be split off at the last colon.
    """
    return " ".join(f"{p.channel}:{p.address}:{p.ref}" for p in posts)


def unpack_posted(value: str | None) -> list[Posted]:
    posts: list[Posted] = []
    for item in (value or "").split():
        channel, _, rest = item.partition(":")
        address, _, ref = rest.rpartition(":")
        if channel and address and ref:
            posts.append(Posted(channel, address, ref))
    return posts


class AlertBoard(Protocol):
    """A team chat on one channel where alerts are posted and kept up to date.

    Implementations turn platform errors into ``AlertNotDelivered``; they decide nothing.
    """

    channel: str
    address: str

    async def post(self, view: AlertView) -> Posted:
        """Post a new alert with its buttons."""
        ...

    async def edit(self, posted: Posted, view: AlertView) -> None:
        """Replace a posted alert's text and buttons with ``view``."""
        ...
