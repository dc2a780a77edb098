"""Every pipeline query. The executor's hot path is set-based: one statement per kind of write for a whole
batch of steps, rows passed as one JSON document (``jsonb_to_recordset``), never one round trip per step.
Status changes are the state machine's statements (``pipeline.states``); this module runs them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import RowMapping, Text, bindparam, cast, func, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.models import BlueprintVersion
from dex.db.queries import ROWS_PER_STATEMENT, dumps, insert_recordset, rowcount
from dex.operations.repository import (
    JOURNAL_ROWS,
    SEEN_CTE,
    OperationRunRow,
    gone_cte,
    journal_params,
)
from dex.pipeline import states
from dex.pipeline.models import PipelineRun, StepResult, Submission

READY_NOTIFY_CHANNEL = "dex_steps_ready"


async def load_snapshot(session: AsyncSession, version_id: uuid.UUID) -> dict[str, Any]:
    result = await session.execute(select(BlueprintVersion.snapshot).where(BlueprintVersion.id == version_id))
    return result.scalar_one()


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


CLAIM = states.claim_statement(
    f"SELECT r.id FROM step_results r WHERE r.org_id = :org_id AND {ready('r')} "
    "ORDER BY r.available_at LIMIT :limit"
)
# Scale-out workers claim the steps their messages name; a step that is no longer ready (already run,
# skipped, or claimed by another worker from a duplicate message) is simply not returned.
CLAIM_IDS = states.claim_statement(f"SELECT r.id FROM step_results r WHERE r.id = ANY(:ids) AND {ready('r')}")

# ``budgeted``: the run's org or submission has a budget, so its paid steps check it before spending
# (dex.usage.budgets); the others skip that check without a query.
RUN_INFO = text(
    "SELECT r.id, r.entity_type, r.blueprint_id, r.blueprint_version_id, r.blueprint_version, r.depth, "
    "o.budget_credits IS NOT NULL OR s.budget_credits IS NOT NULL AS budgeted "
    "FROM pipeline_runs r JOIN submissions s ON s.id = r.submission_id JOIN orgs o ON o.id = r.org_id "
    "WHERE r.id = ANY(:ids)"
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


async def run_info(session: AsyncSession, run_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
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
    return rowcount(result)


async def requeue_expired_leases(session: AsyncSession, *, dead_workers: Sequence[str] = ()) -> int:
    """Running steps whose worker is gone (lease expired, or a dead process of this host) go back to the
    queue (:data:`states.REQUEUE_EXPIRED`)."""
    result = await session.execute(states.REQUEUE_EXPIRED, {"dead": list(dead_workers)})
    return rowcount(result)


async def resend_published_steps(session: AsyncSession) -> None:
    """Publish again every step message not yet claimed: a dead worker may hold some unacknowledged, which
    its broker would give back only after a long timeout. A duplicate claims nothing. Rows another
    transaction holds (being claimed or published right now) are left to it."""
    await session.execute(
        text(
            "UPDATE step_outbox SET published_at = NULL WHERE step_id IN (SELECT step_id FROM step_outbox "
            "WHERE published_at IS NOT NULL FOR UPDATE SKIP LOCKED)"
        )
    )


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


# The outcomes, and the journal rows of the provider requests their operation runs made (with the released
# answers of the steps finished for good: ``dex.operations.repository.gone_cte``; a step that will run
# again keeps them for that run), in the same statement — one round trip. Each result row is a finished
# step or a journal row (``FULL JOIN … ON false`` puts the two lists in one, each row's other columns null).
_DONE_FOR_GOOD = (
    f"ARRAY(SELECT id FROM finished WHERE status IN ({states.quoted(states.TERMINAL_STEP_STATUSES)}))"
)
FINISH_STEPS = text(
    f"WITH {states.FINISHED_STEPS_CTES}, {SEEN_CTE}, {gone_cte(_DONE_FOR_GOOD)} "
    "SELECT f.id AS step_id, f.submission_id AS step_submission_id, f.canceled, t.* "
    f"FROM finished f FULL JOIN {JOURNAL_ROWS} t ON false"
)


@dataclass(frozen=True)
class Finished:
    """What recording outcomes did: the steps still owned by the worker (others were lost to an expired
    lease and are someone else's now — their results are discarded, never double-recorded), which of
    their submissions are canceled, and the journal rows of their operation runs (for
    ``dex.operations.repository.add_recorded_history``)."""

    owned: set[uuid.UUID]
    canceled: set[uuid.UUID]
    calls: list[Any]


async def finish_steps(
    session: AsyncSession, rows: list[dict[str, Any]], *, worker: str, runs: Sequence[OperationRunRow]
) -> Finished:
    """Record claimed steps' results, and read the journal rows of their operation runs ``runs`` (taking
    out the released answers of the steps no run took over)."""
    for row in rows:
        states.check("step", "running", row["status"])
    finished = Finished(set(), set(), [])
    if not rows:
        return finished
    params = {"rows": dumps(rows), "worker": worker, **journal_params(runs)}
    for written in await session.execute(FINISH_STEPS, params):
        if written.step_id is None:
            finished.calls.append(written)
            continue
        finished.owned.add(written.step_id)
        if written.canceled:
            finished.canceled.add(written.step_submission_id)
    return finished


class NewStepRow(TypedDict):
    """A ``step_results`` row as ``Progress.add_rows`` inserts it."""

    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    submission_id: uuid.UUID
    blueprint_step_id: uuid.UUID | None
    step_position: int
    operation_id: str | None
    status: str
    attempt: int
    available_at: datetime | None
    # The step's context, or None when the database already holds it: the cumulative context of the
    # step it follows (``context_step_id``) or the input of its new run (``context_run_id``). A context
    # runs to kilobytes; sent once, encoding and parsing it again for each of the run's rows is wasted.
    input_payload: dict[str, Any] | None
    context_step_id: uuid.UUID | None
    context_run_id: uuid.UUID | None
    output_payload: dict[str, Any] | None
    # A step inserted already claimed (``running``) by the executor that will run it: its worker, and its
    # lease from the database's clock.
    claimed_by: str | None
    lease_seconds: float | None
    # A step inserted skipped whose timeline event is read from its row (``StepResult.event_from_row``).
    event_from_row: bool


class NewRunRow(TypedDict):
    """A ``pipeline_runs`` row as ``Progress.run_row`` builds it."""

    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    blueprint_id: uuid.UUID
    blueprint_version_id: uuid.UUID
    blueprint_version: int
    parent_pipeline_run_id: uuid.UUID | None
    entity_index: int
    entity_type: str
    entity_input: dict[str, Any]
    start_from_position: int
    dedup_key: str | None
    depth: int
    status: str
    # The entity its input identifies (its completion merges into it, usually the same one).
    entity_id: uuid.UUID
    # A fan-out child's operation and provider (``PipelineRun.discovery``).
    discovery: dict[str, Any] | None


# A step dex ran stores its cumulative context as its changes to its input context, under this key of its
# output; a step written whole (by a caller running its steps itself, or one that dropped a key) stores
# ``cumulative_context``. Either way the context is written once, and read with :func:`cumulative_context`.
CONTEXT_CHANGES = "context_changes"


def cumulative_context(step: str) -> str:
    """SQL: the cumulative context of the step_results row aliased ``step``."""
    return (
        f"COALESCE({step}.output_payload -> 'cumulative_context', "
        f"COALESCE({step}.input_payload, '{{}}'::jsonb) || ({step}.output_payload -> '{CONTEXT_CHANGES}'))"
    )


# The insert writes exactly the keys the row types declare, so a misspelt key is a type error, not a NULL.
# What the insert reads but does not store: where a row's context is when the row does not carry it, and
# the lease of a step inserted claimed.
_READ_ONLY = {"context_step_id": "uuid", "context_run_id": "uuid", "lease_seconds": "float8"}
# A step or run inserted running started then.
_STARTED_AT = "CASE WHEN v.status = 'running' THEN now() END"
STEP_COLUMNS = (
    *(c for c in NewStepRow.__annotations__ if c not in _READ_ONLY),
    "started_at",
    "finished_at",
    "lease_expires_at",
)
RUN_COLUMNS = (*NewRunRow.__annotations__, "started_at")
INSERT_STEPS = text(
    insert_recordset(
        StepResult.__table__,
        STEP_COLUMNS,
        values={
            # Looked up by key, and only where the row carries no context: as joins, the plan cached while
            # the tables were young hashed them whole for every insert of the batch.
            "input_payload": "COALESCE(v.input_payload, "
            f"(SELECT {cumulative_context('previous')} FROM step_results previous "
            "WHERE previous.id = v.context_step_id), "
            "(SELECT run.entity_input FROM pipeline_runs run WHERE run.id = v.context_run_id))",
            # A row inserted with an outcome (a skipped step) changed nothing in its context.
            "output_payload": f"v.output_payload || jsonb_build_object('{CONTEXT_CHANGES}', '{{}}'::jsonb)",
            "started_at": _STARTED_AT,
            "lease_expires_at": "now() + make_interval(secs => v.lease_seconds)",
            # A step inserted skipped finished then (the time its timeline event shows).
            "finished_at": "CASE WHEN v.status = 'skipped' THEN now() END",
        },
        read=tuple(f"{name} {kind}" for name, kind in _READ_ONLY.items()),
    )
)
# Fan-out children whose dedup key already exists in the submission are skipped.
INSERT_RUNS = text(
    f"{insert_recordset(PipelineRun.__table__, RUN_COLUMNS, values={'started_at': _STARTED_AT})} "
    "ON CONFLICT (submission_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"
)


# A merge asked of a run already succeeded (the compatibility runner's) of an entity of the run's type
# takes the run to that entity, as its move to succeeded would have — unless the run keeps a merge of its
# own, whose event is read with the run's entity (``dex.entities.timeline.UPSERT_EVENTS_SQL``).
MOVE_FINISHED_RUNS_TO_ENTITIES = text(
    "UPDATE pipeline_runs r SET entity_id = v.entity_id "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, entity_type text, entity_id uuid) "
    "WHERE r.id = v.id AND r.status = 'succeeded' AND r.entity_type = v.entity_type AND r.upsert IS NULL"
)


async def insert_runs(session: AsyncSession, rows: Sequence[NewRunRow]) -> set[uuid.UUID]:
    """Insert runs (``RUN_COLUMNS`` each); returns the ids actually created."""
    created: set[uuid.UUID] = set()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        document = dumps(rows[start : start + ROWS_PER_STATEMENT])
        created.update((await session.execute(INSERT_RUNS, {"rows": document})).scalars())
    return created


# Row locks on submissions and runs are FOR NO KEY UPDATE, what an UPDATE of their non-key columns takes
# anyway: FOR UPDATE would also block the foreign-key checks (KEY SHARE) of another writer inserting child
# runs or operation runs that point at those rows, and two writers then deadlock (seen with two scale-out
# workers: one at its counters, the other at its operation runs).
#
# Several submissions are locked in id order by a statement of their own before the update, so writers
# never lock them in opposite orders. Not in a subquery of the update itself: its scan of ``submissions``
# keeps the snapshot taken before the subquery waited for the lock, finds the version the previous writer
# replaced, and re-locks the row it already holds — behind the next writer, which waits for it (a
# deadlock of three writers on one hot submission, seen with two scale-out workers).
BUMP_COUNTERS = text(
    """
    UPDATE submissions s
    SET runs_total = s.runs_total + v.total, runs_running = s.runs_running + v.running,
        runs_succeeded = s.runs_succeeded + v.succeeded, runs_failed = s.runs_failed + v.failed,
        runs_canceled = s.runs_canceled + v.canceled
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS v(id uuid, total int, running int, succeeded int, failed int, canceled int)
    WHERE s.id = v.id
    RETURNING s.id, s.status, s.canceled_at, s.runs_total, s.runs_running, s.runs_succeeded, s.runs_failed,
              s.runs_canceled, s.org_id, s.company_id, s.blueprint_id
    """
)


def counter_rows(deltas: dict[uuid.UUID, dict[str, int]]) -> list[dict[str, Any]]:
    """The ``BUMP_COUNTERS`` rows of run-counter deltas, in submission order; none for no change."""
    return [
        {"id": submission_id, **delta}
        for submission_id, delta in sorted(deltas.items())
        if any(delta.values())
    ]


async def lock_submissions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Lock the submissions of several counter rows in id order before they are bumped (``BUMP_COUNTERS``)."""
    if len(rows) > 1:
        await session.execute(states.LOCK_SUBMISSIONS, {"ids": [row["id"] for row in rows]})


