"""Reminding a customer, once, of a survey they have not answered."""

from __future__ import annotations

from dataclasses import replace

from bot import conversations
from bot.conversations import Conversation
from bot.errors import DeliveryFailed
from bot.runner.expiring import past
from bot.runner.outcomes import Outcome, Turn
from bot.runner.recovery import recover
from bot.runner.sending import quietly_close, sleep_until
from bot.runner.wiring import Wiring
from storage.invitations import get_invitation, mark_reminded, set_message_ref, unmark_reminded
from storage.state import key
from storage.tables import InvitationStatus
from surveys.conversation import current_prompt
from surveys.errors import UnknownSurvey
from surveys.messages import Message, message


async def remind_invitation(w: Wiring, invitation_id: int, *, turn: Turn | None = None) -> bool:
    """Ask a sent, still unanswered invitation's first question again, once (see
    `SurveyRunner.remind_invitation`)."""
    async with w.state.lock(key("lock", invitation_id), timeout=60.0):
        async with w.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
        if (
            invitation is None
            or invitation.status != InvitationStatus.SENT
            or invitation.reminded_at is not None
            or past(invitation, w.clock())
        ):
            return False
        channel = w.channels.get(invitation.channel)
        found: Conversation | Outcome | None = await conversations.load(w.state, invitation_id)
        if found is None:
            found = await recover(w, invitation_id, "en")
        if channel is None or not isinstance(found, Conversation):
            return False
        try:
            survey = w.catalog.get(invitation.survey_id)
        except UnknownSurvey:
            return False
        prompt = current_prompt(survey, found.state)
        if prompt is None:
            return False
        line = message(Message.REMINDER, prompt.language)
        reminder = replace(prompt, text=f"{line}\n\n{prompt.text}")
        moment = await turn(invitation.channel, invitation.address) if turn else 0.0
        async with w.database.session() as session:
            claimed = await mark_reminded(session, invitation_id, w.clock())
            await session.commit()
        if not claimed:
            return False
        await sleep_until(moment)
        try:
            ref = await channel.send_prompt(invitation.address, invitation_id, reminder)
        except DeliveryFailed as error:
            if not error.permanent:
                async with w.database.session() as session:
                    await unmark_reminded(session, invitation_id)
                    await session.commit()
            raise
        async with w.database.session() as session:
            await set_message_ref(session, invitation_id, ref)
            await session.commit()
        await conversations.keep(w.state, found.model_copy(update={"prompt_ref": ref}), w.clock())
        if found.prompt_ref is not None:
            await quietly_close(channel, found.address, found.prompt_ref, prompt, None)
        return True
