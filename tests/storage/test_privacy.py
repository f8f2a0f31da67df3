"""Privacy: forgetting a respondent keeps their anonymous scores and nothing else; the
retention purge deletes comments older than the cutoff; both are in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from storage.answers import NewAnswer, record_answer, scores
from storage.audit import latest_audit
from storage.db import Database
from storage.decisions import NewDecision, record_decision
from storage.followups import NewFollowup, add_comment, create_followup
from storage.invitations import create_invitation
from storage.privacy import (
    FORGET_ACTION,
    FORGOTTEN_REASON,
    PURGE_ACTION,
    forget_respondent,
    purge_comments_before,
)
from storage.reports import score_summary
from storage.respondents import find_respondent, upsert_respondent
from storage.tables import (
    Answer,
    AuditEntry,
    Decision,
    DecisionOutcome,
    Followup,
    Invitation,
    Respondent,
)
from surveys.definitions import QuestionKind
from surveys.report_query import parse_report_args
from tests.storage.builders import NOON, new_invitation

ADMIN = "telegram:42 Admin"
ATTRIBUTES = {"team": "billing", "agent": "ana", "tags": ["vip"], "email": "jo@example.test"}


async def surveyed(
    database: Database,
    external_id: str,
    case_id: str,
    *,
    status: str = "completed",
    score: int | None = None,
    comment: str | None = None,
    at: datetime = NOON,
    followup: bool = False,
) -> int:
    """A respondent's invitation in ``status`` with an NPS score and comment given at ``at``."""
    async with database.session() as session:
        respondent = await upsert_respondent(session, "telegram", external_id, "en")
        assert respondent.id is not None
        invitation, _ = await create_invitation(
            session,
            new_invitation(
                respondent.id, case_id, address=external_id, attributes=dict(ATTRIBUTES)
            ),
        )
        assert invitation.id is not None
        invitation.status = status
        session.add(invitation)
        if score is not None:
            await record_answer(session, answer(invitation.id, "nps", score=score, at=at))
        if comment is not None:
            await record_answer(session, answer(invitation.id, "why", text=comment, at=at))
        if followup:
            new = NewFollowup(invitation.id, "nps", score or 0, "telegram", "-100500", at)
            await create_followup(session, new)
            if comment is not None:
                await add_comment(session, invitation.id, comment)
        await session.commit()
        return invitation.id


def answer(
    invitation_id: int,
    question: str,
    *,
    score: int | None = None,
    text: str | None = None,
    at: datetime = NOON,
) -> NewAnswer:
    kind = "nps" if score is not None else "text"
    return NewAnswer(invitation_id, question, kind, score, None, text, at)


async def decide(
    database: Database, case_id: str, recipient: str, invitation_id: int | None
) -> None:
    event: dict[str, Any] = {
        "type": "case.closed",
        "case_id": case_id,
        "channel": "telegram",
        "recipient": recipient,
        "team": "billing",
        "agent": "ana",
        "tags": ["vip"],
        "priority": "high",
        "timezone": "Europe/Warsaw",
        "attributes": {"requester_email": "jo@example.test"},
    }
    await decided(database, case_id, recipient=recipient, event=event, invitation_id=invitation_id)


async def decided(
    database: Database,
    case_id: str,
    *,
    recipient: str,
    event: dict[str, Any],
    channel: str = "telegram",
    invitation_id: int | None = None,
    outcome: DecisionOutcome | None = None,
    detail: str = "",
) -> None:
    """A stored decision on ``case_id``: scheduled with an invitation, else suppressed."""
    if outcome is None:
        outcome = DecisionOutcome.SCHEDULED if invitation_id else DecisionOutcome.SUPPRESSED
    async with database.session() as session:
        await record_decision(
            session,
            NewDecision(
                source="api",
                event_type="case.closed",
                case_id=case_id,
                channel=channel,
                recipient=recipient,
                outcome=outcome,
                detail=detail,
                event=event,
                invitation_id=invitation_id,
            ),
        )
        await session.commit()


async def rows(database: Database, table: type[Any], *where: Any) -> list[Any]:
    async with database.session() as session:
        return list((await session.exec(select(table).where(*where))).all())


async def nps_summary(database: Database) -> tuple[float | None, int, dict[int, int]]:
    query = parse_report_args("90d", now=NOON + timedelta(days=1), command="nps")
    async with database.session() as session:
        summary = await score_summary(session, query, QuestionKind.NPS)
    return summary.score.value, summary.score.n, dict(summary.score.counts)


