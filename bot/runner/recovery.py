"""Rebuilding a conversation from SQL, the record of every survey, when the cache lost it."""

from __future__ import annotations

from bot.conversations import Conversation
from bot.runner.expiring import past
from bot.runner.outcomes import Outcome
from bot.runner.wiring import Wiring
from storage.answers import answers_for
from storage.invitations import get_invitation, mark_expired
from storage.open_surveys import open_invitation
from storage.respondents import get_respondent
from storage.tables import InvitationStatus
from surveys.conversation import (
    Asked,
    Finished,
    Rejected,
    RejectReason,
    Reply,
    Skip,
    Tap,
    Text,
    advance,
    start,
)
from surveys.definitions import Survey
from surveys.errors import UnknownSurvey
from surveys.messages import Message, message


async def recover(w: Wiring, invitation_id: int, language: str) -> Conversation | Outcome:
    """Rebuild a conversation from SQL when the state store lost it (restart, eviction)."""
    async with w.database.session() as session:
        invitation = await get_invitation(session, invitation_id)
        respondent = await get_respondent(session, invitation.respondent_id) if invitation else None
        answers = await answers_for(session, invitation_id) if invitation else []
    if invitation is None or respondent is None:
        return Outcome(message(Message.BAD_BUTTON, language))
    if invitation.status == InvitationStatus.COMPLETED:
        return Outcome(message(Message.ALREADY_DONE, language))
    if invitation.status == InvitationStatus.EXPIRED or past(invitation, w.clock()):
        async with w.database.session() as session:
            await mark_expired(session, invitation_id)
            await session.commit()
        return Outcome(message(Message.CLOSED, language))
    if invitation.status not in (InvitationStatus.SENT, InvitationStatus.STARTED):
        return Outcome(message(Message.BAD_BUTTON, language))
    try:
        survey = w.catalog.get(invitation.survey_id)
    except UnknownSurvey:
        return Outcome(message(Message.CLOSED, language))
    step: Asked | Finished | Rejected = start(
        survey, survey.resolve_language(invitation.language, respondent.language)
    )
    for answer in answers:
        replay: Reply = (
            Text(answer.text)
            if answer.text is not None
            else Tap(answer.question_id, answer.choice or str(answer.score))
        )
        step = _replay(survey, step, replay)
    assert invitation.expires_at is not None
    return Conversation(
        invitation_id=invitation_id,
        channel=invitation.channel,
        address=invitation.address,
        respondent=respondent.external_id,
        language_explicit=invitation.language is not None,
        prompt_ref=invitation.message_ref if not answers else None,
        expires_at=invitation.expires_at,
        state=step.state,
    )


async def waiting_in_sql(w: Wiring, channel: str, actor: str) -> int | None:
    """The survey waiting for the actor's next message, as SQL knows it: asked only when the
    state store has no pointer (Redis flushed, failed over or restarted; a restarted bot on the
    in-process store)."""
    async with w.database.session() as session:
        return await open_invitation(session, channel, actor, w.clock())


def _replay(
    survey: Survey, step: Asked | Finished | Rejected, reply: Reply
) -> Asked | Finished | Rejected:
    following = advance(survey, step.state, reply)
    if isinstance(following, Rejected) and following.reason == RejectReason.STALE:
        # The customer skipped an optional question in between: skip it and try again.
        skipped = advance(survey, step.state, Skip())
        if not isinstance(skipped, Rejected):
            return advance(survey, skipped.state, reply)
    return following
