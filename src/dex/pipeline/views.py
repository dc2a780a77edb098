"""What clients read of a run: its blueprint snapshot as the run sees it, and every one of its step rows.

dex writes a run's step rows as the run reaches them (a 100k-entity batch would otherwise write every
step of every entity up front), while a client of the original system reads all of a run's steps from
submission on. ``visible_steps`` closes the gap: the rows written so far, plus a ``queued`` placeholder
(with no id: there is no row yet) for each later step a run still to finish will reach.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.operations import repository as history
from dex.pipeline import repository as repo
from dex.pipeline import service
from dex.pipeline.models import PipelineRun, StepResult, Submission
from dex.pipeline.plan import Plan
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import RunOut, SubmissionRow, without_lineage
from dex.pipeline.states import TERMINAL_RUN_STATUSES
from dex.tenancy.context import AuthContext

# The step_results columns a client reads, in the order the original system's rows had them.
STEP_FIELDS = (
    "id",
    "org_id",
    "company_id",
    "pipeline_run_id",
    "submission_id",
    "step_id",
    "blueprint_step_id",
    "step_position",
    "operation_id",
    "task_run_id",
    "status",
    "attempt",
    "input_payload",
    "output_payload",
    "error_message",
    "error_details",
    "started_at",
    "finished_at",
    "duration_ms",
    "created_at",
    "updated_at",
)


async def run_snapshot(session: AsyncSession, run: PipelineRun) -> dict[str, Any]:
    """The blueprint version the run executes, with the ``entity`` it runs on and, for a fan-out child,
    where it came from: the shape of the original ``pipeline_runs.blueprint_snapshot``."""
    snapshot = dict(await repo.load_snapshot(session, run.blueprint_version_id))
    snapshot["entity"] = {
        "index": run.entity_index,
        "entity_type": run.entity_type,
        "input": without_lineage(run.entity_input),
    }
    if run.parent_pipeline_run_id is not None:
        snapshot["fan_out"] = {
            "parent_pipeline_run_id": str(run.parent_pipeline_run_id),
            "start_from_position": run.start_from_position,
        }
    return snapshot


def step_view(step: StepResult) -> dict[str, Any]:
    """A step row as clients read it, but for the providers' answers (:func:`step_views`): a step dex ran
    stores its changes to its input context, and its output reads with the cumulative context whole."""
    view = {field: getattr(step, field) for field in STEP_FIELDS}
    output = step.output_payload
    if output and repo.CONTEXT_CHANGES in output:
        stored = dict(output)
        changes = stored.pop(repo.CONTEXT_CHANGES)
        view["output_payload"] = {"cumulative_context": {**(step.input_payload or {}), **changes}, **stored}
    return view


async def step_views(
    session: AsyncSession, org_id: uuid.UUID, steps: list[StepResult]
) -> list[dict[str, Any]]:
    """Step rows as clients read them, their operation results with the providers' answers in place."""
    views = [step_view(step) for step in steps]
    outputs = [view["output_payload"] or {} for view in views]
    results = await history.with_answers(
        session, org_id, [output.get("operation_result") for output in outputs]
    )
    for view, output, result in zip(views, outputs, results, strict=True):
        if result is not output.get("operation_result"):
            view["output_payload"] = {**output, "operation_result": result}
    return views


def placeholder_steps(run: PipelineRun, plan: Plan, written: set[int]) -> list[dict[str, Any]]:
    """A ``queued`` row for each step the unfinished ``run`` will still reach and has no row for yet."""
    if run.status in TERMINAL_RUN_STATUSES:
        return []
    return [
        {
            **dict.fromkeys(STEP_FIELDS),
            "org_id": run.org_id,
            "company_id": run.company_id,
            "pipeline_run_id": run.id,
            "submission_id": run.submission_id,
            "blueprint_step_id": step.blueprint_step_id,
            "step_position": step.position,
            "operation_id": step.operation_id,
            "status": "queued",
            "attempt": 0,
            "created_at": run.created_at,
            "updated_at": run.created_at,
        }
        for step in plan.from_position(run.start_from_position)
        if step.position not in written
    ]


def visible_steps(run: PipelineRun, plan: Plan, written: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step row of ``run`` in position order: those ``written`` (step views), then placeholders
    for the rest."""
    rows = written + placeholder_steps(run, plan, {step["step_position"] for step in written})
    return sorted(rows, key=lambda row: (row["step_position"], row["attempt"]))


async def run_step_rows(session: AsyncSession, plans: PlanCache, run: PipelineRun) -> list[dict[str, Any]]:
    plan = await plans.get(session, run.blueprint_version_id)
    written = await step_views(session, run.org_id, await service.run_steps(session, run.id))
    return visible_steps(run, plan, written)


async def run_detail(
    session: AsyncSession, scope: AuthContext, plans: PlanCache, run_id: uuid.UUID
) -> dict[str, Any]:
    """A run (404 / 403 as the caller may see it) with its snapshot and all its step rows."""
    run = await service.get_run(session, scope, run_id)
    return {
        **RunOut.model_validate(run).model_dump(),
        "blueprint_snapshot": await run_snapshot(session, run),
        "step_results": await run_step_rows(session, plans, run),
    }


async def submission_detail(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID
) -> dict[str, Any]:
    """A submission (404 / 403 as the caller may see it) with what was submitted and its runs."""
    submission = await service.load_submission(session, scope, submission_id)
    payload = await session.scalar(select(Submission.input_payload).where(Submission.id == submission.id))
    runs = await service.submission_runs(session, scope, submission.id)
    return {
        **SubmissionRow.model_validate(submission).model_dump(),
        "input_payload": payload,
        "pipeline_runs": [RunOut.model_validate(run) for run in runs],
    }
