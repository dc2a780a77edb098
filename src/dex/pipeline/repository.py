"""Every pipeline query. The executor's hot path is set-based: one statement per kind of write for a whole
batch of steps, rows passed as one JSON document (``jsonb_to_recordset``), never one round trip per step.
State changes carry their legal source statuses (``pipeline.states.sources``) in the ``WHERE``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.models import BlueprintVersion
from dex.db.queries import dumps
from dex.pipeline import states
from dex.pipeline.models import PipelineRun, StepResult

READY_NOTIFY_CHANNEL = "dex_steps_ready"


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


async def load_snapshot(session: AsyncSession, version_id: uuid.UUID) -> dict[str, Any]:
    return await session.scalar(select(BlueprintVersion.snapshot).where(BlueprintVersion.id == version_id))


# --- claims ---------------------------------------------------------------------------------------------


def ready(alias: str) -> str:
    """A step the executor may claim now (matches the partial index ``ix_step_results_ready``)."""
    return (
        f"{alias}.status IN ('queued', 'retrying') AND {alias}.available_at IS NOT NULL "
        f"AND {alias}.available_at <= now()"
    )


# A loose index scan: one index probe per org instead of reading every ready step.
ORGS_WITH_READY_STEPS = text(
    f"""
    WITH RECURSIVE orgs(org_id) AS (
        (SELECT r.org_id FROM step_results r WHERE {ready("r")} ORDER BY r.org_id LIMIT 1)
        UNION ALL
        SELECT (SELECT s.org_id FROM step_results s WHERE {ready("s")} AND s.org_id > orgs.org_id
                ORDER BY s.org_id LIMIT 1)
        FROM orgs WHERE orgs.org_id IS NOT NULL
    )
    SELECT org_id FROM orgs WHERE org_id IS NOT NULL LIMIT :max_orgs
    """
)


def _claim(candidates: str) -> TextClause:
    """Claim the ready steps ``candidates`` selects (``SELECT r.id FROM step_results r …``): a lease for
    ``:worker``, the next attempt. The candidates are locked in a CTE, which PostgreSQL evaluates exactly
    once; a LIMIT subquery joined into the UPDATE may be re-scanned by some plans and claim more."""
    return text(
        f"""
        WITH ready AS MATERIALIZED ({candidates} FOR UPDATE SKIP LOCKED)
        UPDATE step_results s
        SET status = 'running', claimed_by = :worker, attempt = s.attempt + 1, started_at = now(),
            lease_expires_at = now() + make_interval(secs => :lease_seconds)
        FROM ready
        WHERE s.id = ready.id AND s.status IN ({_in(states.sources("step", "running"))})
        RETURNING s.id, s.pipeline_run_id, s.org_id, s.company_id, s.submission_id, s.step_position,
                  s.attempt, s.input_payload
        """
    )


CLAIM = _claim(
    f"SELECT r.id FROM step_results r WHERE r.org_id = :org_id AND {ready('r')} "
    "ORDER BY r.available_at LIMIT :limit"
)
# Scale-out workers claim the steps their messages name; a step that is no longer ready (already run,
# skipped, or claimed by another worker from a duplicate message) is simply not returned.
CLAIM_IDS = _claim(f"SELECT r.id FROM step_results r WHERE r.id = ANY(:ids) AND {ready('r')}")

RUN_INFO = text(
    "SELECT id, entity_type, blueprint_id, blueprint_version_id, blueprint_version, depth "
    "FROM pipeline_runs WHERE id = ANY(:ids)"
)


async def orgs_with_ready_steps(session: AsyncSession, max_orgs: int = 64) -> list[uuid.UUID]:
    return list((await session.execute(ORGS_WITH_READY_STEPS, {"max_orgs": max_orgs})).scalars())


async def claim_steps(
    session: AsyncSession, *, org_id: uuid.UUID, limit: int, worker: str, lease_seconds: float
) -> list[Any]:
    result = await session.execute(
        CLAIM, {"org_id": org_id, "limit": limit, "worker": worker, "lease_seconds": lease_seconds}
    )
    return list(result.mappings())


async def claim_step_ids(
    session: AsyncSession, *, step_ids: Sequence[uuid.UUID], worker: str, lease_seconds: float
) -> list[Any]:
    result = await session.execute(
        CLAIM_IDS, {"ids": list(step_ids), "worker": worker, "lease_seconds": lease_seconds}
    )
    return list(result.mappings())


async def run_info(session: AsyncSession, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = await session.execute(RUN_INFO, {"ids": list(run_ids)})
    return {row.id: row for row in rows.mappings()}


async def renew_leases(
    session: AsyncSession, *, worker: str, lease_seconds: float, step_ids: Collection[uuid.UUID]
) -> int:
    """Extend the leases of the steps ``worker`` is still working on. Only those: a step whose task died
    inside a live worker must see its lease expire, or it would stay running for the life of the process."""
    result = await session.execute(
        text(
            "UPDATE step_results SET lease_expires_at = now() + make_interval(secs => :lease) "
            "WHERE id = ANY(:ids) AND claimed_by = :worker AND status = 'running'"
        ),
        {"worker": worker, "lease": lease_seconds, "ids": list(step_ids)},
    )
    return result.rowcount


async def requeue_expired_leases(session: AsyncSession, *, dead_workers: Sequence[str] = ()) -> int:
    """Running steps whose worker is gone (lease expired, or a dead process of this host) go back to the
    queue; their next claim increments ``attempt`` and a late completion by the old worker is refused."""
    states.check("step", "running", "queued")
    result = await session.execute(
        text(
            "UPDATE step_results SET status = 'queued', claimed_by = NULL, lease_expires_at = NULL, "
            "available_at = now() "
            "WHERE status = 'running' AND (lease_expires_at < now() OR claimed_by = ANY(:dead))"
        ),
        {"dead": list(dead_workers)},
    )
    return result.rowcount


async def running_workers(session: AsyncSession) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT DISTINCT claimed_by FROM step_results WHERE status = 'running' AND claimed_by IS NOT NULL"
        )
    )
    return list(rows.scalars())


async def has_unfinished_steps(session: AsyncSession) -> bool:
    """Whether any step anywhere is queued, waiting to retry, or running."""
    return bool(
        await session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM step_results WHERE status IN ('queued', 'retrying', 'running'))"
            )
        )
    )


async def notify_ready(session: AsyncSession) -> None:
    await session.execute(text(f"NOTIFY {READY_NOTIFY_CHANNEL}"))


# --- completing steps -----------------------------------------------------------------------------------

FINISH_STEPS = text(
    """
    UPDATE step_results s
    SET status = v.status,
        output_payload = v.output_payload,
        error_message = v.error_message,
        error_details = v.error_details,
        duration_ms = v.duration_ms,
        finished_at = CASE WHEN v.status IN ('retrying', 'budget_exhausted') THEN NULL ELSE now() END,
        -- A step parked for budget spent nothing: its claim does not use up one of its attempts.
        attempt = CASE WHEN v.status = 'budget_exhausted' THEN s.attempt - 1 ELSE s.attempt END,
        available_at = CASE WHEN v.status = 'retrying'
                            THEN now() + make_interval(secs => v.retry_delay_seconds) ELSE NULL END,
        lease_expires_at = NULL
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
        id uuid, attempt int, status text, output_payload jsonb, error_message text, error_details jsonb,
        duration_ms int, retry_delay_seconds float8)
    WHERE s.id = v.id AND s.attempt = v.attempt AND s.claimed_by = :worker AND s.status = 'running'
    RETURNING s.id
    """
)


async def finish_steps(session: AsyncSession, rows: list[dict[str, Any]], *, worker: str) -> set[uuid.UUID]:
    """Record claimed steps' results; returns the ids still owned by ``worker`` (others were lost to an
    expired lease and are someone else's now — their results are discarded, never double-recorded)."""
    for row in rows:
        states.check("step", "running", row["status"])
    if not rows:
        return set()
    result = await session.execute(FINISH_STEPS, {"rows": dumps(rows), "worker": worker})
    return set(result.scalars())


