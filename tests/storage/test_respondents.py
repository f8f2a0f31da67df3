"""Respondents: one row per channel user, however often or concurrently we meet them."""

import asyncio

from sqlalchemy import func
from sqlmodel import select

from storage.db import Database
from storage.respondents import (
    find_respondent,
    get_respondent,
    remember_language,
    upsert_respondent,
)
from storage.tables import Respondent


async def respondent_count(database: Database) -> int:
    async with database.session() as session:
        return (await session.exec(select(func.count()).select_from(Respondent))).one()


class TestRespondents:
    async def test_meeting_a_user_twice_gives_one_respondent(self, database: Database) -> None:
        async with database.session() as session:
            first = await upsert_respondent(session, "telegram", "42")
            again = await upsert_respondent(session, "telegram", "42")
            await session.commit()
        assert first.id == again.id
        assert await respondent_count(database) == 1

    async def test_same_id_on_another_channel_is_another_respondent(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            telegram = await upsert_respondent(session, "telegram", "U42")
            slack = await upsert_respondent(session, "slack", "U42")
            await session.commit()
        assert telegram.id != slack.id

    async def test_remember_language_sets_a_known_respondents_language(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            await upsert_respondent(session, "telegram", "42")
            await session.commit()
        async with database.session() as session:
            assert await remember_language(session, "telegram", "42", "pl")
            assert not await remember_language(session, "telegram", "42", "pl")  # unchanged
            assert not await remember_language(session, "telegram", "43", "pl")  # unknown
            await session.commit()
        async with database.session() as session:
            found = await find_respondent(session, "telegram", "42")
            assert found is not None and found.language == "pl"
        assert await respondent_count(database) == 1

    async def test_a_given_language_replaces_the_stored_one(self, database: Database) -> None:
        async with database.session() as session:
            created = await upsert_respondent(session, "slack", "U1", "en")
            created_at, first_update = created.created_at, created.updated_at
            await session.commit()
        await asyncio.sleep(0.01)
        async with database.session() as session:
            await upsert_respondent(session, "slack", "U1", "de")
            await session.commit()
        async with database.session() as session:
            stored = await find_respondent(session, "slack", "U1")
        assert stored is not None
        assert stored.language == "de"
        assert stored.created_at == created_at
        assert stored.updated_at > first_update

    async def test_no_language_keeps_the_stored_one(self, database: Database) -> None:
        async with database.session() as session:
            await upsert_respondent(session, "slack", "U1", "pt")
            kept = await upsert_respondent(session, "slack", "U1")
            await session.commit()
        assert kept.language == "pt"

    async def test_concurrent_first_contacts_make_one_row(self, database: Database) -> None:
        async def meet() -> int | None:
            async with database.session() as session:
                respondent = await upsert_respondent(session, "telegram", "7", "es")
                await session.commit()
                return respondent.id

        ids = await asyncio.gather(*(meet() for _ in range(20)))
        assert len(set(ids)) == 1
        assert await respondent_count(database) == 1

    async def test_lookups(self, database: Database) -> None:
        async with database.session() as session:
            created = await upsert_respondent(session, "telegram", "42")
            await session.commit()
        assert created.id is not None
        async with database.session() as session:
            by_id = await get_respondent(session, created.id)
            by_channel_id = await find_respondent(session, "telegram", "42")
            assert await get_respondent(session, created.id + 1) is None
            assert await find_respondent(session, "slack", "42") is None
        assert by_id is not None and by_id.external_id == "42"
        assert by_channel_id is not None and by_channel_id.id == created.id

    async def test_nothing_is_stored_until_the_caller_commits(self, database: Database) -> None:
        async with database.session() as session:
            await upsert_respondent(session, "telegram", "42")
            await session.rollback()
        assert await respondent_count(database) == 0
