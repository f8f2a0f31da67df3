"""Decisions: every event's outcome kept, read back per case newest first; quarantine's clock."""

from datetime import timedelta

from storage.db import Database
from storage.decisions import NewDecision, decisions_for_case, record_decision
from storage.invitations import (
    case_invitation,
    mark_expired,
    mark_failed,
    mark_sent,
    survey_times,
)
from storage.respondents import upsert_respondent
from storage.tables import DecisionOutcome
from tests.storage.builders import NOON, scheduled_invitation


def decision(case_id: str = "T-1", **overrides: object) -> NewDecision:
    values: dict[str, object] = {
        "source": "api",
        "event_type": "case.closed",
        "case_id": case_id,
        "channel": "telegram",
        "recipient": "1001",
        "outcome": DecisionOutcome.SUPPRESSED,
        "detail": "no rule: case T-1 matches none of the rules (2 checked)",
        "event": {"type": "case.closed", "case_id": case_id, "tags": ["vip"]},
        "reason": "no_rule",
        "created_at": NOON,
    }
    values.update(overrides)
    return NewDecision(**values)  # type: ignore[arg-type]


class TestDecisions:
    async def test_decisions_of_a_case_come_newest_first_with_the_invitation_status_now(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            invitation = await scheduled_invitation(session, "T-1")
            assert invitation.id is not None
            await record_decision(
                session,
                decision(
                    outcome=DecisionOutcome.SCHEDULED,
                    reason=None,
                    detail="",
                    rule_id="nps-closed",
                    invitation_id=invitation.id,
                    send_at=NOON + timedelta(minutes=30),
                ),
            )
            await record_decision(
                session,
                decision(
                    reason="duplicate_case",
                    rule_id="nps-closed",
                    invitation_id=invitation.id,
                    detail="duplicate",
                    created_at=NOON + timedelta(minutes=5),
                ),
            )
            await record_decision(session, decision("OTHER"))
            await mark_sent(session, invitation.id, "m-1", NOON, None)
            await session.commit()
        async with database.session() as session:
            found = await decisions_for_case(session, "T-1")
        assert [(d.decision.outcome, d.decision.reason) for d in found] == [
            ("suppressed", "duplicate_case"),
            ("scheduled", None),
        ]
        assert [d.invitation_status for d in found] == ["sent", "sent"]
        scheduled = found[1].decision
        assert scheduled.rule_id == "nps-closed"
        assert scheduled.send_at == NOON + timedelta(minutes=30)
        assert scheduled.event == {"type": "case.closed", "case_id": "T-1", "tags": ["vip"]}

    async def test_a_suppressed_event_has_no_invitation_status(self, database: Database) -> None:
        async with database.session() as session:
            await record_decision(session, decision("T-9"))
            await session.commit()
        async with database.session() as session:
            found = await decisions_for_case(session, "T-9")
            none = await decisions_for_case(session, "T-404")
        assert [(d.decision.reason, d.invitation_status) for d in found] == [("no_rule", None)]
        assert found[0].decision.detail.startswith("no rule: case T-1")
        assert none == []


class TestSurveyTimes:
    async def test_sent_and_waiting_invitations_count_failed_and_unsent_ones_do_not(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "telegram", "1001")
            assert respondent.id is not None
            since = NOON - timedelta(days=30)
            assert await survey_times(session, respondent.id, since) == []

            async def due(case_id: str, at: timedelta, survey: str = "nps") -> int:
                found = await scheduled_invitation(
                    session, case_id, survey_id=survey, scheduled_at=NOON + at
                )
                assert found.id is not None
                return found.id

            sent = await due("T-1", timedelta(0))
            await due("T-2", timedelta(days=3), "csat")  # waiting for its delay
            failed = await due("T-3", timedelta(days=1), "ces")
            closed_unsent = await due("T-4", timedelta(days=2))
            old = await due("T-5", -timedelta(days=31))
            # Sent an hour late (rate limits): the send time counts, not the due time.
            await mark_sent(session, sent, "m1", NOON + timedelta(hours=1), None)
            await mark_sent(session, old, "m2", NOON - timedelta(days=31), None)
            await mark_failed(session, failed, "bot was blocked")
            await mark_expired(session, closed_unsent)
            assert await survey_times(session, respondent.id, since) == [
                NOON + timedelta(days=3),
                NOON + timedelta(hours=1),
            ]
            other = await upsert_respondent(session, "telegram", "2002")
            assert other.id is not None
            assert await survey_times(session, other.id, since) == []

    async def test_a_case_has_its_first_invitation_whatever_the_survey(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            await upsert_respondent(session, "telegram", "1001")
            assert await case_invitation(session, "T-1") is None
            first = await scheduled_invitation(session, "T-1")
            await scheduled_invitation(session, "T-1", survey_id="csat")
            found = await case_invitation(session, "T-1")
            assert found is not None and (found.id, found.survey_id) == (first.id, "nps")
            assert await case_invitation(session, "T-2") is None
