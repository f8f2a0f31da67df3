"""Answers written back to their help desk cases, once each: the ticket_writes table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_writes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=128), nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name="fk_ticket_writes_invitation_id_invitations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_writes"),
        sa.UniqueConstraint("invitation_id", "question_id", name="uq_ticket_write_answer"),
    )
    op.create_index("ix_ticket_writes_case_id", "ticket_writes", ["case_id"])
    op.create_index("ix_ticket_writes_status_updated", "ticket_writes", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_writes_status_updated", table_name="ticket_writes")
    op.drop_index("ix_ticket_writes_case_id", table_name="ticket_writes")
    op.drop_table("ticket_writes")
