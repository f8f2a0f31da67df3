"""Surveys sent to Telegram chats through cxbot's own invite and deliver: the seeding of the
burst (tests/bot/telegram/burst.py) and of bench/answers.py, not what either measures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bot.invite import InvitationRequest, invite
from bot.services import Services
from storage.tables import InvitationStatus


class Call(Protocol):
    """A Bot API call as a fake server recorded it."""

    method: str
    params: dict[str, Any]


async def send_nps(services: Services, chat: int, case_id: str) -> int:
    """Invite `chat` to the NPS survey and send its question at once: the invitation's id."""
    receipt = await invite(
        InvitationRequest(survey="nps", channel="telegram", recipient=str(chat), case_id=case_id),
        catalog=services.catalog,
        database=services.database,
        channels=services.channels,
    )
    invitation_id = receipt.invitation.id
    assert invitation_id is not None
    status = await services.runner.deliver(invitation_id)
    assert status == InvitationStatus.SENT, status
    return invitation_id


def questions_sent(calls: Iterable[Call]) -> dict[int, int]:
    """Chat -> the message id of the last message sent to it (its question, after seeding)."""
    return {
        int(call.params["chat_id"]): int(call.params["_message_id"])
        for call in calls
        if call.method == "sendMessage"
    }
