"""The record of one live survey conversation, kept in the state store."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.state import BaseStateStore, Locked, StateKey, key
from surveys.conversation import ConversationState


class Conversation(BaseModel):
    """What a reply needs to find, check and continue its survey, without a SQL round trip."""

    model_config = ConfigDict(frozen=True)

    invitation_id: int
    channel: str
    address: str
    respondent: str
    language_explicit: bool
    prompt_ref: str | None
    expires_at: datetime
    state: ConversationState


# Namespaces: a conversation, and the lock its replies take.
CONVERSATION = "conv"
LOCK = "lock"


def conversation_key(invitation_id: int) -> StateKey:
    return key(CONVERSATION, invitation_id)


def lock_key(invitation_id: int) -> StateKey:
    """The lock every change to an invitation's survey takes."""
    return key(LOCK, invitation_id)


def active_key(channel: str, respondent: str) -> StateKey:
    """Points a respondent at the survey their next free-text message answers."""
    return key("active", channel, respondent)


# Stored compact, as a JSON array in this order (one open survey's conversation and pointer
# come to about 250 bytes of Redis instead of 480): the format's number, then the fields.
# The respondent is null when it is the address (a private chat), the expiry is whole epoch
# seconds. parse() still reads the older JSON object written before this format.
FORMAT = 1


def dumps(conversation: Conversation) -> str:
    """The conversation as stored: a compact JSON array (see FORMAT)."""
    state = conversation.state
    respondent = (
        None if conversation.respondent == conversation.address else conversation.respondent
    )
    expires = conversation.expires_at
    if expires.tzinfo is None:  # naive UTC, as storage.clock gives it
        expires = expires.replace(tzinfo=UTC)
    fields: list[Any] = [
        FORMAT,
        conversation.invitation_id,
        conversation.channel,
        conversation.address,
        respondent,
        1 if conversation.language_explicit else 0,
        conversation.prompt_ref,
        int(expires.timestamp()),
        state.survey_id,
        state.language,
        state.current,
        state.answers,
        state.skipped,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def parse(raw: str | None) -> Conversation | None:
    """The conversation stored as `raw` (read with a lock, say), None if there was none."""
    if raw is None:
        return None
    if not raw.startswith("["):  # written before the compact format
        return Conversation.model_validate_json(raw)
    (
        _,
        invitation_id,
        channel,
        address,
        respondent,
        explicit,
        prompt_ref,
        expires,
        survey_id,
        language,
        current,
        answers,
        skipped,
    ) = json.loads(raw)
    return Conversation(
        invitation_id=invitation_id,
        channel=channel,
        address=address,
        respondent=address if respondent is None else respondent,
        language_explicit=bool(explicit),
        prompt_ref=prompt_ref,
        expires_at=datetime.fromtimestamp(expires, UTC).replace(tzinfo=None),
        state=ConversationState(
            survey_id=survey_id,
            language=language,
            current=current,
            answers=answers,
            skipped=skipped,
        ),
    )


async def load(store: BaseStateStore, invitation_id: int) -> Conversation | None:
    return parse(await store.get(conversation_key(invitation_id)))


def _saved(conversation: Conversation) -> dict[StateKey, str]:
    return {
        conversation_key(conversation.invitation_id): dumps(conversation),
        active_key(conversation.channel, conversation.respondent): str(conversation.invitation_id),
    }


async def save(store: BaseStateStore, conversation: Conversation, ttl: float) -> None:
    """Store the conversation and point its respondent at it, together (one round trip)."""
    await store.set_many(_saved(conversation), ttl)


async def keep(store: BaseStateStore, conversation: Conversation, now: datetime) -> None:
    """`save` for as long as the survey stays open (nothing once it has closed)."""
    ttl = (conversation.expires_at - now).total_seconds()
    if ttl > 0:
        await save(store, conversation, ttl)


def save_on_release(locked: Locked, conversation: Conversation, ttl: float) -> None:
    """`save`, made as the lock is released (in the same round trip)."""
    locked.set_on_release(_saved(conversation), ttl)


async def forget(store: BaseStateStore, conversation: Conversation) -> None:
    await store.delete(conversation_key(conversation.invitation_id))
    # Only clear the pointer if it still names this survey: a newer invitation may own it.
    await store.delete_if_equals(
        active_key(conversation.channel, conversation.respondent), str(conversation.invitation_id)
    )


def forget_on_release(locked: Locked, conversation: Conversation) -> None:
    """`forget`, made as the lock is released (in the same round trip)."""
    locked.delete_on_release(conversation_key(conversation.invitation_id))
    locked.delete_on_release(
        active_key(conversation.channel, conversation.respondent),
        if_equals=str(conversation.invitation_id),
    )


def lock_active(
    store: BaseStateStore,
    channel: str,
    respondent: str,
    timeout: float,
    unless: StateKey | None = None,
) -> AbstractAsyncContextManager[Locked]:
    """Lock the survey the respondent's next message answers, reading its conversation with
    the lock and the pointer (one round trip). `locked.pointed` is the invitation id, None
    (nothing locked) when no survey waits for them; with `unless` (a seen-mark) set,
    `locked.seen` and nothing locked."""
    return store.lock_pointed(
        active_key(channel, respondent), LOCK, timeout, read=CONVERSATION, unless=unless
    )


async def active_invitation(store: BaseStateStore, channel: str, respondent: str) -> int | None:
    raw = await store.get(active_key(channel, respondent))
    return int(raw) if raw is not None else None
