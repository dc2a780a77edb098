"""Batch submission, status, cancel and resume — services never commit."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer
from sqlalchemy.orm.interfaces import ORMOption

from dex.blueprints.service import version_for_submission
from dex.db.queries import conflict_for, rowcount
from dex.entities import timeline
from dex.errors import BadRequest, Forbidden, NotFound
from dex.kit.envelopes import PageRequest
from dex.kit.paging import Page, paginate
from dex.operations.repository import take_released_answers
from dex.pipeline import idempotency, states
from dex.pipeline import repository as repo
from dex.pipeline.models import PipelineRun, StepResult, Submission
from dex.pipeline.plan import Plan, skip_all
from dex.pipeline.progress import PlanCache, Progress
from dex.pipeline.runs import RunRef
from dex.pipeline.schemas import ENTITIES_JSON, BatchSubmitRequest, SubmittedBatch
from dex.pipeline.states import RunCounters
from dex.tenancy.context import AuthContext
from dex.tenancy.repository import CompanyRepository
from dex.usage.budgets import budget_needs, parked_steps
from dex.usage.ledger import submission_usage

# Entities written per flush of a submission (runs, first steps, counters).
SUBMIT_CHUNK_ENTITIES = 5000

STATUS_FOR_CLIENTS = {
    "succeeded": "completed",
    "running": "running",
    "failed": "failed",
    "canceled": "failed",
}


# How many of an org's companies an ambiguity error names (an org with hundreds gets the first ones).
COMPANIES_LISTED = 20


async def submission_company(
    session: AsyncSession, scope: AuthContext, requested: uuid.UUID | None
) -> uuid.UUID:
    """The client company a batch runs for: a company-scoped caller's own; else the one named, which must
    belong to the org; else the org's only company. An org-wide caller of an org with several companies
    must name one, and the error lists them so nobody has to look the ids up."""
    own = scope.own_company_id()
    if own is not None:
        scope.check_company_access(requested)
    named = own or requested
    if named is not None:
        await check_company_in_org(session, scope, named)
        return named
    companies = await CompanyRepository(session, scope).list(PageRequest(limit=COMPANIES_LISTED))
    if companies.total == 1:
        return companies.items[0].id
    if companies.total == 0:
        raise BadRequest("this org has no company yet: a super-admin creates one first")
    listed = ", ".join(f"{company.name} ({company.id})" for company in companies.items)
    unlisted = companies.total - len(companies.items)
    more = f", and {unlisted} more" if unlisted else ""
    raise BadRequest(f"company_id is required: this org has {companies.total} companies: {listed}{more}")


async def check_company_in_org(session: AsyncSession, scope: AuthContext, company_id: uuid.UUID) -> None:
    if await CompanyRepository(session, scope).get(company_id) is None:
        # Another org's company (or none at all): not found, like every other org's resource.
        raise NotFound("company_id does not belong to org_id")


async def _existing_submission(
    session: AsyncSession, org_id: uuid.UUID, key: str, fingerprint: str, ttl: timedelta
) -> SubmittedBatch | None:
    submission_id = await idempotency.prior_submission(session, org_id, key, fingerprint, ttl)
    if submission_id is None:
        return None
    rows = await repo.submitted_runs(session, submission_id)
    indexes, entity_types, run_ids, statuses = zip(*rows, strict=True) if rows else ((), (), (), ())
    return SubmittedBatch(submission_id, indexes, entity_types, run_ids, statuses)


def _can_finish_at_submit(plan: Plan) -> bool:
    """Whether a run may finish as it is submitted: when the blueprint has no step, or its first step has a
    condition (which may not hold)."""
    return not plan.steps or plan.steps[0].condition is not None


async def submit(
    session: AsyncSession,
    scope: AuthContext,
    body: BatchSubmitRequest,
    *,
    plans: PlanCache,
    idempotency_key: str | None = None,
    idempotency_ttl: timedelta = idempotency.DEFAULT_TTL,
) -> SubmittedBatch:
    if not body.entities:
        raise BadRequest("entities must contain at least one entity")
    company_id = await submission_company(session, scope, body.company_id)
    fingerprint = idempotency.body_hash(body, company_id) if idempotency_key else None
    if idempotency_key and fingerprint:
        existing = await _existing_submission(
            session, scope.org_id, idempotency_key, fingerprint, idempotency_ttl
        )
        if existing is not None:
            return existing
    version = await version_for_submission(session, scope.org_id, body.blueprint_id)
    # Each entity runs as the type its own item names, so one batch may mix companies and people.
    submission_id = uuid.uuid4()
    try:
        async with session.begin_nested():
            await repo.insert_submission(
                session,
                {
                    "id": submission_id,
                    "org_id": scope.org_id,
                    "company_id": company_id,
                    "blueprint_id": body.blueprint_id,
                    "blueprint_version_id": version.id,
                    "submitted_by_user_id": scope.user_id,
                    "source": body.source,
                    "status": "received",
                    "metadata": body.metadata or {},
                    "idempotency_key": idempotency_key,
                    "idempotency_body_hash": fingerprint,
                    "root_runs": len(body.entities),
                },
                entities_json=ENTITIES_JSON.dump_json(body.entities).decode(),
            )
    except IntegrityError as exc:
        # A concurrent retry with the same key won: answer with its submission.
        if (
            idempotency_key
            and fingerprint
            and conflict_for(exc, {"uq_submissions_org_id_idempotency_key": "duplicate"})
        ):
            existing = await _existing_submission(
                session, scope.org_id, idempotency_key, fingerprint, idempotency_ttl
            )
            if existing is not None:
                return existing
        raise
    plan = await plans.get(session, version.id)
    first_position = min((step.position for step in plan.steps), default=1)
    run_ids = [uuid.uuid4() for _ in body.entities]
    # Runs that did not stay queued: those complete at once (every step's condition false).
    moved: dict[uuid.UUID, str] = {}
    # Runs are written a chunk at a time, so the rows in flight do not grow with the batch. Each chunk's
    # flush derives the submission's status from the runs so far, which is already the final one unless
    # a run can finish at submit: then the batch is written in one piece, for one exact status change.
    chunk = len(body.entities) if _can_finish_at_submit(plan) else SUBMIT_CHUNK_ENTITIES
    for start in range(0, len(body.entities), chunk):
        progress = Progress(session, plans)
        for index in range(start, min(start + chunk, len(body.entities))):
            entity = body.entities[index]
            run = RunRef(
                run_ids[index],
                scope.org_id,
                company_id,
                submission_id,
                body.blueprint_id,
                version.id,
                version.version,
                entity.entity_type,
                0,
            )
            row = Progress.run_row(
                run, entity.input, index=index, start=first_position, parent=None, dedup=None
            )
            progress.start_run(run, row)
        await progress.flush()
        moved.update((run["id"], run["status"]) for run in progress.moved_runs)
    return SubmittedBatch(
        submission_id,
        range(len(run_ids)),
        [entity.entity_type for entity in body.entities],
        run_ids,
        [moved.get(run_id, "queued") for run_id in run_ids],
    )


async def _load_owned(
    session: AsyncSession,
    scope: AuthContext,
    model: Any,
    row_id: uuid.UUID,
    *,
    missing: str,
    forbidden: str,
    options: Sequence[ORMOption] = (),
) -> Any:
    """A row of the caller's org (404 otherwise) that a company-scoped caller owns (403 otherwise)."""
    row = await session.scalar(
        select(model).options(*options).where(model.id == row_id, model.org_id == scope.org_id)
    )
    if row is None:
        raise NotFound(missing)
    own = scope.own_company_id()
    if own is not None and row.company_id != own:
        raise Forbidden(forbidden)
    return row


