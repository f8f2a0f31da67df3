"""Follow-ups: one per invitation, claimed once, resolved by anyone, listed while open."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from storage.db import Database
from storage.followups import (
    NewFollowup,
    add_comment,
    claim,
    create_followup,
    followup_case,
    get_followup,
    list_open,
    resolve,
    set_alert_ref,
)
from storage.tables import Followup
from tests.storage.builders import NOON, scheduled_invitation

ANA = "telegram:777:Ana"
BO = "slack:U0BO:bo"


def new_followup(invitation_id: int, score: int = 3, minutes: int = 0) -> NewFollowup:
    return NewFollowup(
        invitation_id=invitation_id,
        kind="nps",
        score=score,
        alert_channel="telegram",
        alert_address="-100500",
        created_at=NOON + timedelta(minutes=minutes),
    )


async def invitation(database: Database, case_id: str = "T-1", **attributes: str) -> int:
    async with database.session() as session:
        row = await scheduled_invitation(session, case_id, attributes=attributes)
        await session.commit()
    assert row.id is not None
    return row.id


async def followup(database: Database, case_id: str = "T-1", **attributes: str) -> int:
    invitation_id = await invitation(database, case_id, **attributes)
    async with database.session() as session:
        row, created = await create_followup(session, new_followup(invitation_id))
        await session.commit()
    assert created and row.id is not None
    return row.id


async def stored(database: Database, followup_id: int) -> Followup:
    async with database.session() as session:
        row = await get_followup(session, followup_id)
    assert row is not None
    return row


class TestCreate:
    async def test_one_follow_up_per_invitation(self, database: Database) -> None:
        invitation_id = await invitation(database)
        async with database.session() as session:
            first, first_created = await create_followup(session, new_followup(invitation_id))
            again, again_created = await create_followup(
                session, new_followup(invitation_id, score=1)
            )
            await session.commit()
            count = (await session.exec(select(func.count()).select_from(Followup))).one()
        assert (first_created, again_created) == (True, False)
        assert again.id == first.id and again.score == 3
        assert count == 1
        assert (first.status, first.created_at, first.alert_ref) == ("open", NOON, None)

    async def test_alert_ref_is_remembered(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            await set_alert_ref(session, followup_id, "telegram:-100500:55")
            await session.commit()
        assert (await stored(database, followup_id)).alert_ref == "telegram:-100500:55"


class TestComment:
    async def test_the_first_comment_is_kept(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            row = await stored(database, followup_id)
            first = await add_comment(session, row.invitation_id, "never called back")
            second = await add_comment(session, row.invitation_id, "still waiting")
            await session.commit()
        assert first is not None and first.comment == "never called back"
        assert second is None
        assert (await stored(database, followup_id)).comment == "never called back"

    async def test_an_invitation_without_follow_up_takes_no_comment(
        self, database: Database
    ) -> None:
        invitation_id = await invitation(database)
        async with database.session() as session:
            assert await add_comment(session, invitation_id, "fine") is None


class TestClaimAndResolve:
    async def test_claim_records_who_and_when(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            change = await claim(session, followup_id, ANA, NOON + timedelta(hours=1))
            await session.commit()
        assert change is not None and change.changed
        row = await stored(database, followup_id)
        assert (row.status, row.claimed_by, row.claimed_at) == (
            "claimed",
            ANA,
            NOON + timedelta(hours=1),
        )

    async def test_a_second_claim_keeps_the_first_and_says_who(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            await claim(session, followup_id, ANA, NOON)
            change = await claim(session, followup_id, BO, NOON + timedelta(minutes=5))
            await session.commit()
        assert change is not None and not change.changed
        assert change.followup.claimed_by == ANA
        assert (await stored(database, followup_id)).claimed_at == NOON

    async def test_two_claims_at_once_make_one_claimer(self, database: Database) -> None:
        followup_id = await followup(database)

        async def press(who: str) -> bool:
            async with database.session() as session:
                change = await claim(session, followup_id, who, NOON)
                await session.commit()
            assert change is not None
            return change.changed

        results = await asyncio.gather(press(ANA), press(BO))
        assert sorted(results) == [False, True]
        winner = ANA if results[0] else BO
        assert (await stored(database, followup_id)).claimed_by == winner

    async def test_resolve_from_claimed_keeps_the_claimer(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            await claim(session, followup_id, ANA, NOON)
            change = await resolve(session, followup_id, BO, NOON + timedelta(hours=2))
            await session.commit()
        assert change is not None and change.changed
        row = await stored(database, followup_id)
        assert (row.status, row.claimed_by, row.resolved_by, row.resolved_at) == (
            "resolved",
            ANA,
            BO,
            NOON + timedelta(hours=2),
        )

    async def test_resolve_from_open_and_only_once(self, database: Database) -> None:
        followup_id = await followup(database)
        async with database.session() as session:
            first = await resolve(session, followup_id, ANA, NOON)
            second = await resolve(session, followup_id, BO, NOON + timedelta(minutes=1))
            late_claim = await claim(session, followup_id, BO, NOON + timedelta(minutes=2))
            await session.commit()
        assert first is not None and first.changed
        assert second is not None and not second.changed
        assert late_claim is not None and not late_claim.changed
        row = await stored(database, followup_id)
        assert (row.status, row.resolved_by, row.claimed_by) == ("resolved", ANA, None)

    async def test_unknown_follow_up_is_none(self, database: Database) -> None:
        async with database.session() as session:
            assert await claim(session, 999, ANA, NOON) is None
            assert await resolve(session, 999, ANA, NOON) is None


class TestListOpen:
    async def test_open_and_claimed_oldest_first_with_their_case(self, database: Database) -> None:
        ids = []
        for minutes, case_id, team in ((30, "T-new", "support"), (0, "T-old", "billing")):
            invitation_id = await invitation(database, case_id, agent="ana", team=team)
            async with database.session() as session:
                row, _ = await create_followup(session, new_followup(invitation_id, 2, minutes))
                await session.commit()
            ids.append(row.id)
        done = await followup(database, "T-done")
        async with database.session() as session:
            assert ids[0] is not None
            await claim(session, ids[0], ANA, NOON)
            await resolve(session, done, BO, NOON)
            await session.commit()
            cases = await list_open(session)
        assert [(c.case_id, c.team, c.agent, c.followup.status) for c in cases] == [
            ("T-old", "billing", "ana", "open"),
            ("T-new", "support", "ana", "claimed"),
        ]
        assert {(c.survey_id, c.customer_channel, c.customer_id) for c in cases} == {
            ("nps", "telegram", "1001")
        }

    async def test_only_the_given_teams(self, database: Database) -> None:
        await followup(database, "T-b", team="billing")
        await followup(database, "T-s", team="support")
        await followup(database, "T-none")
        async with database.session() as session:
            billing = await list_open(session, teams=["billing"])
            nobody = await list_open(session, teams=[])
            everyone = await list_open(session)
        assert [c.case_id for c in billing] == ["T-b"]
        assert nobody == []
        assert sorted(c.case_id for c in everyone) == ["T-b", "T-none", "T-s"]

    async def test_followup_case_reads_one(self, database: Database) -> None:
        followup_id = await followup(database, "T-9", agent="bo", team="billing")
        async with database.session() as session:
            case = await followup_case(session, followup_id)
            missing = await followup_case(session, 999)
        assert case is not None and (case.case_id, case.agent, case.team) == (
            "T-9",
            "bo",
            "billing",
        )
        assert missing is None
