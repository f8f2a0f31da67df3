"""Report indexes: scores of a kind in a period; invitations by period and by team.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Hand-checked against storage/tables.py (tests/storage/test_migrations.py compares them).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (kind, answered_at) finds a kind's answers in a period; invitation_id and score make
    # the index covering, so a report joins and counts without reading the table.
    op.create_index(
        "ix_answers_kind_answered_at",
        "answers",
        ["kind", "answered_at", "invitation_id", "score"],
    )
    op.create_index("ix_invitations_sent_at", "invitations", ["sent_at"])
    op.create_index("ix_invitations_team_sent_at", "invitations", ["team", "sent_at"])
    # A team's invitations with the columns a report joins (id) and groups on (agent): a
    # team report reads the index alone instead of one heap page per invitation. It leads
    # with team, so it replaces the plain team index.
    op.create_index("ix_invitations_team_id_agent", "invitations", ["team", "id", "agent"])
    op.drop_index("ix_invitations_team", table_name="invitations")


def downgrade() -> None:
    op.create_index("ix_invitations_team", "invitations", ["team"])
    op.drop_index("ix_invitations_team_id_agent", table_name="invitations")
    op.drop_index("ix_invitations_team_sent_at", table_name="invitations")
    op.drop_index("ix_invitations_sent_at", table_name="invitations")
    op.drop_index("ix_answers_kind_answered_at", table_name="answers")