async def bump_counters(
    session: AsyncSession, deltas: dict[uuid.UUID, dict[str, int]]
) -> list[dict[str, Any]]:
    """Apply run-counter deltas to submissions and re-derive their status, in the caller's transaction.
    Returns the submissions whose status changed (:func:`settle_statuses`)."""
    rows = counter_rows(deltas)
    if not rows:
        return []
    await lock_submissions(session, rows)
    result = await session.execute(BUMP_COUNTERS, {"rows": dumps(rows)})
    return await settle_statuses(session, result.mappings())


async def settle_statuses(session: AsyncSession, bumped: Iterable[RowMapping]) -> list[dict[str, Any]]:
    """Store the status each bumped submission (a ``BUMP_COUNTERS`` row) derives from its counters; returns
    those whose status changed: id, new status, org, company, blueprint and counters."""
    changes = []
    for row in bumped:
        counters = states.RunCounters(
            row["runs_total"],
            row["runs_running"],
            row["runs_succeeded"],
            row["runs_failed"],
            row["runs_canceled"],
        )
        # Whether a submission waits for budget is decided by dex.pipeline.budget_waits, not by counters.
        status = states.submission_status(
            counters,
            canceled=row["canceled_at"] is not None,
            waiting=row["status"] == "waiting_for_budget",
        )
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
    await states.set_submission_statuses(session, {change["id"]: change["status"] for change in changes})
    return changes


