"""Privacy commands: a customer forgets themselves, an admin forgets a customer, and the
retention setting with its last purge."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from bot import conversations
from bot.admin.access import Role
from bot.admin.replies import Actor, AdminReply
from storage.audit import latest_audit
from storage.db import Database
from storage.privacy import PURGE_ACTION, ForgetResult, forget_respondent
from storage.state import BaseStateStore, key

# The chat channels, and the addresses a help desk knows a person by (email, requester id).
CHANNELS = ("telegram", "slack", "email", "requester")
# A Slack user mention as a slash command passes it: <@U012ABC|ana> or <@U012ABC>.
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
# The runner's per-invitation lock (bot.runner): held while a conversation is dropped, so a
# reply in flight cannot save it back.
LOCK_TIMEOUT = 30.0


def forget_usage(typed: str) -> str:
    return (
        f"usage: {typed}forget CHANNEL ID, e.g. {typed}forget telegram 12345 or "
        f"{typed}forget slack U012ABC, {typed}forget email ana@example.com or "
        f"{typed}forget requester zendesk:12345 ({typed}forget alone forgets yourself)"
    )


def parse_target(args: str) -> tuple[str, str] | None:
    """``"telegram 12345"``, ``"telegram:12345"`` or ``"slack <@U1|ana>"`` -> (channel, id)."""
    parts = args.split()
    if len(parts) == 1:
        parts = args.strip().split(":", 1)
    if len(parts) != 2 or parts[0].lower() not in CHANNELS:
        return None
    channel, user_id = parts[0].lower(), parts[1]
    if mention := _MENTION.match(user_id):
        user_id = mention[1]
    return channel, user_id


def self_forget_text(result: ForgetResult | None, channel: str) -> str:
    """What a customer is told after ``/forget``: what went, what stays."""
    if result is None:
        return "cxbot had nothing stored about you: no survey was ever sent to this account."
    if not result.invitation_ids:
        return (
            f"Done. cxbot deleted your {channel.title()} account id; it held no survey answers "
            "of yours."
        )
    closed = (
        f" {result.cancelled} survey(s) still open for you were closed." if result.cancelled else ""
    )
    return (
        f"Done. cxbot deleted your {result.comments} comment(s) and your {channel.title()} "
        f"account id from {len(result.invitation_ids)} survey(s).{closed} Your "
        f"{result.scores_kept} score(s) stay in the totals, with nothing linking them to you."
    )


class PrivacyCommands:
    """``forget`` (yourself, or a customer for admins) and ``retention``."""

    def __init__(
        self,
        database: Database,
        state: BaseStateStore,
        *,
        retention_days: int | None,
        clock: Callable[[], datetime],
        on_forget: Callable[[Collection[int]], None] | None = None,
    ) -> None:
        self.database = database
        self.state = state
        self.retention_days = retention_days
        self.clock = clock
        # Told the invitations of each person forgotten (the alerts redact their copies).
        self.on_forget = on_forget

    async def forget_self(self, actor: Actor) -> AdminReply:
        # The audit log must not keep the id being forgotten: the actor is "self".
        result = await self.forget(actor.channel, actor.user_id, f"{actor.channel}:self")
        return AdminReply(self_forget_text(result, actor.channel))

    async def forget_customer(self, actor: Actor, role: Role, args: str) -> AdminReply:
        typed = "/cx " if actor.channel == "slack" else "/"
        target = parse_target(args)
        if target is None:
            return AdminReply(forget_usage(typed))
        channel, user_id = target
        result = await self.forget(channel, user_id, actor.label)
        if result is None:
            return AdminReply(f"nobody is known as {channel} {user_id}: nothing to forget")
        return AdminReply(f"forgot {channel} {user_id}: {result.summary()}")

    async def forget(self, channel: str, external_id: str, actor: str) -> ForgetResult | None:
        """Forget the person in SQL, then drop their live conversations from the state store."""
        async with self.database.session() as session:
            result = await forget_respondent(session, channel, external_id, actor)
            await session.commit()
        if result is not None:
            await self._drop_conversations(
                channel, external_id, result.invitation_ids, result.addresses
            )
            if self.on_forget is not None:
                self.on_forget(result.invitation_ids)
        return result

    async def _drop_conversations(
        self,
        channel: str,
        external_id: str,
        invitation_ids: Iterable[int],
        addresses: Iterable[tuple[str, str]] = (),
    ) -> None:
        for invitation_id in invitation_ids:
            async with self.state.lock(key("lock", invitation_id), timeout=LOCK_TIMEOUT):
                await self.state.delete(conversations.conversation_key(invitation_id))
        await self.state.delete(conversations.active_key(channel, external_id))
        for other, other_id in addresses:  # the person's other chats, where they had any
            await self.state.delete(conversations.active_key(other, other_id))

    async def retention(self, actor: Actor, role: Role, args: str) -> AdminReply:
        if self.retention_days is None:
            setting = (
                "Comments are kept until someone deletes them: CXBOT_RETENTION_DAYS is not set."
            )
        else:
            setting = (
                f"Comments are kept {self.retention_days} day(s) (CXBOT_RETENTION_DAYS); older "
                "ones are deleted daily. Scores stay."
            )
        async with self.database.session() as session:
            last = await latest_audit(session, PURGE_ACTION)
        if last is None:
            purged = "Comments have not been purged yet."
        else:
            purged = f"Last purge: {last.at:%Y-%m-%d %H:%M} UTC, {last.target}: {last.detail}."
        return AdminReply(f"{setting}\n{purged}")
