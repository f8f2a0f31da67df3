"""Triggers and results: rule columns on invitations, decisions, rule states, follow-ups, audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVITATION_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[object]], ...] = (
    ("team", sa.String(length=128)),
    ("agent", sa.String(length=128)),
    ("tags", sa.Text()),
    ("rule_id", sa.String(length=64)),
    ("expiry_hours", sa.Float()),
    ("remind_after_hours", sa.Float()),
    ("sending_at", sa.DateTime()),
    ("reminder_at", sa.DateTime()),
    ("reminded_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("respondents") as batch:
        batch.add_column(sa.Column("forgotten_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("invitations") as batch:
        for name, type_ in INVITATION_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index("ix_invitations_team", ["team"])
        batch.create_index("ix_invitations_agent", ["agent"])
        batch.create_index("ix_invitations_respondent_created", ["respondent_id", "created_at"])
    # Existing rows: promote team and agent out of the JSON attributes.
    if op.get_bind().dialect.name == "postgresql":
        team, agent = "(attributes::jsonb ->> 'team')", "(attributes::jsonb ->> 'agent')"
    else:
        team, agent = "json_extract(attributes, '$.team')", "json_extract(attributes, '$.agent')"
    op.execute(
        f"UPDATE invitations SET team = substr({team}, 1, 128), agent = substr({agent}, 1, 128)"
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitations.id"], name="fk_decisions_invitation_id_invitations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_case_id", "decisions", ["case_id"])
    op.create_table(
        "rule_states",
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=160), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name="pk_rule_states"),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("alert_channel", sa.String(length=32), nullable=False),
        sa.Column("alert_address", sa.String(length=255), nullable=False),
        sa.Column("alert_ref", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=160), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=160), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitations.id"], name="fk_followups_invitation_id_invitations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_followups"),
        sa.UniqueConstraint("invitation_id", name="uq_followups_invitation_id"),
    )
    op.create_index("ix_followups_status_created", "followups", ["status", "created_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("followups")
    op.drop_table("rule_states")
    op.drop_table("decisions")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_index("ix_invitations_respondent_created")
        batch.drop_index("ix_invitations_agent")
        batch.drop_index("ix_invitations_team")
        for name, _ in reversed(INVITATION_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("respondents") as batch:
        batch.drop_column("forgotten_at")
