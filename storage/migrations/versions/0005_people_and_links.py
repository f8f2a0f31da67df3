"""People behind several addresses, and the token of each invitation's Telegram link.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
Existing respondents keep person_id NULL: each is its own person until linked to another.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
    )
    with op.batch_alter_table("respondents") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_respondents_person_id_people", "people", ["person_id"], ["id"])
        batch.create_index("ix_respondents_person_id", ["person_id"])
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("link_token", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_invitations_link_token", ["link_token"])


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_constraint("uq_invitations_link_token", type_="unique")
        batch.drop_column("link_token")
    with op.batch_alter_table("respondents") as batch:
        batch.drop_index("ix_respondents_person_id")
        batch.drop_constraint("fk_respondents_person_id_people", type_="foreignkey")
        batch.drop_column("person_id")
    op.drop_table("people")
