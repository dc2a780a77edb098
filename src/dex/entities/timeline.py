"""Timeline events: one per finished step, fan-out discoveries, and entity upserts.

Most are read from the rows that already say what they do, not written again: a finished step's event
from its row (:data:`STEP_EVENTS_SQL`, for the steps dex records with ``event_from_row``), a run's upsert
event from the run, which keeps its entity merge (:data:`UPSERT_EVENTS_SQL`), and a fan-out child's
discovery event from the child's run (:data:`DISCOVERY_EVENTS_SQL`); :func:`all_events` reads them with
the written ones. An event read from a step belongs to its run's entity: the one the run's input
identifies, and once the run succeeded the one it merged into.

The rest are built here and inserted in bulk by the caller's transaction, so an event commits with its
step: the fan-out's event on the parent, identity conflicts, the events of steps with a condition (which
their rows do not hold) and of steps a caller runs itself. A written step event is first attributed to the
entity the context identifies at that moment; when the run completes it is re-pointed to the entity the
run finally upserted (``REPOINT_RUN_EVENTS``), so a company's timeline is complete even when its domain
was learned mid-run.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dex.db.queries import dumps, recordset
from dex.entities.identity import entity_id_of
from dex.entities.models import EntityTimelineEvent
from dex.operations import repository as history

STEP_STATUS_TO_EVENT = {"succeeded": "found", "failed": "failed", "skipped": "skipped"}


def provisional_entity_id(
    org_id: uuid.UUID, entity_type: str, context: dict[str, Any], run_id: uuid.UUID
) -> uuid.UUID:
    return entity_id_of(org_id, entity_type, context) or uuid.uuid5(uuid.NAMESPACE_URL, f"run:{run_id}")


def chosen_provider(attempts: list[dict[str, Any]]) -> str | None:
    """The provider that answered (first found/verified attempt), else the first one tried."""
    for attempt in attempts:
        if attempt.get("status") in ("found", "succeeded", "verified") and attempt.get("provider"):
            return attempt["provider"]
    return attempts[0].get("provider") if attempts else None


def step_event(
    *,
    org_id: uuid.UUID,
    company_id: uuid.UUID | None,
    entity_type: str,
    entity_id: uuid.UUID,
    submission_id: uuid.UUID,
    pipeline_run_id: uuid.UUID,
    step_result_id: uuid.UUID,
    step_position: int,
    operation_id: str | None,
    step_status: str,
    operation_result: dict[str, Any] | None,
    skip_reason: str | None = None,
    duration_ms: int | None = None,
    condition: Any = None,
    error_message: str | None = None,
    error_details: dict[str, Any] | None = None,
    answers_recorded: bool = False,
) -> dict[str, Any]:
    """``answers_recorded``: the operation run of ``operation_result`` and its attempts are recorded in
    the same transaction (dex's own steps), so the event refers to its answers instead of copying them."""
    attempts = [a for a in (operation_result or {}).get("provider_attempts", []) if isinstance(a, dict)]
    reference: dict[str, str] = {}
    if answers_recorded and operation_result is not None:
        attempts, reference = history.attempts_without_answers(operation_result)
    provider = chosen_provider(attempts)
    status = STEP_STATUS_TO_EVENT[step_status]
    if status == "found" and (operation_result or {}).get("status") == "not_found":
        status = "not_found"
    output = (operation_result or {}).get("output") or {}
    fields = sorted(k for k, v in output.items() if v is not None) if step_status == "succeeded" else None
    summary = f"step {step_position} {operation_id or 'unknown.operation'} {step_status}"
    return {
        "org_id": org_id,
        "company_id": company_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "operation_id": operation_id or "unknown.operation",
        "pipeline_run_id": pipeline_run_id,
        "submission_id": submission_id,
        "step_result_id": step_result_id,
        "provider": provider,
        "status": status,
        "fields_updated": fields or None,
        "summary": f"{summary} via {provider}" if provider else summary,
        "metadata_": {
            "event_type": "step_execution",
            "step_result_id": str(step_result_id),
            "step_position": step_position,
            "operation_id": operation_id,
            "step_status": step_status,
            "skip_reason": skip_reason or ("skipped" if step_status == "skipped" else None),
            "duration_ms": duration_ms,
            "provider_attempts": attempts,
            "condition": condition,
            "error_message": error_message,
            "error_details": error_details,
            **reference,
        },
    }


# A row without an id gets a new one; created_at is the transaction's.
EVENT_COLUMNS = tuple(c.name for c in EntityTimelineEvent.__table__.c if c.name not in ("id", "created_at"))
INSERT_EVENTS = text(
    f"INSERT INTO entity_timeline (id, {', '.join(EVENT_COLUMNS)}) "
    f"SELECT COALESCE(v.id, gen_random_uuid()), {', '.join(f'v.{c}' for c in EVENT_COLUMNS)} "
    f"FROM {recordset(EntityTimelineEvent.__table__, ('id', *EVENT_COLUMNS))}"
)


def upsert_record(upserted: Any, last_operation_id: str | None) -> dict[str, Any]:
    """What a succeeded run keeps of its entity merge (``upserted``: the upsert's outcome) beside the
    entity's id (``pipeline_runs.upsert``): its ``entity_upsert`` event is read from it
    (:data:`UPSERT_EVENTS_SQL`)."""
    return {
        "record_version": upserted.record_version,
        "created": upserted.created,
        "fields_updated": list(upserted.fields_updated) or None,
        "last_operation_id": last_operation_id,
    }


# The timeline's columns, in the order every kind of event is read in.
READ_COLUMNS = tuple(c.name for c in EntityTimelineEvent.__table__.c)
# The ``entity_upsert`` events of the merges ``{runs}`` (each with the columns of ``pipeline_runs`` the event
# names) as the timeline's rows, ``{id}`` their ids.
_UPSERT_EVENTS = """
    SELECT {id} AS id, r.org_id, r.company_id, r.entity_type, r.entity_id,
        COALESCE(r.upsert->>'last_operation_id', 'unknown.operation') AS operation_id,
        r.id AS pipeline_run_id, r.submission_id, CAST(NULL AS uuid) AS step_result_id,
        CAST(NULL AS text) AS provider, 'found' AS status,
        CASE WHEN jsonb_typeof(r.upsert->'fields_updated') = 'array'
             THEN ARRAY(SELECT jsonb_array_elements_text(r.upsert->'fields_updated')) END AS fields_updated,
        format('entity %s (version %s)',
               CASE WHEN CAST(r.upsert->>'created' AS boolean) THEN 'created' ELSE 'updated' END,
               r.upsert->>'record_version') AS summary,
        jsonb_build_object('event_type', 'entity_upsert', 'last_operation_id', r.upsert->'last_operation_id',
            'record_version', r.upsert->'record_version', 'created', r.upsert->'created',
            'pipeline_entity_type', r.entity_type) AS metadata,
        r.finished_at AS created_at
    FROM {runs} r WHERE r.upsert IS NOT NULL
"""
# Those of succeeded runs: a run's completion already writes its row, so the event is kept there instead of
# being written again (migration 0021). Read from ``pipeline_runs`` by name: the pipeline sits above the
# entities and their timeline.
UPSERT_EVENTS_SQL = _UPSERT_EVENTS.format(id="r.id", runs="pipeline_runs")
# Those of merges asked of runs already finished (``:rows``: id, org_id, company_id, submission_id,
# entity_type, entity_id, upsert), written: a run keeps one merge, and the compatibility runner may merge a
# run's entity again, or an entity of another type, each merge an event of its own at the time it was made.
WRITE_UPSERT_EVENTS = text(
    f"INSERT INTO entity_timeline ({', '.join(READ_COLUMNS)}) "
    + _UPSERT_EVENTS.format(
        id="gen_random_uuid()",
        runs="(SELECT v.*, now() AS finished_at FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, "
        "org_id uuid, company_id uuid, submission_id uuid, entity_type text, entity_id uuid, upsert jsonb))",
    )
)
# The ``fan_out_discovery`` events of fan-out children, from the runs the fan-out inserted (each with its
# discovery: ``pipeline_runs.discovery``), as the timeline's rows. Their ids are derived from the run's,
# which its upsert event has.
DISCOVERY_EVENTS_SQL = """
    SELECT CAST(md5('fan_out_discovery:' || r.id) AS uuid) AS id, r.org_id, r.company_id, r.entity_type,
        r.entity_id, COALESCE(r.discovery->>'operation_id', 'unknown.operation') AS operation_id,
        r.id AS pipeline_run_id, r.submission_id, CAST(NULL AS uuid) AS step_result_id,
        r.discovery->>'provider' AS provider, 'found' AS status,
        NULLIF(ARRAY(SELECT e.key FROM jsonb_each(r.entity_input) e WHERE e.value <> 'null'::jsonb
                     ORDER BY e.key COLLATE "C"), '{}') AS fields_updated,
        format('%s: discovered %s #%s', r.discovery->>'operation_id', r.entity_type, r.entity_index)
            AS summary,
        jsonb_build_object('event_type', 'fan_out_discovery',
                           'parent_pipeline_run_id', r.parent_pipeline_run_id) AS metadata,
        r.created_at
    FROM pipeline_runs r WHERE r.discovery IS NOT NULL
"""
# The ``step_execution`` events of the steps dex recorded with ``event_from_row``, as the timeline's rows:
# what ``step_event`` wrote, from the step (its outcome, and its operation result by reference: the
# attempts without their answers, which ``with_answers`` puts back), its run (the entity: the one the run's
# input identifies, once it succeeded the one it merged into) and its operation run (the fields found).
# ``{id}``: the event's id (the step's, or a new one where the event is written out: ``WRITE_STEP_EVENTS``).
STEP_EVENTS_SQL = """
    SELECT {id} AS id, s.org_id, s.company_id, r.entity_type, r.entity_id,
        COALESCE(s.operation_id, 'unknown.operation') AS operation_id, s.pipeline_run_id, s.submission_id,
        s.id AS step_result_id, p.provider,
        CASE s.status
            WHEN 'succeeded' THEN CASE WHEN s.output_payload #>> '{{operation_result,status}}' = 'not_found'
                                       THEN 'not_found' ELSE 'found' END
            WHEN 'failed' THEN 'failed' ELSE 'skipped' END AS status,
        CASE WHEN s.status = 'succeeded' AND jsonb_typeof(o.output_payload) = 'object'
             THEN NULLIF(ARRAY(SELECT f.key FROM jsonb_each(o.output_payload) f WHERE f.value <> 'null'::jsonb
                               ORDER BY f.key COLLATE "C"), '{{}}') END AS fields_updated,
        format('step %s %s %s', s.step_position, COALESCE(s.operation_id, 'unknown.operation'), s.status)
            || CASE WHEN COALESCE(p.provider, '') <> '' THEN ' via ' || p.provider ELSE '' END AS summary,
        jsonb_build_object('event_type', 'step_execution', 'step_result_id', s.id,
            'step_position', s.step_position, 'operation_id', s.operation_id, 'step_status', s.status,
            'skip_reason', CASE WHEN s.status = 'skipped'
                                THEN COALESCE(s.output_payload ->> 'skip_reason', 'skipped') END,
            'duration_ms', s.duration_ms, 'provider_attempts', COALESCE(a.attempts, '[]'::jsonb),
            'condition', NULL, 'error_message', s.error_message, 'error_details', s.error_details)
        || CASE WHEN a.answers_of IS NULL THEN '{{}}'::jsonb
                ELSE jsonb_build_object('{answers_of}', a.answers_of) END AS metadata,
        s.finished_at AS created_at
    FROM step_results s
    JOIN pipeline_runs r ON r.id = s.pipeline_run_id
    CROSS JOIN LATERAL (
        SELECT s.output_payload #> '{{operation_result,provider_attempts}}' AS attempts,
               s.output_payload #> '{{operation_result,{answers_of}}}' AS answers_of
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
        AND o.run_id = CAST(s.output_payload #>> '{{operation_result,{output_of}}}' AS uuid)
    WHERE s.event_from_row AND s.status IN ('succeeded', 'failed', 'skipped')
"""


def step_events_sql(event_id: str) -> str:
    return STEP_EVENTS_SQL.format(id=event_id, answers_of=history.ANSWERS_OF, output_of=history.OUTPUT_OF)


# The events of the steps a resume of runs ``:run_ids`` reopens (the failed one) or drops (those skipped
# after it) are written out first: an event stays in the timeline when its step's row changes.
WRITE_STEP_EVENTS = text(
    f"INSERT INTO entity_timeline ({', '.join(READ_COLUMNS)}) "
    f"SELECT * FROM ({step_events_sql('gen_random_uuid()')}) e WHERE e.pipeline_run_id = ANY(:run_ids) "
    "AND (e.metadata ->> 'step_status' = 'failed' OR e.metadata ->> 'skip_reason' = 'upstream_step_failed')"
)
_READ = tuple(EntityTimelineEvent.__table__.c[name] for name in READ_COLUMNS)
READ_FROM_ROWS = (step_events_sql("s.id"), UPSERT_EVENTS_SQL, DISCOVERY_EVENTS_SQL)
# Every event, written or read from steps and runs, as a FROM item of plain SQL (``FROM {EVENTS} e``).
EVENTS = (
    f"(SELECT {', '.join(READ_COLUMNS)} FROM entity_timeline "
    + "".join(f" UNION ALL {sql}" for sql in READ_FROM_ROWS)
    + ")"
)


def all_events() -> Any:
    """Every timeline event, written or read from steps and runs, as :class:`EntityTimelineEvent` rows to
    filter."""
    read = [text(sql).columns(*_READ) for sql in READ_FROM_ROWS]
    return aliased(EntityTimelineEvent, union_all(select(*_READ), *read).subquery("events"))


def identity_conflict_events(
    *,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    pipeline_run_id: uuid.UUID,
    submission_id: uuid.UUID,
    upserted: Any,
) -> list[dict[str, Any]]:
    """Events for identity conflicts of an upsert (``upserted.conflicts``): the run's entity carried a
    unique key (a work email, a domain) another entity already holds, and the two were kept apart —
    typically two people with different LinkedIn profiles to whom a provider guessed the same email.
    Both entities' timelines say so, so an operator sees why the key is missing from one of them."""
    events = []
    for column, value, holder in upserted.conflicts:
        for entity_id, other, summary in (
            (upserted.entity_id, holder, f"{column} {value} kept by entity {holder}, not merged"),
            (holder, upserted.entity_id, f"{column} {value} also claimed by entity {upserted.entity_id}"),
        ):
            events.append(
                {
                    "org_id": org_id,
                    "company_id": company_id,
                    "entity_type": upserted.entity_type,
                    "entity_id": entity_id,
                    "operation_id": "entity.identity_conflict",
                    "pipeline_run_id": pipeline_run_id,
                    "submission_id": submission_id,
                    "provider": None,
                    "status": "skipped",
                    "fields_updated": None,
                    "summary": summary,
                    "metadata_": {
                        "event_type": "identity_conflict",
                        "field": column,
                        "value": value,
                        "other_entity_id": str(other),
                    },
                }
            )
    return events


def fan_out_event(
    *,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    submission_id: uuid.UUID,
    parent_run_id: uuid.UUID,
    parent_entity_type: str,
    parent_context: dict[str, Any],
    step_result_id: uuid.UUID,
    operation_id: str | None,
    provider_attempts: list[dict[str, Any]],
    children: list[tuple[uuid.UUID, str, dict[str, Any], bool]],
    answers_reference: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A fan-out's discovery event on the parent (``children``: run id, entity type, context, and whether it
    was created or dropped as a duplicate); each child created keeps its own event in its run
    (:data:`DISCOVERY_EVENTS_SQL`). ``answers_reference``: where the answers left out of
    ``provider_attempts`` are (``history.attempts_without_answers``)."""
    operation = operation_id or "unknown.operation"
    provider = chosen_provider(provider_attempts)
    made = [child for child in children if child[3]]
    return {
        "org_id": org_id,
        "company_id": company_id,
        "entity_type": parent_entity_type,
        "entity_id": provisional_entity_id(org_id, parent_entity_type, parent_context, parent_run_id),
        "operation_id": operation,
        "pipeline_run_id": parent_run_id,
        "submission_id": submission_id,
        "step_result_id": step_result_id,
        "provider": provider,
        "status": "found" if made else "not_found",
        "fields_updated": None,
        "summary": f"{operation_id} discovered {len(made)} {made[0][1] if made else 'entities'}",
        "metadata_": {
            "event_type": "fan_out_discovery",
            "child_pipeline_run_ids": [str(run_id) for run_id, *_ in made],
            "child_count_created": len(made),
            "child_count_skipped_duplicates": len(children) - len(made),
            "provider_attempts": provider_attempts,
            **(answers_reference or {}),
        },
    }


def event_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events — rows keyed by the model's attributes (``metadata_``) — as ``INSERT_EVENTS`` takes them."""
    return [{"metadata" if key == "metadata_" else key: value for key, value in row.items()} for row in rows]


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert events with one statement: rows whose keys or nulls differ would split an ORM bulk insert
    into many."""
    if rows:
        await session.execute(INSERT_EVENTS, {"rows": dumps(event_records(rows))})


# Rows ``{org_id, run_id, entity_type, entity_id}``: point a run's step and discovery events at the entity
# the run finally upserted. The org leads the index of a run's events: without it each statement scanned
# the whole timeline.
REPOINT_RUN_EVENTS = text(
    "UPDATE entity_timeline t SET entity_id = v.entity_id "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS v(org_id uuid, run_id uuid, entity_type text, entity_id uuid) "
    "WHERE t.org_id = v.org_id AND t.pipeline_run_id = v.run_id AND t.entity_type = v.entity_type "
    "AND t.entity_id <> v.entity_id "
    "AND t.metadata ->> 'event_type' NOT IN ('entity_upsert', 'identity_conflict')"
)


async def with_answers(session: AsyncSession, org_id: uuid.UUID, events: list[EntityTimelineEvent]) -> None:
    """Put the provider answers back into events that name the operation run holding them, as events
    read that copied them. The events leave the session first: this is how they read, not a change."""
    restored = await history.with_answers(session, org_id, [event.metadata_ for event in events])
    for event, metadata in zip(events, restored, strict=True):
        if metadata is not event.metadata_:
            session.expunge(event)
            event.metadata_ = metadata
