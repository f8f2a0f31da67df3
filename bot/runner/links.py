"""Opening an invitation's link (Telegram's ``/start <token>``): bind the chat that opened it
to the person the invitation was made for, and ask the survey's first question at once."""

from __future__ import annotations

import logging

from bot.runner.answering import show_again
from bot.runner.expiring import expire_invitation
from bot.runner.outcomes import Outcome, notice_language, supported_language
from bot.runner.sending import deliver
from bot.runner.wiring import Wiring
from storage.invitations import bind_link
from storage.links import TOKEN_PATTERN, invitation_by_token
from storage.people import link_addresses
from storage.respondents import get_respondent, upsert_respondent
from storage.tables import Invitation, InvitationStatus, Respondent
from surveys.messages import Message, message

log = logging.getLogger(__name__)

S = InvitationStatus
_CLOSED = (S.EXPIRED.value, S.FAILED.value)


async def open_link(
    w: Wiring, channel: str, token: str, actor: str, address: str, hint: str | None
) -> Outcome:
    """``actor`` (a user id on ``channel``) opened the link carrying ``token`` in the chat
    ``address`` (see `SurveyRunner.open_link`)."""
    language = notice_language(hint)
    if not TOKEN_PATTERN.fullmatch(token):
        return Outcome(message(Message.LINK_UNKNOWN, language))
    for _ in range(2):  # a second look only when another account bound it meanwhile
        async with w.database.session() as session:
            invitation = await invitation_by_token(session, token)
            respondent = (
                await get_respondent(session, invitation.respondent_id) if invitation else None
            )
        if invitation is None or respondent is None or invitation.channel != channel:
            return Outcome(message(Message.LINK_UNKNOWN, language))
        assert invitation.id is not None
        if invitation.status == S.AWAITING_LINK:
            if await _expired(w, invitation):
                return Outcome(message(Message.CLOSED, language))
            if await _bind(w, invitation, respondent, actor, address, hint):
                return await _send(w, invitation.id, language)
            continue
        return await _opened_again(w, invitation, respondent, actor, hint, language)
    return Outcome(message(Message.LINK_TAKEN, language))


async def _expired(w: Wiring, invitation: Invitation) -> bool:
    """True when its time is up (then closed now, as its expiry job would)."""
    if invitation.expires_at is None or w.clock() < invitation.expires_at:
        return False
    assert invitation.id is not None
    await expire_invitation(w, invitation.id)
    return True


async def _bind(
    w: Wiring,
    invitation: Invitation,
    identity: Respondent,
    actor: str,
    address: str,
    hint: str | None,
) -> bool:
    """Make the invitation out to the actor's chat, and the chat one of the person's
    addresses (the next invitation for their email goes straight to it). False when another
    account bound it first."""
    assert invitation.id is not None
    async with w.database.session() as session:
        chat = await upsert_respondent(session, invitation.channel, actor, supported_language(hint))
        assert chat.id is not None
        if not await bind_link(session, invitation.id, chat.id, address):
            await session.rollback()
            return False
        await link_addresses(session, [identity, chat])
        await session.commit()
    log.info("invitation %s: link opened, bound to a %s chat", invitation.id, chat.channel)
    return True


async def _send(w: Wiring, invitation_id: int, language: str) -> Outcome:
    status = await deliver(w, invitation_id)
    if status == S.FAILED:
        return Outcome(message(Message.CLOSED, language))
    if status == S.SENT:
        for listener in list(w.sent_listeners):
            try:
                await listener(invitation_id)
            except Exception:  # the sweep queues what is missed; the customer has the question
                log.exception("sent listener %r failed for invitation %s", listener, invitation_id)
    return Outcome()


async def _opened_again(
    w: Wiring,
    invitation: Invitation,
    respondent: Respondent,
    actor: str,
    hint: str | None,
    language: str,
) -> Outcome:
    """A link already bound to a chat (or made out to one): only that account may use it."""
    assert invitation.id is not None
    if respondent.channel != invitation.channel or respondent.external_id != actor:
        return Outcome(message(Message.LINK_TAKEN, language))
    if invitation.status == S.COMPLETED:
        return Outcome(message(Message.ALREADY_DONE, language))
    if invitation.status == S.SCHEDULED:  # opened before its delay was up: now, then
        return await _send(w, invitation.id, language)
    if invitation.status in _CLOSED or await _expired(w, invitation):
        return Outcome(message(Message.CLOSED, language))
    if invitation.status == S.SENDING:  # on its way this very moment
        return Outcome()
    return await show_again(w, invitation.channel, actor, hint, invitation_id=invitation.id)