async def canceled_submissions(session: AsyncSession, submission_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(set(submission_ids))
    if not ids:
        return set()
    rows = await session.execute(
        text("SELECT id FROM submissions WHERE id = ANY(:ids) AND canceled_at IS NOT NULL"), {"ids": ids}
    )
    return set(rows.scalars())


# --- submissions and their run trees --------------------------------------------------------------------


async def insert_submission(session: AsyncSession, values: dict[str, Any], *, entities_json: str) -> None:
    """A submission row; ``entities_json`` (the entities as one JSON array) becomes its ``input_payload``
    ``{"entities": […]}`` on the server, never as Python objects."""
    payload = func.jsonb_build_object("entities", cast(bindparam("entities", entities_json, Text), JSONB))
    await session.execute(insert(Submission.__table__).values(**values, input_payload=payload))


async def submitted_runs(session: AsyncSession, submission_id: uuid.UUID) -> list[Any]:
    """(entity_index, entity_type, id, status) of the runs of a submission's entities, in entity order."""
    rows = await session.execute(
        select(PipelineRun.entity_index, PipelineRun.entity_type, PipelineRun.id, PipelineRun.status)
        .where(PipelineRun.submission_id == submission_id, PipelineRun.parent_pipeline_run_id.is_(None))
        .order_by(PipelineRun.entity_index)
    )
    return list(rows.all())


RUN_TREE_COLUMNS = (
    "id, parent_pipeline_run_id, entity_index, entity_type, status, trigger_run_id, error_message, "
    "entity_input, created_at"
)
# One page of root runs (read in order from the partial index ``ix_pipeline_runs_submission_id_roots``)
# and all their descendants. Children are looked up parent by parent: the ``OFFSET 0`` keeps the lateral
# subquery from being flattened into a join, which the planner may otherwise run as a scan of every run
# of every submission (its row estimates lag behind a freshly submitted batch).
RUN_TREE = text(
    f"""
    WITH RECURSIVE tree AS (
        (SELECT {RUN_TREE_COLUMNS} FROM pipeline_runs
         WHERE submission_id = :submission_id AND parent_pipeline_run_id IS NULL
         ORDER BY created_at, entity_index, id
         LIMIT :limit OFFSET :offset)
        UNION ALL
        SELECT child.* FROM tree CROSS JOIN LATERAL (
            SELECT {RUN_TREE_COLUMNS} FROM pipeline_runs c WHERE c.parent_pipeline_run_id = tree.id OFFSET 0
        ) AS child
    )
    SELECT {RUN_TREE_COLUMNS} FROM tree ORDER BY created_at, entity_index, id
    """
)

FINAL_CONTEXTS = text(
    f"""
    SELECT DISTINCT ON (pipeline_run_id) pipeline_run_id, {cumulative_context("s")} AS context
    FROM step_results s
    WHERE pipeline_run_id = ANY(:ids) AND status IN ('succeeded', 'skipped')
      AND jsonb_typeof({cumulative_context("s")}) = 'object'
    ORDER BY pipeline_run_id, step_position DESC
    """
)


async def run_tree_page(
    session: AsyncSession, submission_id: uuid.UUID, *, limit: int, offset: int
) -> list[Any]:
    """The runs of one page of a submission's root runs, descendants included, in creation order."""
    result = await session.execute(
        RUN_TREE, {"submission_id": submission_id, "limit": limit, "offset": offset}
    )
    return list(result.mappings())


async def final_contexts(session: AsyncSession, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each run's context after its last step that succeeded or was skipped."""
    if not run_ids:
        return {}
    return dict((await session.execute(FINAL_CONTEXTS, {"ids": list(run_ids)})).all())
