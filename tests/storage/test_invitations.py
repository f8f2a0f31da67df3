"""Invitations: one per case and survey, statuses that only move forward, due scans."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from storage.db import Database
from storage.invitations import (
    create_invitation,
    due_invitations,
    expire_sent,
    get_invitation,
    get_invitation_for_update,
    list_invitations,
    mark_completed,
    mark_expired,
    mark_failed,
    mark_reminded,
    mark_sending,
    mark_sent,
    mark_started,
    pending_expiries,
    pending_reminders,
    set_message_ref,
    stuck_sending,
    tags_column,
    unclaim,
    unmark_reminded,
)
from storage.respondents import upsert_respondent
from storage.tables import Invitation, InvitationStatus
from tests.storage.builders import NOON, new_invitation, scheduled_invitation

LATER = NOON + timedelta(days=3)


async def invitation_count(database: Database) -> int:
    async with database.session() as session:
        return (await session.exec(select(func.count()).select_from(Invitation))).one()


async def stored(database: Database, invitation_id: int) -> Invitation:
    async with database.session() as session:
        invitation = await get_invitation(session, invitation_id)
    assert invitation is not None
    return invitation


async def scheduled(database: Database, case_id: str = "T-1") -> int:
    async with database.session() as session:
        invitation = await scheduled_invitation(session, case_id)
        await session.commit()
    assert invitation.id is not None
    return invitation.id


class TestCreateInvitation:
    async def test_the_same_case_and_survey_twice_is_one_invitation(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            assert respondent.id is not None
            first, first_created = await create_invitation(session, new_invitation(respondent.id))
            again, again_created = await create_invitation(
                session, new_invitation(respondent.id, address="other", attributes={"x": 1})
            )
            await session.commit()
        assert (first_created, again_created) == (True, False)
        assert again.id == first.id
        assert again.address == "1001"  # the existing row, untouched
        assert await invitation_count(database) == 1

    async def test_another_survey_for_the_same_case_is_another_invitation(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            assert respondent.id is not None
            nps, _ = await create_invitation(session, new_invitation(respondent.id))
            csat, created = await create_invitation(
                session, new_invitation(respondent.id, survey_id="csat")
            )
            await session.commit()
        assert created and csat.id != nps.id

    async def test_twenty_concurrent_creations_make_one_row(self, database: Database) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            await session.commit()
        assert respondent.id is not None
        respondent_id = respondent.id

        async def create() -> tuple[int | None, bool]:
            async with database.session() as session:
                invitation, created = await create_invitation(
                    session, new_invitation(respondent_id, "RACE-1")
                )
                await session.commit()
                return invitation.id, created

        results = await asyncio.gather(*(create() for _ in range(20)))
        assert len({invitation_id for invitation_id, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        assert await invitation_count(database) == 1

    async def test_a_new_invitation_is_scheduled(self, database: Database) -> None:
        invitation = await stored(database, await scheduled(database))
        assert invitation.status == InvitationStatus.SCHEDULED
        assert invitation.scheduled_at == NOON
        assert invitation.sent_at is None and invitation.message_ref is None

    async def test_json_attributes_round_trip(self, database: Database) -> None:
        attributes = {
            "agent": "Ana Müller",
            "team": "billing",
            "tags": ["vip", "renewal"],
            "priority": 2,
            "score_hint": 9.5,
            "escalated": False,
            "nested": {"region": "EU", "empty": None},
        }
        async with database.session() as session:
            invitation = await scheduled_invitation(session, attributes=attributes)
            await session.commit()
        assert invitation.id is not None
        assert (await stored(database, invitation.id)).attributes == attributes

    async def test_team_agent_and_tags_are_promoted_to_columns(self, database: Database) -> None:
        attributes = {"agent": "Ana", "team": "billing", "tags": ["VIP", " renewal", "vip"]}
        async with database.session() as session:
            invitation = await scheduled_invitation(
                session, attributes=attributes, rule_id="r1", expiry_hours=48.0
            )
            await session.commit()
        assert invitation.id is not None
        loaded = await stored(database, invitation.id)
        assert (loaded.team, loaded.agent, loaded.tags) == ("billing", "Ana", ",renewal,vip,")
        assert (loaded.rule_id, loaded.expiry_hours, loaded.remind_after_hours) == (
            "r1",
            48.0,
            None,
        )

    @pytest.mark.parametrize(
        ("tags", "column"),
        [(None, None), ([], None), ("a, B,,a", ",a,b,"), (["x"], ",x,"), ([1, 2], ",1,2,")],
    )
    def test_tags_column(self, tags: object, column: str | None) -> None:
        assert tags_column(tags) == column

    async def test_naive_utc_datetimes_round_trip(self, database: Database) -> None:
        at = datetime(2026, 3, 29, 1, 30, 15, 123456)  # a DST change in Europe: irrelevant
        async with database.session() as session:
            invitation = await scheduled_invitation(session, scheduled_at=at)
            await session.commit()
        assert invitation.id is not None
        loaded = await stored(database, invitation.id)
        assert loaded.scheduled_at == at
        assert loaded.scheduled_at.tzinfo is None
        assert loaded.created_at.tzinfo is None
        assert abs(loaded.created_at - datetime.now(UTC).replace(tzinfo=None)) < timedelta(
            minutes=1
        )

    async def test_lookups(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            locked = await get_invitation_for_update(session, invitation_id)
            assert locked is not None and locked.case_id == "T-1"
            assert await get_invitation_for_update(session, invitation_id + 1) is None
            assert await get_invitation(session, invitation_id + 1) is None
            await session.commit()


class TestStatusTransitions:
    async def test_the_happy_path_moves_forward_once(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_sent(session, invitation_id, "m-1", NOON, LATER)
            assert not await mark_sent(session, invitation_id, "m-2", NOON, LATER)
            assert await mark_started(session, invitation_id, NOON + timedelta(minutes=1))
            assert not await mark_started(session, invitation_id, NOON + timedelta(minutes=2))
            assert await mark_completed(session, invitation_id, NOON + timedelta(minutes=3))
            assert not await mark_completed(session, invitation_id, NOON + timedelta(minutes=4))
            assert not await mark_expired(session, invitation_id)
            assert not await mark_failed(session, invitation_id, "late")
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.status == InvitationStatus.COMPLETED
        assert invitation.message_ref == "m-1"
        assert invitation.sent_at == NOON and invitation.expires_at == LATER
        assert invitation.started_at == NOON + timedelta(minutes=1)
        assert invitation.completed_at == NOON + timedelta(minutes=3)

    async def test_a_failed_send_can_be_retried(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_failed(session, invitation_id, "403 blocked by user")
            assert not await mark_started(session, invitation_id, NOON)
            await session.commit()
        assert (await stored(database, invitation_id)).failure_reason == "403 blocked by user"
        async with database.session() as session:
            assert await mark_sent(session, invitation_id, "m-1", NOON, None)
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.status == InvitationStatus.SENT
        assert invitation.failure_reason is None and invitation.expires_at is None

    async def test_answers_before_the_send_is_recorded_keep_their_status(
        self, database: Database
    ) -> None:
        # PostgreSQL was away when the send's record was due; the customer answered first.
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_sending(session, invitation_id, NOON)
            assert await mark_started(session, invitation_id, NOON + timedelta(minutes=1))
            assert await mark_sent(session, invitation_id, "m-1", NOON, LATER)
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.status == InvitationStatus.STARTED
        assert invitation.message_ref == "m-1"
        assert invitation.sent_at == NOON and invitation.expires_at == LATER
        async with database.session() as session:
            assert await mark_completed(session, invitation_id, NOON + timedelta(minutes=2))
            assert await mark_sent(session, invitation_id, "m-1", NOON, LATER)  # said again
            await session.commit()
        assert (await stored(database, invitation_id)).status == InvitationStatus.COMPLETED

    async def test_completion_may_skip_started(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert not await mark_completed(session, invitation_id, NOON)
            assert await mark_sent(session, invitation_id, "m-1", NOON, None)
            assert await mark_completed(session, invitation_id, NOON)
            await session.commit()
        assert (await stored(database, invitation_id)).status == InvitationStatus.COMPLETED

    async def test_expiry_ends_an_open_invitation_for_good(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_sent(session, invitation_id, "m-1", NOON, LATER)
            assert await mark_started(session, invitation_id, NOON)
            assert await mark_expired(session, invitation_id)
            assert not await mark_expired(session, invitation_id)
            assert not await mark_completed(session, invitation_id, LATER)
            assert not await mark_sent(session, invitation_id, "m-2", LATER, None)
            await session.commit()
        assert (await stored(database, invitation_id)).status == InvitationStatus.EXPIRED

    async def test_a_loaded_invitation_sees_the_new_status(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            invitation = await get_invitation(session, invitation_id)
            assert invitation is not None
            await mark_sent(session, invitation_id, "m-1", NOON, None)
            assert invitation.status == InvitationStatus.SENT
            await session.rollback()
        assert (await stored(database, invitation_id)).status == InvitationStatus.SCHEDULED

    async def test_unknown_invitations_change_nothing(self, database: Database) -> None:
        async with database.session() as session:
            assert not await mark_sent(session, 999, "m-1", NOON, None)
            assert not await mark_expired(session, 999)


class TestQueries:
    async def test_due_invitations_are_scheduled_and_due_oldest_first(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            assert respondent.id is not None
            times = {"late": NOON + timedelta(hours=2), "early": NOON, "future": LATER}
            ids = {}
            for case_id, at in times.items():
                invitation, _ = await create_invitation(
                    session, new_invitation(respondent.id, case_id, scheduled_at=at)
                )
                ids[case_id] = invitation.id
            sent, _ = await create_invitation(session, new_invitation(respondent.id, "sent"))
            assert sent.id is not None
            await mark_sent(session, sent.id, "m-1", NOON, None)
            await session.commit()
        now = NOON + timedelta(days=1)
        async with database.session() as session:
            due = await due_invitations(session, now)
            assert [invitation.case_id for invitation in due] == ["early", "late"]
            assert [i.case_id for i in await due_invitations(session, now, limit=1)] == ["early"]
            assert await due_invitations(session, NOON - timedelta(seconds=1)) == []
        async with database.session() as session:
            locked = await due_invitations(session, now, lock=True)
            assert [invitation.id for invitation in locked] == [ids["early"], ids["late"]]
            await session.commit()

    async def test_list_invitations_filters_by_survey_and_status(self, database: Database) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            assert respondent.id is not None
            for case_id, survey_id in [("A", "nps"), ("B", "csat"), ("C", "nps")]:
                await create_invitation(
                    session, new_invitation(respondent.id, case_id, survey_id=survey_id)
                )
            (c_invitation,) = [
                i for i in await list_invitations(session, survey_id="nps") if i.case_id == "C"
            ]
            assert c_invitation.id is not None
            await mark_expired(session, c_invitation.id)
            await session.commit()
        async with database.session() as session:
            everything = await list_invitations(session)
            nps = await list_invitations(session, survey_id="nps")
            open_nps = await list_invitations(
                session, survey_id="nps", status=InvitationStatus.SCHEDULED
            )
            expired = await list_invitations(session, status="expired")
            first = await list_invitations(session, limit=1)
        assert [i.case_id for i in everything] == ["A", "B", "C"]
        assert [i.case_id for i in nps] == ["A", "C"]
        assert [i.case_id for i in open_nps] == ["A"]
        assert [i.case_id for i in expired] == ["C"]
        assert [i.case_id for i in first] == ["A"]


class TestSendingClaims:
    """The claim before a platform call: only the caller whose UPDATE changed the row sends."""

    async def test_one_claim_wins_then_the_send_is_confirmed(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_sending(session, invitation_id, NOON)
            assert not await mark_sending(session, invitation_id, NOON)  # a second sender
            await session.commit()
        assert (await stored(database, invitation_id)).sending_at == NOON
        async with database.session() as session:
            reminder = NOON + timedelta(hours=24)
            assert await mark_sent(session, invitation_id, "m-1", NOON, LATER, reminder)
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.status == InvitationStatus.SENT
        assert invitation.reminder_at == NOON + timedelta(hours=24)

    async def test_concurrent_claims_let_exactly_one_through(self, database: Database) -> None:
        invitation_id = await scheduled(database)

        async def claim() -> bool:
            async with database.session() as session:
                won = await mark_sending(session, invitation_id, NOON)
                await session.commit()
                return won

        assert sorted(await asyncio.gather(*(claim() for _ in range(10)))) == [False] * 9 + [True]

    async def test_a_temporary_refusal_gives_the_claim_back(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert not await unclaim(session, invitation_id)  # nothing claimed yet
            assert await mark_sending(session, invitation_id, NOON)
            assert await unclaim(session, invitation_id)
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.status == InvitationStatus.SCHEDULED
        assert invitation.sending_at is None and invitation.scheduled_at == NOON

    async def test_an_interrupted_claim_can_be_failed(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert await mark_sending(session, invitation_id, NOON)
            assert await mark_failed(session, invitation_id, "interrupted")
            assert not await mark_sending(session, invitation_id, NOON)
            await session.commit()
        assert (await stored(database, invitation_id)).status == InvitationStatus.FAILED

    async def test_claims_left_behind_are_found(self, database: Database) -> None:
        old, fresh = await scheduled(database, "old"), await scheduled(database, "fresh")
        async with database.session() as session:
            await mark_sending(session, old, NOON)
            await mark_sending(session, fresh, NOON + timedelta(hours=1))
            await session.commit()
        async with database.session() as session:
            assert await stuck_sending(session, NOON + timedelta(minutes=30)) == [old]


class TestRemindersAndExpiry:
    async def test_one_reminder_only_while_unanswered(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            assert not await mark_reminded(session, invitation_id, NOON)  # not sent yet
            await mark_sent(session, invitation_id, "m-1", NOON, LATER, NOON + timedelta(hours=1))
            assert await mark_reminded(session, invitation_id, NOON + timedelta(hours=1))
            assert not await mark_reminded(session, invitation_id, NOON + timedelta(hours=2))
            await session.commit()
        invitation = await stored(database, invitation_id)
        assert invitation.reminded_at == NOON + timedelta(hours=1)

    async def test_a_refused_reminder_can_be_claimed_again(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            await mark_sent(session, invitation_id, "m-1", NOON, LATER)
            assert await mark_reminded(session, invitation_id, NOON)
            assert await unmark_reminded(session, invitation_id)
            assert await mark_reminded(session, invitation_id, NOON)
            assert await set_message_ref(session, invitation_id, "m-2")
            await session.commit()
        assert (await stored(database, invitation_id)).message_ref == "m-2"

    async def test_no_reminder_once_answered(self, database: Database) -> None:
        invitation_id = await scheduled(database)
        async with database.session() as session:
            await mark_sent(session, invitation_id, "m-1", NOON, LATER)
            await mark_started(session, invitation_id, NOON)
            assert not await mark_reminded(session, invitation_id, NOON)

    async def test_only_sent_or_started_surveys_expire(self, database: Database) -> None:
        waiting, sent, started, done = [
            await scheduled(database, case) for case in ("waiting", "sent", "started", "done")
        ]
        async with database.session() as session:
            for invitation_id in (sent, started, done):
                await mark_sent(session, invitation_id, "m", NOON, LATER)
            await mark_started(session, started, NOON)
            await mark_completed(session, done, NOON)
            assert [await expire_sent(session, i) for i in (waiting, sent, started, done)] == [
                False,
                True,
                True,
                False,
            ]
            assert not await expire_sent(session, sent)  # once
            await session.commit()
        assert (await stored(database, waiting)).status == InvitationStatus.SCHEDULED

    async def test_pending_reminders_and_expiries_by_time(self, database: Database) -> None:
        early, late, answered = [await scheduled(database, case) for case in ("a", "b", "c")]
        async with database.session() as session:
            await mark_sent(session, early, "m", NOON, LATER, NOON + timedelta(hours=1))
            await mark_sent(session, late, "m", NOON, LATER + timedelta(days=1), LATER)
            await mark_sent(session, answered, "m", NOON, LATER, NOON + timedelta(hours=1))
            await mark_started(session, answered, NOON)
            await session.commit()
        async with database.session() as session:
            soon = NOON + timedelta(hours=2)
            assert [i.id for i in await pending_reminders(session, soon)] == [early]
            assert [i.id for i in await pending_reminders(session, None)] == [early, late]
            assert [i.id for i in await pending_expiries(session, LATER)] == [early, answered]
            assert [i.id for i in await pending_expiries(session, None)] == [early, answered, late]
