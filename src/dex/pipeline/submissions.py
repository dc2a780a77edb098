"""Single-payload submissions and retries: one run over one JSON payload, and a new attempt of a
submission's runs (the original system's ``/submissions/create`` and ``/pipeline-runs/retry``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.service import version_for_submission
from dex.pipeline import states
from dex.pipeline.models import PipelineRun, Submission
from dex.pipeline.progress import PlanCache, Progress
from dex.pipeline.runs import RunRef
from dex.pipeline.service import load_submission, submission_company
from dex.tenancy.context import AuthContext


def _run_ref(
    run_id: uuid.UUID, scope: AuthContext, submission: dict[str, Any], version: Any, kind: str
) -> RunRef:
    return RunRef(
        run_id,
        scope.org_id,
        submission["company_id"],
        submission["id"],
        submission["blueprint_id"],
        version.id,
        version.version,
        kind,
        0,
    )


async def _start_runs(
    session: AsyncSession,
    plans: PlanCache,
    scope: AuthContext,
    submission: dict[str, Any],
    version: Any,
    entities: list[tuple[int | None, str, dict[str, Any]]],
    *,
    attempt: int,
    counted_out: dict[str, int] | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """One root run per ``(entity_index, entity_type, input)``, queued from the plan's first step; returns
    each run's id and status (a run whose every step is skipped at once has already succeeded).
    ``counted_out``: a counter change (runs a retry supersedes) applied with the new runs' counting-in."""
    plan = await plans.get(session, version.id)
    first_position = min((step.position for step in plan.steps), default=1)
    progress = Progress(session, plans)
    for name, value in (counted_out or {}).items():
        progress.counters[submission["id"]][name] += value
    run_ids = []
    for index, entity_type, context in entities:
        run = _run_ref(uuid.uuid4(), scope, submission, version, entity_type)
        row = Progress.run_row(run, context, index=index, start=first_position, parent=None, dedup=None)  # type: ignore[arg-type]
        progress.start_run(run, row)
        run_ids.append(run.run_id)
    await progress.flush()
    if attempt > 1:
        await session.execute(update(PipelineRun).where(PipelineRun.id.in_(run_ids)).values(attempt=attempt))
    moved = {run["id"]: run["status"] for run in progress.moved_runs}
    return [(run_id, moved.get(run_id, "queued")) for run_id in run_ids]


def _payload_context(payload: Any) -> dict[str, Any]:
    """The context a single-payload run starts from: the payload when it is an object; an array gives an
    empty context (its items are not entities of their own)."""
    return dict(payload) if isinstance(payload, dict) else {}


async def create_single(
    session: AsyncSession,
    scope: AuthContext,
    *,
    plans: PlanCache,
    company_id: uuid.UUID | None,
    blueprint_id: uuid.UUID,
    input_payload: dict[str, Any] | list[Any],
    source: str | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    """A submission of one payload and its one run, for the blueprint's entity type (company unless the
    blueprint says otherwise)."""
    company = await submission_company(session, scope, company_id)
    version = await version_for_submission(session, scope.org_id, blueprint_id)
    entity_type = version.snapshot.get("blueprint", {}).get("entity_type") or "company"
    submission = {
        "id": uuid.uuid4(),
        "org_id": scope.org_id,
        "company_id": company,
        "blueprint_id": blueprint_id,
        "blueprint_version_id": version.id,
        "submitted_by_user_id": scope.user_id,
        "source": source,
        "status": "received",
        "metadata": metadata or {},
        "input_payload": input_payload,
        "root_runs": 1,
    }
    await session.execute(insert(Submission.__table__).values(**submission))
    [(run_id, status)] = await _start_runs(
        session,
        plans,
        scope,
        submission,
        version,
        [(None, entity_type, _payload_context(input_payload))],
        attempt=1,
    )
    return {
        "submission_id": submission["id"],
        "pipeline_run_id": run_id,
        "pipeline_run_status": status,
        "trigger_run_id": None,
    }


async def retry(
    session: AsyncSession, scope: AuthContext, *, plans: PlanCache, submission_id: uuid.UUID
) -> dict[str, Any]:
    """A new attempt of the submission: each entity's latest root run is run again, from the first step of
    the blueprint's current version, on the same entity input (its type and index kept), with the attempt
    number one above the submission's highest. The finished runs of the earlier attempts stop counting toward
    the submission's status, which then follows the new attempt."""
    found = await load_submission(session, scope, submission_id)
    version = await version_for_submission(session, scope.org_id, found.blueprint_id)
    latest: dict[int | None, Any] = {}
    roots = await session.execute(
        select(PipelineRun.entity_index, PipelineRun.entity_type, PipelineRun.entity_input)
        .where(PipelineRun.submission_id == found.id, PipelineRun.parent_pipeline_run_id.is_(None))
        .order_by(PipelineRun.entity_index, PipelineRun.attempt.desc(), PipelineRun.created_at.desc())
    )
    for root in roots:
        latest.setdefault(root.entity_index, root)
    attempt = 1 + (
        await session.scalar(
            select(func.coalesce(func.max(PipelineRun.attempt), 0)).where(
                PipelineRun.submission_id == found.id
            )
        )
        or 0
    )
    submission = {"id": found.id, "company_id": found.company_id, "blueprint_id": found.blueprint_id}
    entities = [(row.entity_index, row.entity_type, row.entity_input) for row in latest.values()]
    superseded = await states.supersede_finished_runs(session, found.id)
    started = await _start_runs(
        session, plans, scope, submission, version, entities, attempt=attempt, counted_out=superseded
    )
    await session.execute(
        update(Submission)
        .where(Submission.id == found.id)
        .values(root_runs=Submission.root_runs + len(started))
    )
    first_id, first_status = started[0] if started else (None, None)
    return {
        "submission_id": found.id,
        "pipeline_run_id": first_id,
        "pipeline_run_status": first_status,
        "trigger_run_id": None,
        "attempt": attempt,
        "pipeline_runs": [
            {"entity_index": index, "pipeline_run_id": run_id, "pipeline_run_status": status}
            for (index, _, _), (run_id, status) in zip(entities, started, strict=True)
        ],
    }