async def load_submission(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID, *, with_ingest_report: bool = False
) -> Submission:
    return await _load_owned(
        session,
        scope,
        Submission,
        submission_id,
        missing="Submission not found",
        forbidden="Forbidden submission access",
        options=[undefer(Submission.ingest_report)] if with_ingest_report else [],
    )


def _node(run: Any, final_context: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "entity_index": run["entity_index"],
        "entity_type": run["entity_type"],
        "pipeline_run_id": run["id"],
        "parent_pipeline_run_id": run["parent_pipeline_run_id"],
        "trigger_run_id": run["trigger_run_id"],
        "status": STATUS_FOR_CLIENTS.get(run["status"], "pending"),
        "final_context": final_context,
        "error_message": run["error_message"],
        "children": [],
    }


async def batch_status(
    session: AsyncSession, scope: AuthContext, *, submission_id: uuid.UUID, limit: int, offset: int
) -> dict[str, Any]:
    """The recursive run tree of one page of root runs — a few queries, none over the whole batch."""
    submission = await load_submission(session, scope, submission_id)
    rows = await repo.run_tree_page(session, submission_id, limit=limit, offset=offset)
    contexts = await repo.final_contexts(session, [row["id"] for row in rows if row["status"] == "succeeded"])
    nodes: dict[uuid.UUID, dict[str, Any]] = {}
    children: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for row in rows:
        context = contexts.get(row["id"], row["entity_input"]) if row["status"] == "succeeded" else None
        node = _node(row, context)
        nodes[row["id"]] = node
    for row in rows:
        node = nodes[row["id"]]
        parent = row["parent_pipeline_run_id"]
        if parent is not None and parent in nodes:
            children[parent].append(node)
        else:
            roots.append(node)
    for run_id, kids in children.items():
        nodes[run_id]["children"] = kids
    counters = RunCounters(
        submission.runs_total,
        submission.runs_running,
        submission.runs_succeeded,
        submission.runs_failed,
        submission.runs_canceled,
    )
    return {
        "submission": {
            "id": submission.id,
            "org_id": submission.org_id,
            "company_id": submission.company_id,
            "blueprint_id": submission.blueprint_id,
            "status": submission.status,
            "source": submission.source,
            "metadata": submission.metadata_,
            "created_at": submission.created_at,
            "updated_at": submission.updated_at,
        },
        "summary": {
            "total": counters.total,
            "completed": counters.succeeded,
            "failed": counters.failed + counters.canceled,
            "pending": counters.pending,
            "running": counters.running,
        },
        "usage": {
            **await submission_usage(session, submission.id),
            "budget_credits": submission.budget_credits,
            "parked_steps": await parked_steps(session, submission.org_id, submission.id),
        },
        "budget": await budget_needs(session, submission.id)
        if submission.status == "waiting_for_budget"
        else None,
        "runs": roots,
        "pagination": {
            "limit": limit,
            "offset": offset,
            "total_root_runs": submission.root_runs,
            "returned": len(roots),
            "has_more": offset + len(roots) < submission.root_runs,
        },
    }


