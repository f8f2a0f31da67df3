"""People: addresses linked into one person, merged when two turn out to be one, and the
link tokens that find an invitation again."""

from datetime import timedelta

from storage.answers import NewAnswer, record_answer
from storage.db import Database
from storage.invitations import bind_link, create_invitation, get_invitation, survey_times
from storage.links import TOKEN_PATTERN, ensure_link_token, invitation_by_token
from storage.people import (
    EMAIL,
    addresses_of,
    link_addresses,
    person_on,
    same_person,
)
from storage.reports.people import people_answering
from storage.respondents import find_respondent, upsert_respondent
from storage.tables import InvitationStatus
from surveys.definitions import QuestionKind
from surveys.report_query import parse_report_args
from tests.storage.builders import NOON, new_invitation, scheduled_invitation


class TestPeople:
    async def test_linked_addresses_are_one_person(self, database: Database) -> None:
        async with database.session() as session:
            email = await upsert_respondent(session, EMAIL, "ana@example.com")
            chat = await upsert_respondent(session, "telegram", "1001")
            lone = await upsert_respondent(session, "slack", "U9")
            person = await link_addresses(session, [email, chat])
            await session.commit()
        async with database.session() as session:
            found = await find_respondent(session, EMAIL, "ana@example.com")
            assert found is not None and found.person_id == person
            assert await same_person(session, found) == sorted([email.id, chat.id])  # type: ignore[type-var]
            assert [r.external_id for r in await addresses_of(session, found)] == [
                "ana@example.com",
                "1001",
            ]
            assert await same_person(session, lone) == [lone.id]
            on_telegram = await person_on(session, person, "telegram")
            assert on_telegram is not None and on_telegram.external_id == "1001"
            assert await person_on(session, person, "slack") is None

    async def test_two_people_found_to_be_one_are_merged(self, database: Database) -> None:
        async with database.session() as session:
            email = await upsert_respondent(session, EMAIL, "ana@example.com")
            chat = await upsert_respondent(session, "telegram", "1001")
            slack = await upsert_respondent(session, "slack", "U1")
            desk = await upsert_respondent(session, "requester", "zendesk:7")
            first = await link_addresses(session, [email, chat])
            second = await link_addresses(session, [slack, desk])
            assert first != second
            merged = await link_addresses(session, [chat, desk])
            await session.commit()
        assert merged == min(first, second)
        async with database.session() as session:
            found = await find_respondent(session, "slack", "U1")
            assert found is not None
            assert len(await same_person(session, found)) == 4

    async def test_quarantine_times_span_every_address(self, database: Database) -> None:
        async with database.session() as session:
            chat = await upsert_respondent(session, "telegram", "1001")
            slack = await upsert_respondent(session, "slack", "U1")
            await link_addresses(session, [chat, slack])
            assert chat.id is not None and slack.id is not None
            await create_invitation(
                session, new_invitation(slack.id, "S-1", channel="slack", address="U1")
            )
            await session.commit()
        async with database.session() as session:
            since = NOON - timedelta(days=1)
            assert await survey_times(session, chat.id, since) == []
            assert await survey_times(session, await same_person(session, chat), since) == [NOON]


class TestLinkTokens:
    async def test_every_invitation_gets_its_own_unguessable_token(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            one = await scheduled_invitation(session, "T-1")
            two = await scheduled_invitation(session, "T-2")
            await session.commit()
        assert one.link_token and two.link_token and one.link_token != two.link_token
        assert TOKEN_PATTERN.fullmatch(one.link_token) and len(one.link_token) == 32
        async with database.session() as session:
            found = await invitation_by_token(session, one.link_token)
            assert found is not None and found.id == one.id
            assert await invitation_by_token(session, "no-such-token") is None

    async def test_an_old_invitation_gets_a_token_once(self, database: Database) -> None:
        async with database.session() as session:
            invitation = await scheduled_invitation(session)
            invitation.link_token = None
            session.add(invitation)
            await session.commit()
            assert invitation.id is not None
            first = await ensure_link_token(session, invitation.id)
            again = await ensure_link_token(session, invitation.id)
            await session.commit()
            assert first is not None and first == again
            assert await ensure_link_token(session, 999) is None

    async def test_a_link_binds_once(self, database: Database) -> None:
        async with database.session() as session:
            email = await upsert_respondent(session, EMAIL, "ana@example.com")
            chat = await upsert_respondent(session, "telegram", "1001")
            assert email.id is not None and chat.id is not None
            invitation, _ = await create_invitation(
                session,
                new_invitation(email.id, address="", status=InvitationStatus.AWAITING_LINK),
            )
            await session.commit()
            assert invitation.id is not None
            assert await bind_link(session, invitation.id, chat.id, "1001")
            assert not await bind_link(session, invitation.id, chat.id, "2002")
            await session.commit()
        async with database.session() as session:
            bound = await get_invitation(session, invitation.id)
            assert bound is not None
            assert (bound.status, bound.respondent_id, bound.address) == (
                "scheduled",
                chat.id,
                "1001",
            )


class TestPeopleInReports:
    async def test_a_person_answering_on_two_channels_counts_once(self, database: Database) -> None:
        async with database.session() as session:
            chat = await upsert_respondent(session, "telegram", "1001")
            slack = await upsert_respondent(session, "slack", "U0ANA0001")
            other = await upsert_respondent(session, "telegram", "2002")
            await link_addresses(session, [chat, slack])
            cases = [(chat, "T-1", "telegram"), (slack, "S-1", "slack"), (other, "T-2", "telegram")]
            for respondent, case, channel in cases:
                assert respondent.id is not None
                invitation, _ = await create_invitation(
                    session, new_invitation(respondent.id, case, channel=channel)
                )
                assert invitation.id is not None
                await record_answer(
                    session, NewAnswer(invitation.id, "score", "nps", 9, None, None, NOON)
                )
            await session.commit()
        report = parse_report_args("30d", now=NOON + timedelta(days=1), command="nps")
        async with database.session() as session:
            assert await people_answering(session, report, QuestionKind.NPS) == 2
            one_team = parse_report_args(
                "30d channel=slack", now=NOON + timedelta(days=1), command="nps"
            )
            assert await people_answering(session, one_team, QuestionKind.NPS) == 1
