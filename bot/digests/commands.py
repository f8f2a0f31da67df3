"""``/digest`` (Slack ``/cx digest``): subscribe the chat it is typed in to a scheduled report,
list its digests, or turn them off."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.admin.access import Role
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply
from storage.db import Database
from storage.digests import NewDigest, digests_in, subscribe, unsubscribe
from storage.tables import Digest
from surveys.catalog import Catalog
from surveys.digest_schedule import USAGE, parse_schedule
from surveys.errors import ReportQueryError
from surveys.report_query import ReportQuery, parse_report_args

CHANNELS = ("telegram", "slack")
NO_CHAT = "Type the digest command in the group or channel the digest is for."
PERIOD_GIVEN = (
    "A digest covers its own period (daily: the last day, weekly: the last 7 days); "
    "give filters only, e.g. team=billing"
)


def local_text(moment: datetime, timezone: str) -> str:
    """``2026-12-07 09:00 Europe/Warsaw`` for a naive UTC moment."""
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {timezone}"


def digest_line(digest: Digest, timezone: str) -> str:
    what = f"{digest.schedule} {digest.filters}".strip()
    return f"{what} — next {local_text(digest.next_at, timezone)} (set by {digest.created_by})"


class DigestCommands:
    """The ``digest`` admin command; Digests posts what it stores."""

    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        *,
        clock: Callable[[], datetime],
        timezone: str = "UTC",
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.clock = clock
        self.timezone = timezone

    async def digest(self, actor: Actor, role: Role, args: str) -> AdminReply:
        if not actor.chat:
            return AdminReply(NO_CHAT)
        words = args.strip()
        if not words:
            return await self._list(actor)
        if words.lower() == "off":
            return await self._off(actor, role)
        try:
            schedule, filters = parse_schedule(words)
            query = self._check_filters(actor, filters)
        except ReportQueryError as error:
            return AdminReply(error.message)
        # A lead's digest shows their teams only: without team= all of theirs (see Digests).
        if query.team is not None and not role.allows(query.team):
            return AdminReply(NOT_ALLOWED)
        new = NewDigest(
            channel=actor.channel,
            address=actor.chat,
            schedule=schedule.describe(),
            filters=filters,
            created_by=f"{actor.channel}:{actor.user_id}",
            next_at=schedule.next_after(self.clock(), self.timezone),
        )
        async with self.database.session() as session:
            digest, created = await subscribe(session, new)
            await session.commit()
        head = "Digest added" if created else "This chat already has that digest"
        return AdminReply(f"{head}: {digest_line(digest, self.timezone)}")

    def _check_filters(self, actor: Actor, filters: str) -> ReportQuery:
        """Filters as every report takes them; a period is refused (the schedule sets it)."""
        try:
            tokens = shlex.split(filters)
        except ValueError:
            tokens = []  # the report's parser names the unclosed quote
        if any("=" not in token for token in tokens):
            raise ReportQueryError(PERIOD_GIVEN)
        return parse_report_args(
            filters,
            now=self.clock(),
            command="report",
            prefix="/cx " if actor.channel == "slack" else "/",
            surveys=self.catalog,
            channels=CHANNELS,
            timezone=self.timezone,
        )

    async def _list(self, actor: Actor) -> AdminReply:
        async with self.database.reader() as session:
            found = await digests_in(session, actor.channel, actor.chat)
        if not found:
            return AdminReply(f"No digests in this chat; {USAGE}")
        lines = ["Digests in this chat:"]
        lines += [f"{n}. {digest_line(d, self.timezone)}" for n, d in enumerate(found, 1)]
        return AdminReply("\n".join(lines))

    async def _off(self, actor: Actor, role: Role) -> AdminReply:
        """An admin turns off every digest of the chat; a lead those they set."""
        me = f"{actor.channel}:{actor.user_id}"
        async with self.database.session() as session:
            found = await digests_in(session, actor.channel, actor.chat)
            mine = [
                d.id for d in found if d.id is not None and (role.is_admin or d.created_by == me)
            ]
            removed = await unsubscribe(session, mine)
            await session.commit()
        if not found:
            return AdminReply("No digests in this chat.")
        left = len(found) - removed
        text = f"Turned off {removed} digest{'s' if removed != 1 else ''} in this chat."
        if left:
            text += f" {left} set by an admin or another lead stay{'s' if left == 1 else ''}."
        return AdminReply(text)