async def cancel(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID, *, plans: PlanCache
) -> dict[str, Any]:
    """Skip every queued (or budget-parked) step of the submission, children included, and cancel those
    runs now; steps already running finish, and their runs stop there (the writer sees ``canceled_at``)."""
    submission = await load_submission(session, scope, submission_id)
    await session.execute(
        text("UPDATE submissions SET canceled_at = COALESCE(canceled_at, now()) WHERE id = :id"),
        {"id": submission.id},
    )
    skipped = list((await session.execute(states.CANCEL_STEPS, {"id": submission.id})).mappings())
    runs = await repo.run_info(session, [row["pipeline_run_id"] for row in skipped])
    progress = Progress(session, plans)
    # Kept answers a dead process left for the steps' next runs: they will have none.
    progress.journal_calls = await take_released_answers(session, [row["id"] for row in skipped])
    for row in skipped:
        info = runs[row["pipeline_run_id"]]
        run = RunRef(
            info["id"],
            submission.org_id,
            submission.company_id,
            submission.id,
            info["blueprint_id"],
            info["blueprint_version_id"],
            info["blueprint_version"],
            info["entity_type"],
            info["depth"],
        )
        plan = await plans.get(session, run.version_id)
        progress.add_rows(
            run,
            skip_all(plan.after(row["step_position"]), row["input_payload"] or {}, "submission_canceled", {}),
        )
        progress.move(run.run_id, "canceled")
    await progress.flush()
    await session.refresh(submission)
    return {
        "submission_id": submission.id,
        "status": submission.status,
        "canceled_runs": len(runs),
        "skipped_steps": len(skipped),
    }


