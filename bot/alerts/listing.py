"""The open follow-ups as text, for the `/followups` command."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.alerts.view import NO_VALUE, display_name, score_label
from storage.db import Database
from storage.followups import FollowupCase, list_open
from storage.tables import FollowupStatus

NONE_OPEN = "no open follow-ups"
# Keeps the reply inside one Telegram message (4096 characters).
MAX_LISTED = 30


def age(since: datetime, now: datetime) -> str:
    """``45m``, ``2h 15m``, ``3d 4h``: how long a follow-up has been waiting."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _line(case: FollowupCase, now: datetime) -> str:
    followup = case.followup
    holder = (
        f"🙋 {display_name(followup.claimed_by)}"
        if followup.status == FollowupStatus.CLAIMED
        else "unclaimed"
    )
    return (
        f"• {age(followup.created_at, now)} · {score_label(followup.kind, followup.score)}"
        f" · case {case.case_id} · agent {case.agent or NO_VALUE}"
        f" · team {case.team or NO_VALUE} · {holder}"
    )


async def followups_text(
    database: Database, *, teams: Collection[str] | None, now: datetime
) -> str:
    """Each open or claimed follow-up, oldest first, with its age; only ``teams`` if given."""
    async with database.session() as session:
        cases = await list_open(session, teams=teams)
    if not cases:
        return NONE_OPEN
    lines = [f"Open follow-ups: {len(cases)} (oldest first)"]
    lines.extend(_line(case, now) for case in cases[:MAX_LISTED])
    if len(cases) > MAX_LISTED:
        lines.append(f"… and {len(cases) - MAX_LISTED} more")
    return "\n".join(lines)
