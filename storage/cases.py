"""Support cases as cxbot saw them: which teams a case belongs to (for team leads' access)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import Decision, Invitation


async def case_teams(session: AsyncSession, case_id: str) -> set[str | None]:
    """The team of every invitation and every stored event of ``case_id``.

    None in the set stands for an invitation or event that named no team. An empty set means
    cxbot never heard of the case.
    """
    teams: set[str | None] = set(
        (
            await session.exec(select(Invitation.team).where(col(Invitation.case_id) == case_id))
        ).all()
    )
    events = await session.exec(
        select(Decision.event).where(
            col(Decision.case_id) == case_id, col(Decision.invitation_id).is_(None)
        )
    )
    for event in events.all():
        team = event.get("team") if isinstance(event, dict) else None
        teams.add(str(team) if team else None)
    return teams