async def resume(
    session: AsyncSession,
    scope: AuthContext,
    *,
    run_id: uuid.UUID | None,
    submission_id: uuid.UUID | None,
    plans: PlanCache,
) -> list[uuid.UUID]:
    """Re-queue failed runs at their failed step, with the run's own blueprint version and context. A run a
    retry superseded no longer counts toward its submission, so it is not resumed."""
    if (run_id is None) == (submission_id is None):
        raise BadRequest("provide exactly one of pipeline_run_id or submission_id")
    query = select(PipelineRun).where(
        PipelineRun.org_id == scope.org_id,
        PipelineRun.status == "failed",
        PipelineRun.superseded_at.is_(None),
    )
    if run_id is not None:
        # Org and company access first (404 / 403), so another company's run status is never told.
        run = await get_run(session, scope, run_id)
        if run.status != "failed":
            raise BadRequest(f"only failed runs can be resumed (this one is {run.status})")
        if run.superseded_at is not None:
            raise BadRequest("this run was superseded by a retry of its submission; resume the retry's run")
        query = query.where(PipelineRun.id == run_id)
    elif submission_id is not None:
        await load_submission(session, scope, submission_id)
        query = query.where(PipelineRun.submission_id == submission_id)
    own = scope.own_company_id()
    if own is not None:
        query = query.where(PipelineRun.company_id == own)
    failed_runs = list(await session.scalars(query.with_for_update()))
    if not failed_runs:
        return []
    ids = [run.id for run in failed_runs]
    # The failed step goes back to the queue; placeholders of the steps skipped after it are dropped,
    # they are re-created as the run advances again. The events their rows held stay in the timeline.
    await session.execute(timeline.WRITE_STEP_EVENTS, {"run_ids": ids})
    await session.execute(
        text(
            "DELETE FROM step_results WHERE pipeline_run_id = ANY(:ids) AND status = 'skipped' "
            "AND output_payload ->> 'skip_reason' = 'upstream_step_failed'"
        ),
        {"ids": ids},
    )
    await session.execute(states.RESUME_STEPS, {"ids": ids})
    progress = Progress(session, plans)
    for run in failed_runs:
        progress.move(run.id, "running")
    progress.wake_executors()
    await progress.flush()
    return ids


async def requeue_parked(
    session: AsyncSession, org_id: uuid.UUID, submission_id: uuid.UUID | None = None
) -> int:
    """Steps parked for budget whose next call fits their org's and submission's budgets again go back to
    the queue."""
    params = {"org_id": org_id, "submission_id": submission_id}
    requeued = rowcount(await session.execute(states.REQUEUE_PARKED, params))
    if requeued:
        await repo.notify_ready(session)
    return requeued


async def owner_scope(session: AsyncSession, model: Any, row_id: uuid.UUID, *, missing: str) -> AuthContext:
    """For a super-admin naming a row by id alone: an org_admin scope of the org that owns it (404 if
    none does), so the tenant services serve it unchanged."""
    org_id = await session.scalar(select(model.org_id).where(model.id == row_id))
    if org_id is None:
        raise NotFound(missing)
    return AuthContext(
        org_id=org_id, user_id=None, company_id=None, role="org_admin", auth_method="super_admin"
    )


async def list_submissions(session: AsyncSession, scope: AuthContext | None, body: Any) -> Page[Submission]:
    """The caller's submissions; ``scope`` None (a super-admin naming no org) lists every org's."""
    query = select(Submission)
    company = body.company_id
    if scope is not None:
        query = query.where(Submission.org_id == scope.org_id)
        scope.check_company_access(body.company_id)
        company = scope.own_company_id() or company
    if company is not None:
        query = query.where(Submission.company_id == company)
    if body.blueprint_id is not None:
        query = query.where(Submission.blueprint_id == body.blueprint_id)
    if body.status is not None:
        query = query.where(Submission.status == body.status)
    return await paginate(session, query, body, Submission.created_at.desc(), Submission.id)


async def list_runs(session: AsyncSession, scope: AuthContext | None, body: Any) -> Page[PipelineRun]:
    """The caller's runs; ``scope`` None (a super-admin naming no org) lists every org's."""
    query = select(PipelineRun)
    if scope is not None:
        query = query.where(PipelineRun.org_id == scope.org_id)
        own = scope.own_company_id()
        if own is not None:
            query = query.where(PipelineRun.company_id == own)
    if body.submission_id is not None:
        query = query.where(PipelineRun.submission_id == body.submission_id)
    if body.status is not None:
        query = query.where(PipelineRun.status == body.status)
    return await paginate(session, query, body, PipelineRun.created_at.desc(), PipelineRun.id)


async def get_run(session: AsyncSession, scope: AuthContext, run_id: uuid.UUID) -> PipelineRun:
    return await _load_owned(
        session,
        scope,
        PipelineRun,
        run_id,
        missing="Pipeline run not found",
        forbidden="Forbidden pipeline run access",
    )


async def run_steps(session: AsyncSession, run_id: uuid.UUID) -> list[StepResult]:
    return list(
        await session.scalars(
            select(StepResult).where(StepResult.pipeline_run_id == run_id).order_by(StepResult.step_position)
        )
    )


async def submission_runs(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID
) -> list[PipelineRun]:
    """A submission's runs, newest first (capped: the batch status endpoint pages through big batches)."""
    query = select(PipelineRun).where(
        PipelineRun.submission_id == submission_id, PipelineRun.org_id == scope.org_id
    )
    return list(
        await session.scalars(query.order_by(PipelineRun.created_at.desc(), PipelineRun.id).limit(1000))
    )
