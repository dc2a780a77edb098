"""root runs of a submission: their count, and an index in batch-status order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Batch status pages through a submission's root runs. ``submissions.root_runs`` counts them (they are all
created at submit), so a page's total is read rather than counted over 100k runs, and the partial index
``ix_pipeline_runs_submission_id_roots`` yields one page in order without sorting every root of the batch.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("root_runs", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        """
        UPDATE submissions s SET root_runs = roots.count
        FROM (
            SELECT submission_id, count(*) AS count FROM pipeline_runs
            WHERE parent_pipeline_run_id IS NULL GROUP BY submission_id
        ) roots
        WHERE roots.submission_id = s.id
        """
    )
    op.create_index(
        "ix_pipeline_runs_submission_id_roots",
        "pipeline_runs",
        ["submission_id", "created_at", "entity_index", "id"],
        postgresql_where=sa.text("parent_pipeline_run_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_runs_submission_id_roots", table_name="pipeline_runs")
    op.drop_column("submissions", "root_runs")
