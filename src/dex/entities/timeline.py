"""Timeline rows (reference §10): one per finished step, fan-out discoveries, and entity upserts.

Rows are built here and inserted in bulk by the caller's transaction, so a step's event commits with the
step. Step events are first attributed to the entity the context identifies at that moment; when the run
completes they are re-pointed to the entity the run finally upserted (``repoint_run_events``), so a
company's timeline is complete even when its domain was learned mid-run.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import dumps, recordset
from dex.entities.identity import resolve_identity
from dex.entities.models import EntityTimelineEvent

STEP_STATUS_TO_EVENT = {"succeeded": "found", "failed": "failed", "skipped": "skipped"}


def provisional_entity_id(
    org_id: uuid.UUID, entity_type: str, context: dict[str, Any], run_id: uuid.UUID
) -> uuid.UUID:
    identity = resolve_identity(org_id, entity_type, context)
    return identity.entity_id if identity else uuid.uuid5(uuid.NAMESPACE_URL, f"run:{run_id}")


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
) -> dict[str, Any]:
    attempts = [a for a in (operation_result or {}).get("provider_attempts", []) if isinstance(a, dict)]
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
        },
    }


# A row without an id gets a new one; created_at is the transaction's.
EVENT_COLUMNS = tuple(c.name for c in EntityTimelineEvent.__table__.c if c.name not in ("id", "created_at"))
INSERT_EVENTS = text(
    f"INSERT INTO entity_timeline (id, {', '.join(EVENT_COLUMNS)}) "
    f"SELECT COALESCE(v.id, gen_random_uuid()), {', '.join(f'v.{c}' for c in EVENT_COLUMNS)} "
    f"FROM {recordset(EntityTimelineEvent.__table__, ('id', *EVENT_COLUMNS))}"
)


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert events — rows keyed by the model's attributes (``metadata_``) — with one statement: rows
    whose keys or nulls differ would split an ORM bulk insert into many."""
    if rows:
        records = [
            {"metadata" if key == "metadata_" else key: value for key, value in row.items()} for row in rows
        ]
        await session.execute(INSERT_EVENTS, {"rows": dumps(records)})


async def repoint_run_events(session: AsyncSession, moves: list[dict[str, Any]]) -> None:
    """``moves``: ``{run_id, entity_type, entity_id}`` — point a run's step and discovery events at the
    entity the run finally upserted."""
    if not moves:
        return
    await session.execute(
        text(
            "UPDATE entity_timeline t SET entity_id = v.entity_id "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS v(run_id uuid, entity_type text, entity_id uuid) "
            "WHERE t.pipeline_run_id = v.run_id AND t.entity_type = v.entity_type "
            "AND t.entity_id <> v.entity_id "
            "AND t.metadata ->> 'event_type' NOT IN ('entity_upsert', 'identity_conflict')"
        ),
        {"rows": dumps(moves)},
    )
