"""a fan-out child's discovery event is read from its run

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

A fan-out wrote a ``fan_out_discovery`` event for each child run it created: a row beside the child's own,
which holds everything the event says but the operation that found the child and the provider that
answered. Those two now go on the child's row (``discovery``), and the timeline reads the event from the
run (``dex.entities.timeline.DISCOVERY_EVENTS_SQL``). Events written before stay where they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "pipeline_runs", sa.Column("discovery", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    # The events read from runs are written back to the timeline, as it held them.
    op.execute(
        """
        INSERT INTO entity_timeline (id, org_id, company_id, entity_type, entity_id, operation_id,
            pipeline_run_id, submission_id, provider, status, fields_updated, summary, metadata, created_at)
        SELECT gen_random_uuid(), r.org_id, r.company_id, r.entity_type, r.entity_id,
            COALESCE(r.discovery->>'operation_id', 'unknown.operation'), r.id, r.submission_id,
            r.discovery->>'provider', 'found',
            NULLIF(ARRAY(SELECT e.key FROM jsonb_each(r.entity_input) e WHERE e.value <> 'null'::jsonb
                         ORDER BY e.key COLLATE "C"), '{}'),
            format('%s: discovered %s #%s', r.discovery->>'operation_id', r.entity_type, r.entity_index),
            jsonb_build_object('event_type', 'fan_out_discovery',
                'parent_pipeline_run_id', r.parent_pipeline_run_id),
            r.created_at
        FROM pipeline_runs r WHERE r.discovery IS NOT NULL
        """
    )
    op.drop_column("pipeline_runs", "discovery")
