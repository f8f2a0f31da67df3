"""Chats subscribed to scheduled digests: the digests table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("schedule", sa.String(length=32), nullable=False),
        sa.Column("filters", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
        sa.UniqueConstraint("channel", "address", "schedule", "filters", name="uq_digest_slot"),
    )
    op.create_index("ix_digests_next_at", "digests", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_digests_next_at", table_name="digests")
    op.drop_table("digests")
