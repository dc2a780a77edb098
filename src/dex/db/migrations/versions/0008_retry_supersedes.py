"""a retry supersedes the finished runs of earlier attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A retry runs every entity of a submission again. ``pipeline_runs.superseded_at`` marks the runs it took out
of the submission's run counters, so the submission's derived status follows the latest attempt, a
recount (``/api/internal/submissions/sync-status``) leaves them out too, and a later retry does not take
them out twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pipeline_runs", sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("pipeline_runs", "superseded_at")
