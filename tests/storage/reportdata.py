"""Report test data: invitations with their score and comment, inserted in a few statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import Answer, Invitation, Respondent

T0 = datetime(2026, 10, 5)  # a Monday
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Seed:
    """One invitation: its score of `kind` (None: sent, never answered) and comment."""

    score: int | None
    answered_at: datetime = T0
    kind: str = "nps"
    comment: str | None = None
    sent_at: datetime | None = None  # None: an hour before the answer (or T0 if unanswered)
    team: str | None = None
    agent: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    respondent_language: str | None = None
    channel: str = "telegram"
    survey: str | None = None  # None: the built-in survey named like the kind
    failure: str | None = None  # a reason: the invitation failed, never sent (due at `sent`)
    touchpoint: str | None = None

    @property
    def survey_id(self) -> str:
        return self.survey or self.kind

    @property
    def sent(self) -> datetime:
        if self.sent_at is not None:
            return self.sent_at
        return self.answered_at - HOUR if self.score is not None else T0

    @property
    def comment_at(self) -> datetime:
        return self.answered_at + timedelta(minutes=1)


async def seed(session: AsyncSession, seeds: list[Seed]) -> None:
    """Insert one respondent and one invitation per seed, then their answers (caller commits)."""
    if not seeds:
        return
    await session.exec(
        insert(Respondent).values(
            [
                {
                    "id": number,
                    "channel": row.channel,
                    "external_id": f"u{number}",
                    "language": row.respondent_language,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for number, row in enumerate(seeds, start=1)
            ]
        )
    )
    await session.exec(insert(Invitation).values([_invitation(n, s) for n, s in _numbered(seeds)]))
    answers: list[dict[str, Any]] = []
    for number, row in _numbered(seeds):
        if row.score is not None:
            answers.append(_answer(number, row.kind, row.kind, row.answered_at, score=row.score))
        if row.comment is not None:
            answers.append(_answer(number, "comment", "text", row.comment_at, text=row.comment))
    if answers:
        await session.exec(insert(Answer).values(answers))


async def clear(session: AsyncSession) -> None:
    """Delete every answer, invitation and respondent (caller commits)."""
    for table in (Answer, Invitation, Respondent):
        await session.exec(delete(table))


def _numbered(seeds: list[Seed]) -> list[tuple[int, Seed]]:
    return list(enumerate(seeds, start=1))


def _invitation(number: int, row: Seed) -> dict[str, Any]:
    return {
        "id": number,
        "survey_id": row.survey_id,
        "case_id": f"T-{number}",
        "respondent_id": number,
        "channel": row.channel,
        "address": f"u{number}",
        "language": row.language,
        "attributes": {},
        "team": row.team,
        "agent": row.agent,
        "tags": "," + ",".join(row.tags) + "," if row.tags else None,
        "status": _status(row),
        "failure_reason": row.failure,
        "touchpoint": row.touchpoint,
        "created_at": row.sent - HOUR,
        "scheduled_at": row.sent - HOUR if row.failure is None else row.sent,
        "sent_at": row.sent if row.failure is None else None,
    }


def _status(row: Seed) -> str:
    if row.failure is not None:
        return "failed"
    return "completed" if row.score is not None else "sent"


def _answer(
    number: int,
    question_id: str,
    kind: str,
    at: datetime,
    *,
    score: int | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    return {
        "invitation_id": number,
        "question_id": question_id,
        "kind": kind,
        "score": score,
        "choice": None,
        "text": text,
        "answered_at": at,
    }
