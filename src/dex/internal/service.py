"""What the internal endpoints do, in dex's terms. An external runner drives a run the way the original
runner did; dex keeps its own guarantees while it does:

- every run status change goes through ``Progress`` (legal transitions only, submission counters and the
  derived submission status move in the same transaction), every step status change is a statement of the
  state machine (``pipeline.states``), guarded by its legal source statuses;
- fetching a run hands it to the caller: its remaining step rows are created (dex creates them lazily) and
  its queued steps leave the embedded executor's queue, so the two never run the same step;
- fan-out children are created like dex's own (deduplicated across the whole submission) and queued for
  whichever runner picks them up.
Everything is scoped to the org of ``x-internal-org-id`` (and its company header, when sent).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from dex.entities import timeline
from dex.entities.repository import MODELS, EntityRepository
from dex.errors import BadRequest, Conflict, NotFound
from dex.internal.schemas import (
    EntityUpsertRequest,
    FanOutRequest,
    FreshnessRequest,
    RemainingSkipped,
    RunStatusUpdate,
    StepEventRequest,
    StepUpdate,
    SubmissionStatusUpdate,
)
from dex.operations.registry import get_operation
from dex.pipeline import repository as repo
from dex.pipeline import states
from dex.pipeline.fanout import FanOutRecord, spawn_children
from dex.pipeline.models import PipelineRun, StepResult, Submission
from dex.pipeline.plan import StepRow
from dex.pipeline.progress import PlanCache, Progress
from dex.pipeline.runner import merge_context
from dex.pipeline.runs import RunRef
from dex.pipeline.service import run_steps
from dex.pipeline.views import run_snapshot, step_views
from dex.tenancy.context import AuthContext
from dex.vocabulary import ENTITY_TYPES

# Steps not started yet: what "the remaining steps" of a run are.


def _illegal(kind: str, current: str, target: str) -> None:
    try:
        states.check(kind, current, target)
    except states.IllegalTransition as exc:
        raise Conflict(str(exc)) from exc


def run_ref(run: PipelineRun, entity_type: str | None = None) -> RunRef:
    return RunRef(
        run.id,
        run.org_id,
        run.company_id,
        run.submission_id,
        run.blueprint_id,
        run.blueprint_version_id,
        run.blueprint_version,
        entity_type or run.entity_type,
        run.depth,
    )


def _scoped(scope: AuthContext, model: Any, statement: Any) -> Any:
    statement = statement.where(model.org_id == scope.org_id)
    return statement if scope.company_id is None else statement.where(model.company_id == scope.company_id)


async def load_run(
    session: AsyncSession,
    scope: AuthContext,
    run_id: uuid.UUID,
    *,
    lock: bool = False,
    missing: str = "Pipeline run not found",
) -> PipelineRun:
    statement = _scoped(scope, PipelineRun, select(PipelineRun).where(PipelineRun.id == run_id))
    if lock:
        statement = statement.with_for_update()
    run = await session.scalar(statement.execution_options(populate_existing=True))
    if run is None:
        raise NotFound(missing)
    return run


async def load_submission(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID, *, lock: bool = False
) -> Submission:
    statement = _scoped(scope, Submission, select(Submission).where(Submission.id == submission_id))
    if lock:
        statement = statement.with_for_update()
    submission = await session.scalar(statement.execution_options(populate_existing=True))
    if submission is None:
        raise NotFound("Submission not found")
    return submission


# --- runs --------------------------------------------------------------------------------------------------


async def take_run(
    session: AsyncSession, scope: AuthContext, plans: PlanCache, run_id: uuid.UUID
) -> dict[str, Any]:
    """The run with its submission, snapshot and every step row — handed to the caller if unfinished."""
    run = await load_run(session, scope, run_id, lock=True)
    plan = await plans.get(session, run.blueprint_version_id)
    if run.status not in states.TERMINAL_RUN_STATUSES:
        existing = {step.step_position for step in await run_steps(session, run.id)}
        missing = [s for s in plan.from_position(run.start_from_position) if s.position not in existing]
        if missing:
            progress = Progress(session, plans)
            progress.add_rows(run_ref(run), [StepRow(step, "queued", run.entity_input) for step in missing])
            await progress.flush()
        await session.execute(
            update(StepResult)
            .where(StepResult.pipeline_run_id == run.id, StepResult.status.in_(states.PENDING_STEP_STATUSES))
            .values(available_at=None)
        )
    return {
        "run": run,
        "blueprint_snapshot": await run_snapshot(session, run),
        "submission": await session.get(Submission, run.submission_id),
        # Steps dex ran read as they were produced (their stored form names what others hold).
        "steps": await step_views(session, run.org_id, await run_steps(session, run.id)),
    }


async def update_run_status(
    session: AsyncSession, scope: AuthContext, plans: PlanCache, body: RunStatusUpdate
) -> PipelineRun:
    run = await load_run(session, scope, body.pipeline_run_id, lock=True)
    if body.status != run.status:
        _illegal("run", run.status, body.status)
        progress = Progress(session, plans)
        progress.move(run.id, body.status, body.error_message, body.error_details)
        await progress.flush()
    stamps = {
        key: value
        for key, value in body.model_dump(include={"trigger_run_id", "started_at", "finished_at"}).items()
        if value is not None
    }
    if stamps:
        await session.execute(update(PipelineRun).where(PipelineRun.id == run.id).values(**stamps))
    return await load_run(session, scope, run.id)


# --- steps -------------------------------------------------------------------------------------------------


async def update_step(session: AsyncSession, scope: AuthContext, body: StepUpdate) -> dict[str, Any]:
    statement = _scoped(scope, StepResult, select(StepResult).where(StepResult.id == body.step_result_id))
    step = await session.scalar(statement.with_for_update())
    if step is None:
        raise NotFound("Step result not found")
    values: dict[str, Any] = body.model_dump(
        include={"input_payload", "output_payload", "error_message", "error_details", "task_run_id"},
        exclude_none=True,
    )
    now = datetime.now(UTC)
    if body.status != step.status:
        _illegal("step", step.status, body.status)
        # The caller runs it: out of the executor's queue, with no lease for lease recovery to expire.
        values.update(available_at=None, claimed_by=None, lease_expires_at=None)
        if body.status == "running":
            values.update(started_at=body.started_at or now, attempt=step.attempt + 1, finished_at=None)
        if body.status in states.TERMINAL_STEP_STATUSES:
            finished = body.finished_at or now
            started = body.started_at or step.started_at
            values["finished_at"] = finished
            if body.duration_ms is None and started is not None:
                values["duration_ms"] = max(0, int((finished - started).total_seconds() * 1000))
    if body.duration_ms is not None:
        values["duration_ms"] = body.duration_ms
    if body.status != step.status:
        moved = await session.scalar(states.set_step_statement(body.status), {"step_id": step.id})
        assert moved is not None  # the row is locked: its status cannot have moved
    if values:
        await session.execute(update(StepResult).where(StepResult.id == step.id).values(**values))
    updated = await session.scalar(
        select(StepResult).where(StepResult.id == step.id).execution_options(populate_existing=True)
    )
    assert updated is not None
    return (await step_views(session, updated.org_id, [updated]))[0]


async def skip_remaining(
    session: AsyncSession, run_id: uuid.UUID, after_position: int, reason: str | None = None
) -> list[StepResult]:
    """Skip the run's not-yet-started steps after a position, in one statement."""
    params = {"run_id": run_id, "after": after_position, "reason": reason}
    ids = list((await session.execute(states.SKIP_REMAINING, params)).scalars())
    rows = await session.scalars(
        select(StepResult)
        .where(StepResult.id.in_(ids))
        .order_by(StepResult.step_position)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def mark_remaining_skipped(
    session: AsyncSession, scope: AuthContext, body: RemainingSkipped
) -> list[StepResult]:
    run = await load_run(session, scope, body.pipeline_run_id)
    return await skip_remaining(session, run.id, body.from_step_position)


# --- submissions -------------------------------------------------------------------------------------------


def derived_status(submission: Submission) -> str:
    counters = states.RunCounters(
        submission.runs_total,
        submission.runs_running,
        submission.runs_succeeded,
        submission.runs_failed,
        submission.runs_canceled,
    )
    return states.submission_status(counters, canceled=submission.canceled_at is not None)


async def update_submission_status(
    session: AsyncSession, scope: AuthContext, body: SubmissionStatusUpdate
) -> Submission:
    """dex derives a submission's status from its runs: setting it is accepted only as a confirmation."""
    submission = await load_submission(session, scope, body.submission_id)
    current = derived_status(submission)
    if body.status != current:
        raise Conflict(
            f"a submission's status is derived from its runs: it is {current} and cannot be set to "
            f"{body.status} (cancel with /api/v1/batch/cancel)"
        )
    return submission


COUNT_RUNS = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'running') AS running,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'canceled') AS canceled
    FROM pipeline_runs WHERE submission_id = :id AND superseded_at IS NULL
    """
)


async def sync_submission(session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID) -> Submission:
    """Recount the submission's runs (every depth, less those a retry superseded) and correct its counters
    if they drifted; its status is re-derived from them in the same statement."""
    submission = await load_submission(session, scope, submission_id, lock=True)
    actual = (await session.execute(COUNT_RUNS, {"id": submission.id})).mappings().one()
    stored = {
        "total": submission.runs_total,
        "running": submission.runs_running,
        "succeeded": submission.runs_succeeded,
        "failed": submission.runs_failed,
        "canceled": submission.runs_canceled,
    }
    await repo.bump_counters(session, {submission.id: {name: actual[name] - stored[name] for name in stored}})
    return await load_submission(session, scope, submission.id)


# --- fan-out -----------------------------------------------------------------------------------------------


async def fan_out(
    session: AsyncSession, scope: AuthContext, plans: PlanCache, body: FanOutRequest
) -> dict[str, Any]:
    parent = await load_run(
        session, scope, body.parent_pipeline_run_id, lock=True, missing="Parent pipeline run not found"
    )
    if (parent.org_id, parent.company_id, parent.submission_id) != (
        body.org_id,
        body.company_id,
        body.submission_id,
    ):
        raise BadRequest("Parent run tenancy/submission mismatch")
    if body.start_from_position <= 0:
        raise BadRequest("start_from_position must be greater than 0")
    plan = await plans.get(session, parent.blueprint_version_id)
    before = [step for step in plan.steps if step.position < body.start_from_position]
    if not before:
        raise BadRequest("no blueprint step precedes start_from_position")
    step = before[-1]
    step_id = await session.scalar(
        select(StepResult.id).where(
            StepResult.pipeline_run_id == parent.id, StepResult.step_position == step.position
        )
    )
    if step_id is None:
        raise BadRequest(f"the parent run has no step result at position {step.position}")
    spec = get_operation(body.fan_out_operation_id or step.operation_id or "")
    # Children are of the type the operation finds (the seed system made every child a person).
    default_type = spec.fan_out.child_entity_type if spec and spec.fan_out else "person"
    list_key = spec.fan_out.list_key if spec and spec.fan_out else "results"
    parent_context = body.parent_cumulative_context or {}
    inherited = {k: v for k, v in parent_context.items() if k not in (list_key, "entity_id")}
    source = {
        "operation_id": spec.operation_id if spec else body.fan_out_operation_id,
        "provider": body.provider,
    }
    record = FanOutRecord(
        run_ref(parent),
        step_id,
        step,
        body.start_from_position,
        parent_context,
        provider_attempts=body.provider_attempts or [],
    )
    progress = Progress(session, plans)

    def child(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        entity_type = item.get("entity_type") if item.get("entity_type") in ENTITY_TYPES else default_type
        child_input = spec.fan_out.child_input(item) if spec and spec.fan_out else item
        return str(entity_type), merge_context(inherited, child_input, source)

    spawn_children(
        progress,
        record,
        ((index, *child(item)) for index, item in enumerate(body.fan_out_entities) if isinstance(item, dict)),
    )
    await progress.flush()
    reason = "continued_in_fan_out_children" if record.children else "fan_out_no_results"
    await skip_remaining(session, parent.id, step.position, reason)
    ids = [child.run_id for child, _, _ in record.children]
    created = dict(
        (
            await session.execute(select(PipelineRun.id, PipelineRun.status).where(PipelineRun.id.in_(ids)))
        ).all()
    )
    children = [
        {
            "pipeline_run_id": child.run_id,
            "pipeline_run_status": created[child.run_id],
            "trigger_run_id": None,
            "entity_type": child.entity_type,
            "entity_input": context,
        }
        for child, context, _ in record.children
        if child.run_id in created
    ]
    skipped = [key for child, _, key in record.children if child.run_id not in created]
    return {
        "parent_pipeline_run_id": parent.id,
        "child_runs": children,
        "child_run_ids": [child["pipeline_run_id"] for child in children],
        "skipped_duplicates_count": len(skipped),
        "skipped_duplicate_identifiers": skipped,
    }


# --- entities ----------------------------------------------------------------------------------------------


async def upsert_entity(
    session: AsyncSession, scope: AuthContext, plans: PlanCache, body: EntityUpsertRequest
) -> dict[str, Any]:
    """The run's entity merged into entity state, with its upsert event and the run's timeline re-pointed
    at it — the same completion dex's own runs get."""
    run = await load_run(session, scope, body.pipeline_run_id)
    if run.status != "succeeded":
        raise BadRequest("Entity state upsert requires a succeeded pipeline run")
    progress = Progress(session, plans)
    progress.complete(run_ref(run, body.entity_type), body.cumulative_context, body.last_operation_id)
    await progress.flush()
    entity_id = progress.upserted_entity_id()
    if entity_id is None:
        # The context names no natural key (domain, LinkedIn URL, email, name): nothing to merge into.
        return {"entity_type": body.entity_type, "entity_id": None}
    model = MODELS[body.entity_type]
    row = await session.scalar(select(model).where(model.org_id == run.org_id, model.entity_id == entity_id))
    return {attribute.key: getattr(row, attribute.key) for attribute in model.__mapper__.column_attrs}


