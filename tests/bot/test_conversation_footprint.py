"""What an open survey costs in Redis: its conversation and its respondent's pointer, measured
with MEMORY USAGE on the real server, at most 300 bytes together (it was 480)."""

from __future__ import annotations

import secrets
from datetime import datetime

from redis.asyncio import Redis

from bot import conversations
from bot.conversations import Conversation
from storage.state import RedisStateStore
from surveys.conversation import ConversationState

WEEK = 7 * 24 * 3600.0


def waiting_for_comment(invitation_id: int, chat: str = "1234567890") -> Conversation:
    """An NPS survey answered 9 in a private Telegram chat, its "why?" showing."""
    return Conversation(
        invitation_id=invitation_id,
        channel="telegram",
        address=chat,
        respondent=chat,
        language_explicit=False,
        prompt_ref=f"{chat}:4242",
        expires_at=datetime(2026, 12, 10, 17, 51, 48),
        state=ConversationState(
            survey_id="nps", language="pl", current="why", answers={"nps": 9}, skipped=[]
        ),
    )


async def test_an_open_survey_takes_at_most_300_bytes_of_redis(redis_url: str) -> None:
    # The production prefix is "cxbot": a unique one of the same length keeps runs apart.
    prefix = f"cx{secrets.token_hex(2)[:3]}"
    store = RedisStateStore(redis_url, prefix=prefix)
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    invitation_id = 2_000_000_000 + secrets.randbelow(100_000_000)
    conversation = waiting_for_comment(invitation_id)
    names = [
        conversations.conversation_key(invitation_id).render(prefix),
        conversations.active_key("telegram", "1234567890").render(prefix),
    ]
    try:
        await conversations.save(store, conversation, WEEK)
        used = [await client.memory_usage(name) for name in names]
        assert all(isinstance(size, int) for size in used), used
        assert sum(used) <= 300, dict(zip(names, used, strict=True))
        assert await conversations.load(store, invitation_id) == conversation
    finally:
        await client.delete(*names)
        await client.aclose()
        await store.close()


def test_the_compact_form_reads_back_what_was_stored() -> None:
    group = waiting_for_comment(7).model_copy(
        update={"address": "-100500", "respondent": "1001", "language_explicit": True}
    )
    for conversation in (waiting_for_comment(7), group):
        raw = conversations.dumps(conversation)
        assert raw.startswith("[") and len(raw) < 120
        assert conversations.parse(raw) == conversation


def test_a_conversation_stored_before_the_compact_form_still_reads() -> None:
    conversation = waiting_for_comment(7)
    assert conversations.parse(conversation.model_dump_json()) == conversation
