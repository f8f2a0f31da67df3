"""SQLModel tables: respondents, the invitations sent to them, and their answers."""

from enum import StrEnum
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.clock import utcnow

# Ids are SQL INTEGER columns: PostgreSQL's is 32 bits; a larger id from outside finds nothing.
MAX_ID = 2**31 - 1

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
    # Nobody knows the person's chat: the survey waits for them to open its link (never sent
    # blind); opening it binds their chat and sends the first question.
    AWAITING_LINK = "awaiting_link"
    # Claimed by a sender right before the platform call; sent once the platform accepted.
    SENDING = "sending"
    SENT = "sent"
    STARTED = "started"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"


class Person(SQLModel, table=True):
    """One human behind several addresses (a Telegram chat, a Slack user, an email, a help
    desk's requester id): quarantine, /forget and reports' people count go by the person."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    forgotten_at: NaiveDatetime | None = None


class Respondent(SQLModel, table=True):
    """One address of a person: their id on a channel (`telegram`, `slack`), or an `email`
    or help desk `requester` ("zendesk:123") that invitations by link are made out to."""

    __tablename__ = "respondents"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_respondent_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    language: str | None = Field(default=None, max_length=16)
    # The person this address belongs to; None: an address never linked to another, its own
    # person (storage.people reads it so).
    person_id: int | None = Field(default=None, foreign_key="people.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow, sa_column_kwargs={"onupdate": utcnow})
    # Set by /forget: the identity is replaced by an anonymous token, the scores stay.
    forgotten_at: NaiveDatetime | None = None


class Invitation(SQLModel, table=True):
    """One survey sent (or to be sent) to one respondent about one case."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("case_id", "survey_id", name="uq_invitation_case_survey"),
        # Serves both "by status" filters and the due_invitations() scan.
        Index("ix_invitations_status_scheduled_at", "status", "scheduled_at"),
        # Quarantine: "when was this customer last surveyed?"
        Index("ix_invitations_respondent_created", "respondent_id", "created_at"),
        # Reports. Invitations sent in a period (the response rate's denominator), overall and
        # by team; and a team's invitations with what a report joins and groups on, read from
        # the index alone (it also serves every "team = X" lookup).
        Index("ix_invitations_sent_at", "sent_at"),
        Index("ix_invitations_team_sent_at", "team", "sent_at"),
        Index("ix_invitations_team_id_agent", "team", "id", "agent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(max_length=128, index=True)
    case_id: str = Field(max_length=255)
    respondent_id: int = Field(foreign_key="respondents.id", index=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)
    language: str | None = Field(default=None, max_length=16)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Promoted from attributes at creation so that reports filter and group on real columns.
    team: str | None = Field(default=None, max_length=128)
    agent: str | None = Field(default=None, max_length=128, index=True)
    # Lower-case tags wrapped in commas (",vip,refund,") so `LIKE '%,vip,%'` finds one tag.
    tags: str | None = Field(default=None, sa_type=Text)
    rule_id: str | None = Field(default=None, max_length=64)
    # Where in the customer journey the case was: the rule's touchpoint, else the event type.
    touchpoint: str | None = Field(default=None, max_length=64)
    # Overrides of the survey's expiry and the rule's reminder, applied when the invitation is sent.
    expiry_hours: float | None = None
    remind_after_hours: float | None = None
    # The rule's send window ("09:00-20:00") in the customer's time zone: the reminder keeps to
    # it as the first send did. None: any hour.
    send_window: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    status: str = Field(default=InvitationStatus.SCHEDULED.value, max_length=16)
    failure_reason: str | None = Field(default=None, sa_type=Text)
    message_ref: str | None = Field(default=None, max_length=255)
    # The secret of its Telegram link (t.me/<bot>?start=<token>); None on other channels.
    link_token: str | None = Field(default=None, max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    scheduled_at: NaiveDatetime
    sending_at: NaiveDatetime | None = None
    sent_at: NaiveDatetime | None = None
    reminder_at: NaiveDatetime | None = None
    reminded_at: NaiveDatetime | None = None
    started_at: NaiveDatetime | None = None
    completed_at: NaiveDatetime | None = None
    expires_at: NaiveDatetime | None = None


class Answer(SQLModel, table=True):
    """One respondent's answer to one question of an invitation."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("invitation_id", "question_id", name="uq_answer_invitation_question"),
        # Reports: the scores (or comments) of one kind in a period, read from the index alone.
        Index("ix_answers_kind_answered_at", "kind", "answered_at", "invitation_id", "score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitations.id", index=True)
    question_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    score: int | None = None
    choice: str | None = Field(default=None, max_length=255)
    text: str | None = Field(default=None, sa_type=Text)
    answered_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class DecisionOutcome(StrEnum):
    SCHEDULED = "scheduled"
    SUPPRESSED = "suppressed"
    REJECTED = "rejected"  # the event could not be decided (a 422); `reason` is the error code


class Decision(SQLModel, table=True):
    """What cxbot decided about one incoming support event, kept to answer "/why CASE"."""

    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    source: str = Field(max_length=32)  # api | zendesk | freshdesk
    event_type: str = Field(max_length=64)
    case_id: str = Field(max_length=255, index=True)
    channel: str = Field(max_length=32)
    recipient: str = Field(max_length=320)
    rule_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=32)  # a surveys.rules.Suppression value
    detail: str = Field(default="", sa_type=Text)
    invitation_id: int | None = Field(default=None, foreign_key="invitations.id")
    send_at: NaiveDatetime | None = None
    event: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RuleState(SQLModel, table=True):
    """A rule paused or resumed from chat or the API; overrides `paused` in the rules file."""

    __tablename__ = "rule_states"

    rule_id: str = Field(primary_key=True, max_length=64)
    paused: bool
    changed_by: str | None = Field(default=None, max_length=160)
    changed_at: NaiveDatetime = Field(default_factory=utcnow)


class FollowupStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Followup(SQLModel, table=True):
    """A detractor alert posted to the team, and who follows it up."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitations.id", unique=True)
    kind: str = Field(max_length=16)
    score: int
    comment: str | None = Field(default=None, sa_type=Text)
    alert_channel: str = Field(max_length=32)
    alert_address: str = Field(max_length=255)
    alert_ref: str | None = Field(default=None, max_length=255)
    status: str = Field(default=FollowupStatus.OPEN.value, max_length=16)
    claimed_by: str | None = Field(default=None, max_length=160)
    claimed_at: NaiveDatetime | None = None
    resolved_by: str | None = Field(default=None, max_length=160)
    resolved_at: NaiveDatetime | None = None
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Privacy and admin actions (forget, retention, rule changes), for the record."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=160)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=320)
    detail: str = Field(default="", sa_type=Text)


class TicketWriteStatus(StrEnum):
    """A write of an answer back to its help desk case: pending -> writing -> written | failed."""

    PENDING = "pending"
    # Claimed by a job right before the help desk call: found so later, the call may have
    # been made, and the job looks at the case before writing again.
    WRITING = "writing"
    WRITTEN = "written"
    FAILED = "failed"


class TicketWrite(SQLModel, table=True):
    """One answer (score or comment) to be written to the help desk case it came from, once."""

    __tablename__ = "ticket_writes"
    __table_args__ = (
        UniqueConstraint("invitation_id", "question_id", name="uq_ticket_write_answer"),
        Index("ix_ticket_writes_status_updated", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitations.id")
    question_id: str = Field(max_length=128)
    helpdesk: str = Field(max_length=32)
    case_id: str = Field(max_length=255, index=True)
    status: str = Field(default=TicketWriteStatus.PENDING.value, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    written_at: NaiveDatetime | None = None


class Digest(SQLModel, table=True):
    """A chat subscribed to a scheduled report; ``next_at`` is its next slot (naive UTC).

    A worker posts a slot only after moving ``next_at`` on from the value it read (an UPDATE
    matching that value), so however many workers look, one of them posts it.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("channel", "address", "schedule", "filters", name="uq_digest_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)
    schedule: str = Field(max_length=32)  # "daily 08:00", "weekly mon 09:00"
    filters: str = Field(default="", max_length=255)  # "team=billing", as typed
    created_by: str = Field(max_length=160)  # "telegram:77": whose role limits it
    next_at: NaiveDatetime = Field(index=True)
    posted_at: NaiveDatetime | None = None
    created_at: NaiveDatetime = Field(default_factory=utcnow)
