"""`/followups`: the open follow-ups with their age, score, case, agent and who has them."""

from __future__ import annotations

from datetime import timedelta

from bot.alerts import followups_text
from bot.alerts.listing import MAX_LISTED, age
from storage.db import Database
from storage.followups import NewFollowup, claim, create_followup, resolve
from tests.storage.builders import NOON, scheduled_invitation


async def followup(
    database: Database, case_id: str, minutes_before: int, score: int = 3, **attributes: str
) -> int:
    async with database.session() as session:
        invitation = await scheduled_invitation(session, case_id, attributes=attributes)
        assert invitation.id is not None
        row, _ = await create_followup(
            session,
            NewFollowup(
                invitation_id=invitation.id,
                kind="nps",
                score=score,
                alert_channel="telegram",
                alert_address="-100500",
                created_at=NOON - timedelta(minutes=minutes_before),
            ),
        )
        await session.commit()
    assert row.id is not None
    return row.id


async def test_open_follow_ups_oldest_first_with_age_and_claimer(database: Database) -> None:
    claimed = await followup(database, "T-2", 135, score=5, agent="bo", team="support")
    await followup(database, "T-1", 3 * 24 * 60 + 4 * 60 + 7, agent="ana", team="billing")
    done = await followup(database, "T-3", 10, team="billing")
    await followup(database, "T-4", 0)
    async with database.session() as session:
        await claim(session, claimed, "telegram:777:Ana Kowalska", NOON)
        await resolve(session, done, "slack:U0BO:bo", NOON)
        await session.commit()

    text = await followups_text(database, teams=None, now=NOON)

    assert text.splitlines() == [
        "Open follow-ups: 3 (oldest first)",
        "• 3d 4h · NPS 3/10 (detractor) · case T-1 · agent ana · team billing · unclaimed",
        "• 2h 15m · NPS 5/10 (detractor) · case T-2 · agent bo · team support · 🙋 Ana Kowalska",
        "• 0m · NPS 3/10 (detractor) · case T-4 · agent — · team — · unclaimed",
    ]


async def test_a_team_lead_sees_only_their_teams(database: Database) -> None:
    await followup(database, "T-b", 30, team="billing")
    await followup(database, "T-s", 20, team="support")

    billing = await followups_text(database, teams={"billing"}, now=NOON)
    other = await followups_text(database, teams={"sales"}, now=NOON)

    assert "case T-b" in billing and "case T-s" not in billing
    assert other == "no open follow-ups"


async def test_none_open(database: Database) -> None:
    assert await followups_text(database, teams=None, now=NOON) == "no open follow-ups"


async def test_a_long_list_is_cut_with_a_count(database: Database) -> None:
    for number in range(MAX_LISTED + 2):
        await followup(database, f"T-{number}", 100 - number)

    lines = (await followups_text(database, teams=None, now=NOON)).splitlines()

    assert lines[0] == f"Open follow-ups: {MAX_LISTED + 2} (oldest first)"
    assert len(lines) == MAX_LISTED + 2
    assert lines[-1] == "… and 2 more"


def test_age_reads_minutes_hours_and_days() -> None:
    assert [
        age(NOON - timedelta(seconds=seconds), NOON)
        for seconds in (0, 59, 60 * 45, 3600, 3600 * 2 + 60 * 15, 86400 * 2 + 3600 * 5 + 59)
    ] == ["0m", "0m", "45m", "1h 0m", "2h 15m", "2d 5h"]
    assert age(NOON + timedelta(minutes=5), NOON) == "0m"  # a clock a little behind
