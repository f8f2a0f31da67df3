"""/forget takes the whole person: every address linked to the one named, on every channel."""

from __future__ import annotations

from sqlmodel import col, select

from storage.db import Database
from storage.decisions import NewDecision, record_decision
from storage.invitations import create_invitation
from storage.people import EMAIL, REQUESTER, link_addresses
from storage.privacy import FORGOTTEN_REASON, forget_respondent
from storage.respondents import find_respondent, upsert_respondent
from storage.tables import Decision, DecisionOutcome, Invitation, InvitationStatus, Person
from tests.storage.builders import new_invitation

ADMIN = "telegram:42 Admin"


async def a_person(database: Database) -> None:
    """Ana: a Telegram chat, a Slack user, an email and a Zendesk requester id, one person;
    a Telegram survey answered, a Slack one suppressed by quarantine, one awaiting its link."""
    async with database.session() as session:
        chat = await upsert_respondent(session, "telegram", "1001")
        slack = await upsert_respondent(session, "slack", "U0ANA0001")
        email = await upsert_respondent(session, EMAIL, "ana@example.com")
        desk = await upsert_respondent(session, REQUESTER, "zendesk:7")
        await link_addresses(session, [chat, slack, email, desk])
        assert chat.id is not None and email.id is not None
        await create_invitation(session, new_invitation(chat.id, "T-1", address="1001"))
        await create_invitation(
            session,
            new_invitation(email.id, "T-2", address="", status=InvitationStatus.AWAITING_LINK),
        )
        for case, recipient, channel in (
            ("S-1", "U0ANA0001", "slack"),
            ("Z-1", "zendesk:7", "telegram"),
        ):
            await record_decision(
                session,
                NewDecision(
                    source="api",
                    event_type="case.closed",
                    case_id=case,
                    channel=channel,
                    recipient=recipient,
                    outcome=DecisionOutcome.SUPPRESSED,
                    detail=f"quarantine: {recipient} was surveyed",
                    event={"case_id": case, "recipient": recipient, "team": "billing"},
                ),
            )
        bo = await upsert_respondent(session, "slack", "U0BOB0002")  # somebody else
        assert bo.id is not None
        await create_invitation(
            session, new_invitation(bo.id, "B-1", channel="slack", address="U0BOB0002")
        )
        await session.commit()


async def test_forgetting_one_address_forgets_the_person_everywhere(database: Database) -> None:
    await a_person(database)
    async with database.session() as session:
        result = await forget_respondent(session, EMAIL, "Ana@Example.com", ADMIN)
        await session.commit()
    assert result is not None
    assert sorted(result.addresses) == sorted(
        [("telegram", "1001"), ("slack", "U0ANA0001"), (EMAIL, "ana@example.com"),
         (REQUESTER, "zendesk:7")]
    )  # fmt: skip
    async with database.session() as session:
        for kind, value in result.addresses:
            assert await find_respondent(session, kind, value) is None
        invitations = (await session.exec(select(Invitation).order_by(col(Invitation.id)))).all()
        ana = [i for i in invitations if i.case_id != "B-1"]
        assert {i.address for i in ana} == {result.token}
        waiting = next(i for i in ana if i.case_id == "T-2")
        assert (waiting.status, waiting.failure_reason) == ("failed", FORGOTTEN_REASON)
        decisions = (await session.exec(select(Decision))).all()
        assert {d.recipient for d in decisions} == {result.token}
        assert all("U0ANA0001" not in d.detail and "zendesk:7" not in d.detail for d in decisions)
        assert [p.forgotten_at is not None for p in (await session.exec(select(Person))).all()] == [
            True
        ]
        bo = await find_respondent(session, "slack", "U0BOB0002")
        assert bo is not None and bo.forgotten_at is None
        assert next(i for i in invitations if i.case_id == "B-1").address == "U0BOB0002"