async def insert_steps(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(StepResult), rows)


async def insert_runs(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert runs; fan-out children whose dedup key already exists in the submission are skipped.
    Returns the ids actually created."""
    if not rows:
        return set()
    statement = (
        insert(PipelineRun)
        .on_conflict_do_nothing(
            index_elements=["submission_id", "dedup_key"], index_where=text("dedup_key IS NOT NULL")
        )
        .returning(PipelineRun.id)
    )
    return set((await session.execute(statement, rows)).scalars())


MOVE_RUNS = text(
    """
    UPDATE pipeline_runs r
    SET status = :target,
        started_at = COALESCE(r.started_at, now()),
        finished_at = CASE WHEN :target IN ('succeeded', 'failed', 'canceled') THEN now() ELSE NULL END,
        error_message = v.error_message,
        error_details = v.error_details
    FROM (
        SELECT p.id, p.status AS old_status, x.error_message, x.error_details
        FROM pipeline_runs p
        JOIN jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(id uuid, error_message text, error_details jsonb)
          ON x.id = p.id
        WHERE p.status = ANY(:sources)
        ORDER BY p.id
        FOR UPDATE OF p
    ) v
    WHERE r.id = v.id
    RETURNING r.id, r.submission_id, v.old_status, r.org_id, r.company_id, r.entity_type, r.entity_index,
              r.parent_pipeline_run_id, r.depth, r.error_message
    """
)


async def move_runs(session: AsyncSession, target: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Move runs to ``target`` from any legal source status; returns each moved run's id, submission_id,
    old_status and what webhooks and live progress tell about it."""
    if not rows:
        return []
    result = await session.execute(
        MOVE_RUNS, {"target": target, "rows": dumps(rows), "sources": list(states.sources("run", target))}
    )
    return list(result.mappings())


BUMP_COUNTERS = text(
    """
    UPDATE submissions s
    SET runs_total = s.runs_total + v.total, runs_running = s.runs_running + v.running,
        runs_succeeded = s.runs_succeeded + v.succeeded, runs_failed = s.runs_failed + v.failed,
        runs_canceled = s.runs_canceled + v.canceled
    FROM (
        SELECT x.* FROM jsonb_to_recordset(CAST(:rows AS jsonb))
            AS x(id uuid, total int, running int, succeeded int, failed int, canceled int)
        JOIN submissions locked ON locked.id = x.id
        ORDER BY x.id
        FOR UPDATE OF locked
    ) v
    WHERE s.id = v.id
    RETURNING s.id, s.status, s.canceled_at, s.runs_total, s.runs_running, s.runs_succeeded, s.runs_failed,
              s.runs_canceled, s.org_id, s.company_id, s.blueprint_id
    """
)


async def bump_counters(
    session: AsyncSession, deltas: dict[uuid.UUID, dict[str, int]]
) -> list[dict[str, Any]]:
    """Apply run-counter deltas to submissions and re-derive their status, in the caller's transaction.
    Returns the submissions whose status changed: id, new status, org, company, blueprint and counters."""
    rows = [
        {"id": submission_id, **delta}
        for submission_id, delta in sorted(deltas.items())
        if any(delta.values())
    ]
    if not rows:
        return []
    result = await session.execute(BUMP_COUNTERS, {"rows": dumps(rows)})
    changes = []
    for row in result.mappings():
        counters = states.RunCounters(
            row["runs_total"],
            row["runs_running"],
            row["runs_succeeded"],
            row["runs_failed"],
            row["runs_canceled"],
        )
        status = states.submission_status(counters, canceled=row["canceled_at"] is not None)
        if status != row["status"]:
            changes.append(
                {
                    "id": row["id"],
                    "status": status,
                    "org_id": row["org_id"],
                    "company_id": row["company_id"],
                    "blueprint_id": row["blueprint_id"],
                    "counters": counters,
                }
            )
    if changes:
        await session.execute(
            text(
                "UPDATE submissions s SET status = v.status, "
                "finished_at = CASE WHEN v.status IN ('completed', 'failed', 'canceled') THEN now() END "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, status text) WHERE s.id = v.id"
            ),
            {"rows": dumps([{"id": change["id"], "status": change["status"]} for change in changes])},
        )
    return changes


async def canceled_submissions(session: AsyncSession, submission_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(set(submission_ids))
    if not ids:
        return set()
    rows = await session.execute(
        text("SELECT id FROM submissions WHERE id = ANY(:ids) AND canceled_at IS NOT NULL"), {"ids": ids}
    )
    return set(rows.scalars())
