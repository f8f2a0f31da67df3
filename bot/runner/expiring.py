"""Closing a survey whose time ran out: its status, its cached conversation, its message."""

from __future__ import annotations

from datetime import datetime

from bot import conversations
from bot.conversations import Conversation
from bot.runner.sending import quietly_close
from bot.runner.wiring import Wiring
from storage.invitations import expire_sent, get_invitation, mark_expired
from storage.respondents import get_respondent
from storage.state import key
from storage.tables import Invitation, InvitationStatus
from surveys.conversation import current_prompt, start
from surveys.errors import UnknownSurvey
from surveys.messages import Message, message


async def expire_invitation(w: Wiring, invitation_id: int) -> bool:
    """Close a sent or started survey whose time ran out (see `SurveyRunner`)."""
    async with w.state.lock(key("lock", invitation_id), timeout=60.0):
        async with w.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
            if invitation is None:
                return False
            answered = invitation.status == InvitationStatus.STARTED
            if not await expire_sent(session, invitation_id):
                return False
            await session.commit()
            respondent = await get_respondent(session, invitation.respondent_id)
        conversation = await conversations.load(w.state, invitation_id)
        if conversation is not None:
            await conversations.forget(w.state, conversation)
        # The conversation names the question showing now; without it (its time-to-live
        # ends at the expiry too) SQL knows the question only while none was answered.
        ref = conversation.prompt_ref if conversation is not None else None
        if ref is None and not answered:
            ref = invitation.message_ref
        channel = w.channels.get(invitation.channel)
        if ref is None or channel is None:
            return True
        try:
            survey = w.catalog.get(invitation.survey_id)
        except UnknownSurvey:
            return True
        state = (
            conversation.state
            if conversation is not None
            else start(
                survey,
                survey.resolve_language(
                    invitation.language, respondent.language if respondent else None
                ),
            ).state
        )
        prompt = current_prompt(survey, state)
        if prompt is not None:
            closed = message(Message.CLOSED, state.language)
            await quietly_close(channel, invitation.address, ref, prompt, closed)
        return True


async def expire(w: Wiring, conversation: Conversation) -> None:
    """Close a conversation found past its time (a late reply): forget it, mark it expired."""
    await conversations.forget(w.state, conversation)
    async with w.database.session() as session:
        await mark_expired(session, conversation.invitation_id)
        await session.commit()


def past(invitation: Invitation, now: datetime) -> bool:
    """Whether the invitation's survey has closed by `now`."""
    return invitation.expires_at is not None and now >= invitation.expires_at
