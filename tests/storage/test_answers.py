"""Answers: each question answered once per invitation, scores pulled back by kind."""

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from storage.answers import NewAnswer, answers_for, record_answer, scores
from storage.db import Database
from tests.storage.builders import NOON, scheduled_invitation


def answer(
    invitation_id: int,
    question_id: str = "nps",
    kind: str = "nps",
    score: int | None = 9,
    *,
    choice: str | None = None,
    text: str | None = None,
    minutes: int = 0,
) -> NewAnswer:
    return NewAnswer(
        invitation_id=invitation_id,
        question_id=question_id,
        kind=kind,
        score=score,
        choice=choice,
        text=text,
        answered_at=NOON + timedelta(minutes=minutes),
    )


async def invitation(database: Database, case_id: str = "T-1", survey_id: str = "nps") -> int:
    async with database.session() as session:
        created = await scheduled_invitation(session, case_id, survey_id=survey_id)
        await session.commit()
    assert created.id is not None
    return created.id


class TestAnswers:
    async def test_a_double_tap_stores_one_answer(self, database: Database) -> None:
        invitation_id = await invitation(database)
        async with database.session() as session:
            assert await record_answer(session, answer(invitation_id, score=9))
            assert not await record_answer(session, answer(invitation_id, score=3))
            await session.commit()
        async with database.session() as session:
            stored = await answers_for(session, invitation_id)
        assert [(a.question_id, a.score) for a in stored] == [("nps", 9)]

    async def test_answers_come_back_in_the_order_given(self, database: Database) -> None:
        invitation_id = await invitation(database)
        long_text = "Fast and friendly. " * 400  # free text is TEXT, not a short VARCHAR
        async with database.session() as session:
            await record_answer(session, answer(invitation_id, "nps", "nps", 10))
            await record_answer(
                session, answer(invitation_id, "reason", "choice", None, choice="speed")
            )
            await record_answer(
                session, answer(invitation_id, "comment", "text", None, text=long_text)
            )
            await session.commit()
        async with database.session() as session:
            stored = await answers_for(session, invitation_id)
        assert [a.question_id for a in stored] == ["nps", "reason", "comment"]
        assert stored[1].choice == "speed" and stored[1].score is None
        assert stored[2].text == long_text
        assert stored[0].answered_at == NOON and stored[0].answered_at.tzinfo is None

    async def test_an_answer_needs_an_existing_invitation(self, database: Database) -> None:
        async with database.session() as session:
            with pytest.raises(IntegrityError):
                await record_answer(session, answer(12345))

    async def test_scores_filter_by_kind_survey_and_time(self, database: Database) -> None:
        nps_1 = await invitation(database, "A")
        nps_2 = await invitation(database, "B")
        csat = await invitation(database, "C", survey_id="csat")
        async with database.session() as session:
            await record_answer(session, answer(nps_1, score=10, minutes=0))
            await record_answer(session, answer(nps_1, "why", "choice", None, choice="price"))
            await record_answer(session, answer(nps_2, score=3, minutes=30))
            await record_answer(session, answer(csat, "csat", "csat", 4, minutes=10))
            await record_answer(session, answer(csat, "nps", "nps", 7, minutes=20))
            await session.commit()
        async with database.session() as session:
            assert await scores(session, "nps") == [10, 3, 7]
            assert await scores(session, "nps", survey_id="nps") == [10, 3]
            assert await scores(session, "nps", since=NOON + timedelta(minutes=20)) == [3, 7]
            assert await scores(session, "csat") == [4]
            assert await scores(session, "choice") == []
            assert await scores(session, "ces") == []
