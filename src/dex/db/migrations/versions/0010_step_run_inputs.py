"""a pipeline step's operation run reads its input from its step

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``operation_runs.input_payload`` is NULL for the operation run of a pipeline step: its input is the step's
``input_payload`` (a context runs to kilobytes, and each copy was compressed again by PostgreSQL). Runs of
``/api/v1/execute`` and of coverage checks keep their own input.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("operation_runs", "input_payload", nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE operation_runs r SET input_payload = COALESCE("
        "(SELECT s.input_payload FROM step_results s WHERE s.id = r.step_result_id), '{}'::jsonb) "
        "WHERE r.input_payload IS NULL"
    )
    op.alter_column("operation_runs", "input_payload", nullable=False)
