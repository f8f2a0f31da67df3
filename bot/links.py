"""Opening an invitation's link (Telegram's ``/start <token>``): bind the chat that opened it
to the person the invitation was made for, and ask the survey's first question at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.runner import Outcome, SurveyRunner, notice_language, supported_language
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import bind_link
from storage.links import TOKEN_PATTERN, invitation_by_token
from storage.people import link_addresses
from storage.respondents import get_respondent, upsert_respondent
from storage.tables import Invitation, InvitationStatus, Respondent
from surveys.messages import Message, message

log = logging.getLogger(__name__)

S = InvitationStatus
_CLOSED = (S.EXPIRED.value, S.FAILED.value)


class LinkOpener:
    """What a person who opens an invitation's link gets: its question (sent now if it was
    waiting, shown again if it was sent), or a polite word when the link cannot serve them."""

    def __init__(
        self,
        runner: SurveyRunner,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runner = runner
        self.database = database
        self.clock = clock

    async def open(
        self, channel: str, token: str, actor: str, address: str, hint: str | None
    ) -> Outcome:
        """``actor`` (a user id on ``channel``) opened the link carrying ``token`` in the chat
        ``address``. Opening it twice shows the same question again; nothing is sent twice."""
        language = notice_language(hint)
        if not TOKEN_PATTERN.fullmatch(token):
            return Outcome(message(Message.LINK_UNKNOWN, language))
        for _ in range(2):  # a second look only when another account bound it meanwhile
            async with self.database.session() as session:
                invitation = await invitation_by_token(session, token)
                respondent = (
                    await get_respondent(session, invitation.respondent_id) if invitation else None
                )
            if invitation is None or respondent is None or invitation.channel != channel:
                return Outcome(message(Message.LINK_UNKNOWN, language))
            assert invitation.id is not None
            if invitation.status == S.AWAITING_LINK:
                if await self._expired(invitation):
                    return Outcome(message(Message.CLOSED, language))
                if await self._bind(invitation, respondent, actor, address, hint):
                    return await self._send(invitation.id, language)
                continue
            return await self._opened_again(invitation, respondent, actor, hint, language)
        return Outcome(message(Message.LINK_TAKEN, language))

    async def _expired(self, invitation: Invitation) -> bool:
        """True when its time is up (then closed now, as its expiry job would)."""
        if invitation.expires_at is None or self.clock() < invitation.expires_at:
            return False
        assert invitation.id is not None
        await self.runner.expire_invitation(invitation.id)
        return True

    async def _bind(
        self,
        invitation: Invitation,
        identity: Respondent,
        actor: str,
        address: str,
        hint: str | None,
    ) -> bool:
        """Make the invitation out to the actor's chat, and the chat one of the person's
        addresses (the next invitation for their email goes straight to it). False when
        another account bound it first."""
        assert invitation.id is not None
        async with self.database.session() as session:
            chat = await upsert_respondent(
                session, invitation.channel, actor, supported_language(hint)
            )
            assert chat.id is not None
            if not await bind_link(session, invitation.id, chat.id, address):
                await session.rollback()
                return False
            await link_addresses(session, [identity, chat])
            await session.commit()
        log.info("invitation %s: link opened, bound to a %s chat", invitation.id, chat.channel)
        return True

    async def _send(self, invitation_id: int, language: str) -> Outcome:
        status = await self.runner.deliver(invitation_id)
        if status == S.FAILED:
            return Outcome(message(Message.CLOSED, language))
        return Outcome()

    async def _opened_again(
        self,
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
            return await self._send(invitation.id, language)
        if invitation.status in _CLOSED or await self._expired(invitation):
            return Outcome(message(Message.CLOSED, language))
        if invitation.status == S.SENDING:  # on its way this very moment
            return Outcome()
        return await self.runner.remind(invitation.channel, actor, hint)
