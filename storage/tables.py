"""SQLModel tables: respondents, the invitations sent to them, and their answers."""

from enum import StrEnum
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.clock import utcnow

# Named constraints keep Alembic's SQLite batch mode and autogenerate diffs predictable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# All datetimes below are naive UTC (see storage.clock.utcnow): SQLite drops tzinfo, so we
# store `timestamp without time zone` everywhere. sqlmodel maps a plain `datetime` to its
# tz-aware UTCDateTime; `NaiveDatetime` asks it for a plain DateTime column instead.


class InvitationStatus(StrEnum):
    """Where an invitation is in its life: scheduled -> sent -> started -> completed."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    STARTED = "started"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"


class Respondent(SQLModel, table=True):
    """A person we can survey, identified by their id on one channel."""

    __tablename__ = "respondents"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_respondent_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    language: str | None = Field(default=None, max_length=16)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow, sa_column_kwargs={"onupdate": utcnow})


class Invitation(SQLModel, table=True):
    """One survey sent (or to be sent) to one respondent about one case."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("case_id", "survey_id", name="uq_invitation_case_survey"),
        # Serves both "by status" filters and the due_invitations() scan.
        Index("ix_invitations_status_scheduled_at", "status", "scheduled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(max_length=128, index=True)
    case_id: str = Field(max_length=255)
    respondent_id: int = Field(foreign_key="respondents.id", index=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)
    language: str | None = Field(default=None, max_length=16)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=InvitationStatus.SCHEDULED.value, max_length=16)
    failure_reason: str | None = Field(default=None, sa_type=Text)
    message_ref: str | None = Field(default=None, max_length=255)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    scheduled_at: NaiveDatetime
    sent_at: NaiveDatetime | None = None
    started_at: NaiveDatetime | None = None
    completed_at: NaiveDatetime | None = None
    expires_at: NaiveDatetime | None = None


class Answer(SQLModel, table=True):
    """One respondent's answer to one question of an invitation."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("invitation_id", "question_id", name="uq_answer_invitation_question"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitations.id", index=True)
    question_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    score: int | None = None
    choice: str | None = Field(default=None, max_length=255)
    text: str | None = Field(default=None, sa_type=Text)
    answered_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
