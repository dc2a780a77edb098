"""a run's entity upsert is kept on the run, and its timeline event is read from there

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

Every succeeded run wrote an ``entity_upsert`` event to ``entity_timeline`` — a row, with two index
entries, for what the run's own completion already writes: the run row is updated then anyway. What the
merge did now goes on the run row with that update (``upsert``), beside the entity (``entity_id``: the
one the run's input identifies, written with the run, so the completion rarely changes an indexed column
and stays a heap-only update), and the timeline reads the event from the run
(``dex.entities.timeline.UPSERT_EVENTS_SQL``). Events written before stay where they are. The merge makes a
run's row longer: it stays in the row up to 4 KB, as a step's does (0013).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pipeline_runs", sa.Column("entity_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column(
        "pipeline_runs", sa.Column("upsert", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.create_index("ix_pipeline_runs_entity", "pipeline_runs", ["org_id", "entity_type", "entity_id"])
    op.execute("ALTER TABLE pipeline_runs SET (toast_tuple_target = 4080)")


def downgrade() -> None:
    # The events read from runs are written back to the timeline, as it held them.
    op.execute(
        """
        INSERT INTO entity_timeline (id, org_id, company_id, entity_type, entity_id, operation_id,
            pipeline_run_id, submission_id, provider, status, fields_updated, summary, metadata, created_at)
        SELECT gen_random_uuid(), r.org_id, r.company_id, r.entity_type, r.entity_id,
            COALESCE(r.upsert->>'last_operation_id', 'unknown.operation'), r.id, r.submission_id, NULL,
            'found',
            CASE WHEN jsonb_typeof(r.upsert->'fields_updated') = 'array'
                 THEN ARRAY(SELECT jsonb_array_elements_text(r.upsert->'fields_updated')) END,
            format('entity %s (version %s)',
                   CASE WHEN CAST(r.upsert->>'created' AS boolean) THEN 'created' ELSE 'updated' END,
                   r.upsert->>'record_version'),
            jsonb_build_object('event_type', 'entity_upsert',
                'last_operation_id', r.upsert->'last_operation_id',
                'record_version', r.upsert->'record_version',
                'created', r.upsert->'created', 'pipeline_entity_type', r.entity_type),
            r.finished_at
        FROM pipeline_runs r WHERE r.upsert IS NOT NULL
        """
    )
    op.execute("ALTER TABLE pipeline_runs RESET (toast_tuple_target)")
    op.drop_index("ix_pipeline_runs_entity", table_name="pipeline_runs")
    op.drop_column("pipeline_runs", "upsert")
    op.drop_column("pipeline_runs", "entity_id")
