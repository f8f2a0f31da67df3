"""The customer journey's touchpoint on each invitation (the rule's label, or the event type).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("touchpoint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("touchpoint")
