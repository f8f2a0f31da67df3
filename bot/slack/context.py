"""Where a Slack interaction happened, and whether the survey it touched is the tapper's."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.conversations import Conversation
from bot.runner import SurveyRunner
from bot.slack.blocks import SurveyButton
from storage.outages import unreachable
from surveys.messages import Message, message

log = logging.getLogger(__name__)

SLACK = "slack"
# Posts a notice to one person where they tapped (ephemeral), or nothing when text is None.
Notify = Callable[["Where", str, "str | None"], Awaitable[None]]


@dataclass(frozen=True)
class Where:
    """The conversation a tap came from: a DM (``D...``) or a channel, and the thread in it."""

    channel: str | None
    thread: str | None

    @property
    def in_dm(self) -> bool:
        return self.channel is None or self.channel.startswith("D")


def where(body: dict[str, Any]) -> Where:
    """The channel and thread of a block_actions payload (a message's buttons)."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread = (body.get("message") or {}).get("thread_ts") or container.get("thread_ts")
    return Where(
        str(channel) if channel else None,
        str(thread) if thread else None,
    )


class Tapped(NamedTuple):
    """Who tapped which of our buttons, and where."""

    user: str
    place: Where
    button: SurveyButton


async def tapped(body: dict[str, Any], action: dict[str, Any], notify: Notify) -> Tapped | None:
    """The tap of a block_actions payload; None, the tapper told, for a value our buttons never
    carry (forged, or from an older cxbot)."""
    user = str(body["user"]["id"])
    place = where(body)
    try:
        button = SurveyButton.unpack(str(action.get("value", "")))
    except ValueError:
        await notify(place, user, message(Message.BAD_BUTTON, "en"))
        return None
    return Tapped(user, place, button)


async def someone_else(
    runner: SurveyRunner, invitation_id: int, user: str
) -> tuple[Conversation | None, str | None]:
    """The invitation's live conversation, and the notice for `user` if it is not theirs
    ("this survey is for @Ana", in the survey's language).

    Only a courtesy before the runner, which decides under the survey's lock. A conversation
    the state store lost (Redis flushed, a restart on the in-process store) is rebuilt from
    SQL, so that the modal still asks the survey's question in its language and a stranger
    is still told whose survey it is.
    """
    try:
        conversation = await runner.conversation(invitation_id)
    except Exception as error:
        if not unreachable(error):
            raise
        # The runner meets the outage too, and keeps the reply to try again (replay.py).
        log.warning("slack: could not check whose survey %s is: %s", invitation_id, error)
        return None, None
    if conversation is None or conversation.channel != SLACK:
        return None, None  # not a Slack survey's: the runner says so
    if conversation.respondent == user:
        return conversation, None
    notice = message(
        Message.FOR_SOMEONE, conversation.state.language, who=f"<@{conversation.respondent}>"
    )
    return conversation, notice