async def check_freshness(
    session: AsyncSession, scope: AuthContext, body: FreshnessRequest
) -> dict[str, Any]:
    if body.max_age_hours <= 0:
        return {"fresh": False, "entity_id": None}
    found = await EntityRepository(session, scope.org_id).find_fresh(
        body.entity_type, body.identifiers, body.max_age_hours
    )
    return {"fresh": False, "entity_id": None} if found is None else {"fresh": True, **found}


async def record_step_event(
    session: AsyncSession, scope: AuthContext, body: StepEventRequest
) -> dict[str, Any]:
    """Best effort, as in the seed system: a write that fails is reported, never raised (the run goes on).
    Only another org's run is refused."""
    run = await load_run(session, scope, body.pipeline_run_id)
    result = dict(body.operation_result or {})
    if body.provider_attempts is not None:
        result["provider_attempts"] = body.provider_attempts
    entity_id = timeline.provisional_entity_id(run.org_id, body.entity_type, body.cumulative_context, run.id)
    event = timeline.step_event(
        org_id=run.org_id,
        company_id=run.company_id,
        entity_type=body.entity_type,
        entity_id=entity_id,
        submission_id=run.submission_id,
        pipeline_run_id=run.id,
        step_result_id=body.step_result_id,
        step_position=body.step_position,
        operation_id=body.operation_id,
        step_status=body.step_status,
        operation_result=result,
        skip_reason=body.skip_reason,
        duration_ms=body.duration_ms,
        condition=body.condition,
        error_message=body.error_message,
        error_details=body.error_details,
    )
    event["id"] = uuid.uuid4()
    error = None
    try:
        async with session.begin_nested():
            await timeline.insert_events(session, [event])
    except Exception as exc:  # best effort: a timeline write never fails the runner's step
        error = f"timeline_write_not_recorded: {type(exc).__name__}"
    return {
        "attempted": True,
        "recorded": error is None,
        "event_id": event["id"] if error is None else None,
        "entity_id": entity_id,
        "error": error,
        "metadata": event["metadata_"],
    }