class TestForget:
    async def test_scores_stay_and_comments_and_identity_go(self, database: Database) -> None:
        answered = await surveyed(
            database, "1001", "T-1", score=3, comment="the agent was rude", followup=True
        )
        pending = await surveyed(database, "1001", "T-2", status="scheduled")
        in_progress = await surveyed(database, "1001", "T-3", status="started", score=6)
        other = await surveyed(database, "2002", "T-4", score=10, comment="great")
        await decide(database, "T-1", "1001", answered)
        await decide(database, "T-9", "1001", None)  # suppressed: no invitation, same person
        await decide(database, "T-4", "2002", other)
        before = await nps_summary(database)
        async with database.session() as session:
            before_scores = await scores(session, "nps")

        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "1001", ADMIN)
            await session.commit()

        assert result is not None
        assert (result.comments, result.followup_comments, result.decisions) == (1, 1, 2)
        assert (result.scores_kept, result.cancelled) == (2, 2)
        assert sorted(result.invitation_ids) == sorted([answered, pending, in_progress])
        # The report's numbers do not move: the scores stay, anonymous.
        assert await nps_summary(database) == before
        async with database.session() as session:
            assert await scores(session, "nps") == before_scores
            assert await find_respondent(session, "telegram", "1001") is None
        (person,) = await rows(database, Respondent, col(Respondent.id) == result.respondent_id)
        assert person.external_id == result.token
        assert person.external_id.startswith("forgotten-") and person.forgotten_at is not None
        assert person.language == "en"
        mine = await rows(database, Invitation, col(Invitation.id).in_(result.invitation_ids))
        assert {invitation.address for invitation in mine} == {result.token}
        for invitation in mine:
            assert invitation.attributes == {"team": "billing", "agent": "ana", "tags": ["vip"]}
            assert (invitation.team, invitation.agent, invitation.tags) == (
                "billing",
                "ana",
                ",vip,",
            )
        statuses = {invitation.case_id: invitation.status for invitation in mine}
        assert statuses == {"T-1": "completed", "T-2": "failed", "T-3": "expired"}
        (failed,) = [invitation for invitation in mine if invitation.case_id == "T-2"]
        assert failed.failure_reason == FORGOTTEN_REASON
        kept = await rows(database, Answer, col(Answer.invitation_id).in_(result.invitation_ids))
        assert sorted((a.question_id, a.score, a.text) for a in kept) == [
            ("nps", 3, None),
            ("nps", 6, None),
        ]
        (followup,) = await rows(database, Followup, col(Followup.invitation_id) == answered)
        assert followup.comment is None and followup.score == 3
        theirs = await rows(database, Decision, col(Decision.case_id).in_(["T-1", "T-9"]))
        assert {decision.recipient for decision in theirs} == {result.token}
        for decision in theirs:
            assert decision.event == {
                "type": "case.closed",
                "case_id": decision.case_id,
                "team": "billing",
                "agent": "ana",
                "tags": ["vip"],
                "priority": "high",
            }

    async def test_a_slack_customer_invited_by_email_leaves_no_email_in_any_decision(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            respondent = await upsert_respondent(session, "slack", "U0JO", "en")
            assert respondent.id is not None
            invitation, _ = await create_invitation(
                session,
                new_invitation(
                    respondent.id, "S-1", address="U0JO", channel="slack", attributes={}
                ),
            )
            await session.commit()
        for case, recipient, invitation_id, detail in (
            ("S-1", "jo@example.test", invitation.id, ""),
            # Quarantined later: no invitation, only the email the help desk sent.
            ("S-2", "Jo@Example.test", None, "quarantine: Jo@Example.test was asked 2 days ago"),
            ("S-3", "someone@example.test", None, ""),
        ):
            await decided(
                database,
                case,
                channel="slack",
                recipient=recipient,
                event={"case_id": case, "recipient": recipient, "team": "billing"},
                invitation_id=invitation_id,
                detail=detail,
            )

        async with database.session() as session:
            result = await forget_respondent(session, "slack", "U0JO", ADMIN)
            await session.commit()

        assert result is not None and result.decisions == 2
        theirs = await rows(database, Decision, col(Decision.case_id).in_(["S-1", "S-2"]))
        for decision in theirs:
            assert decision.recipient == result.token
            assert decision.event == {"case_id": decision.case_id, "team": "billing"}
            assert "example.test" not in decision.detail.lower()
        (quarantined,) = [d for d in theirs if d.case_id == "S-2"]
        assert quarantined.detail == f"quarantine: {result.token} was asked 2 days ago"
        (other,) = await rows(database, Decision, col(Decision.case_id) == "S-3")
        assert other.recipient == "someone@example.test"

    async def test_in_a_shared_group_only_their_decisions_go(self, database: Database) -> None:
        async with database.session() as session:
            ana = await upsert_respondent(session, "telegram", "1001", "en")
            assert ana.id is not None
            invitation, _ = await create_invitation(
                session, new_invitation(ana.id, "G-1", address="-100500", attributes={})
            )
            await session.commit()
        for case, group, user, invitation_id in (
            ("G-1", "-100500", "1001", invitation.id),
            ("G-2", "-100500", "2002", None),  # Bob, in the same group: stays
            ("G-3", "-100777", "1001", None),  # Ana, quarantined in another group
        ):
            await decided(
                database,
                case,
                recipient=group,
                event={"case_id": case, "recipient": group, "user": user},
                invitation_id=invitation_id,
            )

        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "1001", ADMIN)
            await session.commit()

        assert result is not None and result.decisions == 2
        for case in ("G-1", "G-3"):
            (decision,) = await rows(database, Decision, col(Decision.case_id) == case)
            assert decision.recipient == result.token and decision.event == {"case_id": case}
        (bob,) = await rows(database, Decision, col(Decision.case_id) == "G-2")
        assert (bob.recipient, bob.event["user"]) == ("-100500", "2002")

    async def test_a_refused_event_naming_them_only_in_its_excerpt_loses_it(
        self, database: Database
    ) -> None:
        await surveyed(database, "1001", "T-1", score=9)
        for case, body in (
            ("R-1", '{"case_id": "R-1", "recipient": "", "requester_email": "JO@example.test"}'),
            ("R-2", '{"case_id": "R-2", "recipient": "", "email": "al@example.test"}'),
        ):
            await decided(
                database,
                case,
                recipient="",
                event={"case_id": case, "error": "invalid_event", "excerpt": body},
                outcome=DecisionOutcome.REJECTED,
                detail="recipient: Field required",
            )

        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "1001", ADMIN)
            await session.commit()

        assert result is not None
        (refused,) = await rows(database, Decision, col(Decision.case_id) == "R-1")
        assert refused.event == {"case_id": "R-1"} and refused.recipient == result.token
        (other,) = await rows(database, Decision, col(Decision.case_id) == "R-2")
        assert "al@example.test" in other.event["excerpt"]

    async def test_other_customers_are_untouched(self, database: Database) -> None:
        await surveyed(database, "1001", "T-1", score=3, comment="slow", followup=True)
        other = await surveyed(database, "2002", "T-4", score=10, comment="great", followup=True)
        await decide(database, "T-4", "2002", other)
        async with database.session() as session:
            await forget_respondent(session, "telegram", "1001", ADMIN)
            await session.commit()
        (invitation,) = await rows(database, Invitation, col(Invitation.id) == other)
        assert invitation.address == "2002" and invitation.attributes == ATTRIBUTES
        texts = [a.text for a in await rows(database, Answer, col(Answer.invitation_id) == other)]
        assert sorted(texts, key=str) == [None, "great"]
        (followup,) = await rows(database, Followup, col(Followup.invitation_id) == other)
        assert followup.comment == "great"
        (decision,) = await rows(database, Decision, col(Decision.case_id) == "T-4")
        assert decision.recipient == "2002" and decision.event["attributes"]
        async with database.session() as session:
            assert await find_respondent(session, "telegram", "2002") is not None

    async def test_the_same_id_on_another_channel_is_someone_else(self, database: Database) -> None:
        # A chat id is an id on its channel only: another channel (a WhatsApp number, say)
        # may give someone else the same digits. An email counts on every channel.
        await surveyed(database, "48600100", "T-1", score=9)
        await decided(
            database,
            "W-1",
            recipient="48600100",
            channel="whatsapp",
            event={"case_id": "W-1", "recipient": "48600100", "team": "billing"},
            detail="quarantine: 48600100 was surveyed",
        )
        await decided(
            database,
            "W-2",
            recipient="48600101",
            channel="whatsapp",
            event={"case_id": "W-2", "recipient": "48600101", "user": "48600100"},
        )
        await decided(
            database,
            "Q-1",
            recipient="48600100",
            event={"case_id": "Q-1", "recipient": "48600100"},
        )

        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "48600100", ADMIN)
            await session.commit()

        assert result is not None
        (theirs,) = await rows(database, Decision, col(Decision.case_id) == "Q-1")
        assert theirs.recipient == result.token
        (elsewhere,) = await rows(database, Decision, col(Decision.case_id) == "W-1")
        assert (elsewhere.recipient, elsewhere.event["recipient"]) == ("48600100", "48600100")
        assert elsewhere.detail == "quarantine: 48600100 was surveyed"
        (group,) = await rows(database, Decision, col(Decision.case_id) == "W-2")
        assert group.event["user"] == "48600100"

    async def test_audit_names_the_actor_but_not_the_forgotten_id(self, database: Database) -> None:
        await surveyed(database, "5550001", "T-1", score=3, comment="call me on 5550001")
        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "5550001", ADMIN)
            await session.commit()
        assert result is not None
        (entry,) = await rows(database, AuditEntry)
        assert entry.actor == ADMIN and entry.action == FORGET_ACTION
        assert result.token in entry.target
        assert "1 comment(s)" in entry.detail and "1 score(s) kept" in entry.detail
        assert "5550001" not in f"{entry.target} {entry.detail}"

    async def test_unknown_or_already_forgotten_person_is_none(self, database: Database) -> None:
        await surveyed(database, "1001", "T-1", score=9)
        async with database.session() as session:
            assert await forget_respondent(session, "telegram", "9999", ADMIN) is None
            assert await forget_respondent(session, "slack", "1001", ADMIN) is None
            assert await forget_respondent(session, "telegram", "1001", ADMIN) is not None
            await session.commit()
        async with database.session() as session:
            assert await forget_respondent(session, "telegram", "1001", ADMIN) is None
        assert len(await rows(database, AuditEntry)) == 1

    async def test_a_forgotten_person_surveyed_again_is_a_new_respondent(
        self, database: Database
    ) -> None:
        await surveyed(database, "1001", "T-1", score=3)
        async with database.session() as session:
            result = await forget_respondent(session, "telegram", "1001", ADMIN)
            await session.commit()
        assert result is not None
        await surveyed(database, "1001", "T-2", score=8)
        async with database.session() as session:
            again = await find_respondent(session, "telegram", "1001")
        assert again is not None and again.id != result.respondent_id
        assert again.forgotten_at is None


