"""a finished step's timeline event is read from its row

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

Every finished step wrote a ``step_execution`` event to ``entity_timeline``: a row and two index entries
repeating what the step's own row holds once it finished — its status, position, operation, duration,
errors, skip reason, and the operation result (by reference to its operation run, whose output and
answers the event showed). A step dex records now says so on its row (``event_from_row``) and the timeline
reads the event from the step, its run (the entity) and its operation run (the fields it found)
(``dex.entities.timeline.STEP_EVENTS_SQL``). A step with a condition (which its row does not hold) and the
steps of a caller running them itself still write theirs. Events written before stay where they are. An
event read from a step belongs to its run's entity (the one the run's input identifies, and once the run
succeeded the one it merged into), where a written one was first given the entity the context identified
then — the same, except in a run that failed after learning a stronger identity mid-run. Resuming a run
writes out the events of the steps it reopens or drops.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS = (
    "id, org_id, company_id, entity_type, entity_id, operation_id, pipeline_run_id, submission_id, "
    "step_result_id, provider, status, fields_updated, summary, metadata, created_at"
)
STEP_EVENTS = """
    SELECT gen_random_uuid() AS id, s.org_id, s.company_id, r.entity_type, r.entity_id,
        COALESCE(s.operation_id, 'unknown.operation') AS operation_id, s.pipeline_run_id, s.submission_id,
        s.id AS step_result_id, p.provider,
        CASE s.status
            WHEN 'succeeded' THEN CASE WHEN s.output_payload #>> '{operation_result,status}' = 'not_found'
                                       THEN 'not_found' ELSE 'found' END
            WHEN 'failed' THEN 'failed' ELSE 'skipped' END AS status,
        CASE WHEN s.status = 'succeeded' AND jsonb_typeof(o.output_payload) = 'object'
             THEN NULLIF(ARRAY(SELECT f.key FROM jsonb_each(o.output_payload) f WHERE f.value <> 'null'::jsonb
                               ORDER BY f.key COLLATE "C"), '{}') END AS fields_updated,
        format('step %s %s %s', s.step_position, COALESCE(s.operation_id, 'unknown.operation'), s.status)
            || CASE WHEN COALESCE(p.provider, '') <> '' THEN ' via ' || p.provider ELSE '' END AS summary,
        jsonb_build_object('event_type', 'step_execution', 'step_result_id', s.id,
            'step_position', s.step_position, 'operation_id', s.operation_id, 'step_status', s.status,
            'skip_reason', CASE WHEN s.status = 'skipped'
                                THEN COALESCE(s.output_payload ->> 'skip_reason', 'skipped') END,
            'duration_ms', s.duration_ms, 'provider_attempts', COALESCE(a.attempts, '[]'::jsonb),
            'condition', NULL, 'error_message', s.error_message, 'error_details', s.error_details)
        || CASE WHEN a.answers_of IS NULL THEN '{}'::jsonb
                ELSE jsonb_build_object('provider_answers_of', a.answers_of) END AS metadata,
        s.finished_at AS created_at
    FROM step_results s
    JOIN pipeline_runs r ON r.id = s.pipeline_run_id
    CROSS JOIN LATERAL (
        SELECT s.output_payload #> '{operation_result,provider_attempts}' AS attempts,
               s.output_payload #> '{operation_result,provider_answers_of}' AS answers_of
    ) a
    CROSS JOIN LATERAL (
        SELECT COALESCE(
            (SELECT x.attempt ->> 'provider'
             FROM jsonb_array_elements(CASE WHEN jsonb_typeof(a.attempts) = 'array' THEN a.attempts
                                            ELSE '[]'::jsonb END) WITH ORDINALITY x(attempt, n)
             WHERE x.attempt ->> 'status' IN ('found', 'succeeded', 'verified')
               AND COALESCE(x.attempt ->> 'provider', '') <> ''
             ORDER BY x.n LIMIT 1),
            a.attempts -> 0 ->> 'provider') AS provider
    ) p
    LEFT JOIN operation_runs o ON s.status = 'succeeded'
        AND o.run_id = CAST(s.output_payload #>> '{operation_result,operation_output_of}' AS uuid)
    WHERE s.event_from_row AND s.status IN ('succeeded', 'failed', 'skipped')
"""


def upgrade() -> None:
    op.add_column(
        "step_results",
        sa.Column("event_from_row", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    # The events read from steps are written back to the timeline, as it held them (the query is the one
    # dex.entities.timeline had at this revision).
    op.execute(f"INSERT INTO entity_timeline ({COLUMNS}) SELECT {COLUMNS} FROM ({STEP_EVENTS}) e")
    op.drop_column("step_results", "event_from_row")
