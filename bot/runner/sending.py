"""Sending an invitation's first question, once, and closing old question messages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import conversations
from bot.channel import Channel
from bot.conversations import Conversation
from bot.errors import DeliveryFailed
from bot.runner.outcomes import Turn
from bot.runner.wiring import Wiring
from storage.invitations import (
    get_invitation,
    mark_failed,
    mark_sending,
    mark_sent,
    unclaim,
)
from storage.outages import unreachable
from storage.respondents import get_respondent
from storage.state import key
from storage.tables import Invitation, InvitationStatus
from surveys.conversation import Prompt, start
from surveys.errors import UnknownSurvey
from surveys.schedule import Window, send_time

log = logging.getLogger(__name__)

# Why an invitation claimed for sending but never confirmed is not sent again: the platform
# may have shown it already, and neither Telegram nor Slack takes an idempotency key.
INTERRUPTED_SEND = "interrupted during send; not resent to avoid a duplicate message"
# Once the platform took the message, recording it (`sent`) is tried again while PostgreSQL is
# away (restarting, out of connections) for this long: first after RECORD_SENT_FIRST_S, then
# twice as long each time, up to every RECORD_SENT_MAX_S. The customer has the question either
# way; without the record the row would be settled as interrupted. Kept below the worker's
# 60 s shutdown grace (bot/delivery/worker.py), after which procrastinate aborts the job anyway.
RECORD_SENT_WITHIN_S = 45.0
RECORD_SENT_FIRST_S = 0.25
RECORD_SENT_MAX_S = 2.0


async def deliver(w: Wiring, invitation_id: int, *, turn: Turn | None = None) -> InvitationStatus:
    """Send a scheduled invitation's first question, once (see `SurveyRunner.deliver`)."""
    async with w.state.lock(key("lock", invitation_id), timeout=60.0):
        async with w.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
            if invitation is None:
                raise LookupError(f"no invitation {invitation_id}")
            if invitation.status == InvitationStatus.SENDING:
                return await fail(w, invitation_id, INTERRUPTED_SEND)
            if invitation.status != InvitationStatus.SCHEDULED:
                return InvitationStatus(invitation.status)
            respondent = await get_respondent(session, invitation.respondent_id)
        channel = w.channels.get(invitation.channel)
        try:
            survey = w.catalog.get(invitation.survey_id)
        except UnknownSurvey:
            return await fail(w, invitation_id, f"survey '{invitation.survey_id}' is gone")
        if channel is None or respondent is None:
            return await fail(w, invitation_id, f"channel '{invitation.channel}' is off")
        asked = start(survey, survey.resolve_language(invitation.language, respondent.language))
        moment = await turn(invitation.channel, invitation.address) if turn else 0.0
        now = w.clock()
        expires_at = now + timedelta(hours=invitation.expiry_hours or survey.expiry_hours)
        reminder_at = _reminder_time(invitation, now, expires_at)
        conversation = Conversation(
            invitation_id=invitation_id,
            channel=invitation.channel,
            address=invitation.address,
            respondent=respondent.external_id,
            language_explicit=invitation.language is not None,
            prompt_ref=None,
            expires_at=expires_at,
            state=asked.state,
        )
        async with w.database.session() as session:
            claimed = await mark_sending(session, invitation_id, now)
            await session.commit()
        if not claimed:  # settled elsewhere since we looked (an expiry, say)
            return await _status(w, invitation_id)
        await sleep_until(moment)
        try:
            ref = await channel.send_prompt(invitation.address, invitation_id, asked.prompt)
        except DeliveryFailed as error:
            if error.permanent:
                return await fail(w, invitation_id, error.reason)
            async with w.database.session() as session:
                await unclaim(session, invitation_id)
                await session.commit()
            raise
        ttl = (expires_at - now).total_seconds()
        await conversations.save(w.state, conversation.model_copy(update={"prompt_ref": ref}), ttl)
        record = partial(
            mark_sent,
            invitation_id=invitation_id,
            message_ref=ref,
            sent_at=now,
            expires_at=expires_at,
            reminder_at=reminder_at,
        )
        try:
            await _record(w, record)
            return InvitationStatus.SENT
        except Exception as error:
            if not unreachable(error):
                raise
            log.warning(
                "invitation %s was sent, but PostgreSQL did not take it (%s): trying again "
                "for up to %.0f s",
                invitation_id,
                error,
                RECORD_SENT_WITHIN_S,
            )
    # Outside the lock: the conversation is saved, so the customer's answers need not wait.
    await _record_patiently(w, record)
    log.warning("invitation %s: its send is recorded after all", invitation_id)
    return InvitationStatus.SENT


async def _record(w: Wiring, record: Callable[[AsyncSession], Awaitable[bool]]) -> None:
    async with w.database.session() as session:
        await record(session)
        await session.commit()


async def _record_patiently(w: Wiring, record: Callable[[AsyncSession], Awaitable[bool]]) -> None:
    """`_record` again and again while PostgreSQL is away, for up to RECORD_SENT_WITHIN_S;
    then the last failure is raised (the row stays `sending`: see INTERRUPTED_SEND)."""
    wait, deadline = RECORD_SENT_FIRST_S, time.monotonic() + RECORD_SENT_WITHIN_S
    while True:
        await asyncio.sleep(wait)
        try:
            await _record(w, record)
            return
        except Exception as error:
            if not unreachable(error) or time.monotonic() + wait > deadline:
                raise
        wait = min(wait * 2, RECORD_SENT_MAX_S)


async def fail(w: Wiring, invitation_id: int, reason: str) -> InvitationStatus:
    """Mark the invitation failed for `reason` (logged)."""
    log.warning("invitation %s failed: %s", invitation_id, reason)
    async with w.database.session() as session:
        await mark_failed(session, invitation_id, reason)
        await session.commit()
    return InvitationStatus.FAILED


async def _status(w: Wiring, invitation_id: int) -> InvitationStatus:
    async with w.database.session() as session:
        invitation = await get_invitation(session, invitation_id)
    if invitation is None:
        raise LookupError(f"no invitation {invitation_id}")
    return InvitationStatus(invitation.status)


async def quietly_close(
    channel: Channel, address: str, ref: str, prompt: Prompt, label: str | None
) -> None:
    """Take an old question's buttons away; a failure is only logged."""
    # Only the look of an old message is at stake: the survey's state is already right.
    try:
        await channel.close_prompt(address, ref, prompt, label)
    except DeliveryFailed as error:
        log.info("could not close message %s in %s: %s", ref, address, error.reason)


async def sleep_until(moment: float) -> None:
    """Sleep until ``moment`` (epoch seconds, a granted turn's; 0: do not wait)."""
    ahead = moment - time.time()
    if ahead > 0:
        await asyncio.sleep(ahead)


def _reminder_time(
    invitation: Invitation, sent_at: datetime, expires_at: datetime
) -> datetime | None:
    """When to remind: the rule's hours after the send, moved into its send window in the
    customer's time zone as the first send was, if that still comes before the survey closes."""
    if not invitation.remind_after_hours:
        return None
    at = sent_at + timedelta(hours=invitation.remind_after_hours)
    if invitation.send_window is not None:
        window = Window.model_validate(invitation.send_window)
        at = send_time(at, window, invitation.timezone or "UTC")
    return at if at < expires_at else None