class TestRetention:
    async def test_comments_before_the_cutoff_go_scores_stay(self, database: Database) -> None:
        cutoff = NOON
        old = await surveyed(
            database,
            "1001",
            "T-1",
            score=2,
            comment="old comment",
            at=cutoff - timedelta(seconds=1),
            followup=True,
        )
        boundary = await surveyed(
            database, "2002", "T-2", score=3, comment="at the cutoff", at=cutoff, followup=True
        )
        new = await surveyed(
            database, "3003", "T-3", score=9, comment="new", at=cutoff + timedelta(days=1)
        )
        async with database.session() as session:
            purged = await purge_comments_before(session, cutoff, "retention")
            await session.commit()

        assert purged == 1
        left = {
            (a.invitation_id, a.question_id): (a.score, a.text)
            for a in await rows(database, Answer)
        }
        assert left == {
            (old, "nps"): (2, None),
            (boundary, "nps"): (3, None),
            (boundary, "why"): (None, "at the cutoff"),
            (new, "nps"): (9, None),
            (new, "why"): (None, "new"),
        }
        comments = {f.invitation_id: f.comment for f in await rows(database, Followup)}
        assert comments == {old: None, boundary: "at the cutoff"}

    async def test_every_run_is_logged_and_the_last_is_found(self, database: Database) -> None:
        await surveyed(database, "1001", "T-1", score=2, comment="old", followup=True)
        async with database.session() as session:
            assert await purge_comments_before(session, NOON + timedelta(hours=1), "retention") == 1
            await session.commit()
        async with database.session() as session:
            assert await purge_comments_before(session, NOON + timedelta(days=1), "retention") == 0
            await session.commit()
        entries = await rows(database, AuditEntry)
        assert [(e.actor, e.action) for e in entries] == [("retention", PURGE_ACTION)] * 2
        assert entries[0].detail == "1 comment(s) and 1 follow-up comment(s) deleted"
        assert entries[0].target == "comments before 2026-11-22 13:00:00"
        async with database.session() as session:
            last = await latest_audit(session, PURGE_ACTION)
        assert last is not None
        assert last.detail == "0 comment(s) and 0 follow-up comment(s) deleted"
        assert last.target == "comments before 2026-11-23 12:00:00"
