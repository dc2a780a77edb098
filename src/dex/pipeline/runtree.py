"""Reads for looking at a batch a page at a time: its root runs, one run's fan-out children, the child
counts that tell whether a run can be expanded, and the progress of several submissions in one query.

Every function takes the caller's scope and filters by its org (and own company, for company-scoped
callers), so an id of another tenant simply finds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.kit.paging import Page
from dex.pipeline.models import PipelineRun, StepResult, Submission
from dex.tenancy.context import AuthContext
from dex.usage.models import SubmissionSpend


def _runs_of(scope: AuthContext) -> Any:
    query = select(PipelineRun).where(PipelineRun.org_id == scope.org_id)
    own = scope.own_company_id()
    return query if own is None else query.where(PipelineRun.company_id == own)


async def _page(session: AsyncSession, query: Any, total: int, limit: int, offset: int) -> Page[PipelineRun]:
    # The order of ``ix_pipeline_runs_submission_id_roots``, so a page of a 100k-run batch is an index read.
    rows = await session.scalars(
        query.order_by(PipelineRun.created_at, PipelineRun.entity_index, PipelineRun.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(list(rows), total)


async def root_runs(
    session: AsyncSession, scope: AuthContext, submission: Submission, *, limit: int, offset: int
) -> Page[PipelineRun]:
    """One page of the submission's root runs; the total is the submission's own count of them."""
    query = _runs_of(scope).where(
        PipelineRun.submission_id == submission.id, PipelineRun.parent_pipeline_run_id.is_(None)
    )
    return await _page(session, query, submission.root_runs, limit, offset)


async def child_runs(
    session: AsyncSession, scope: AuthContext, parent: PipelineRun, *, limit: int, offset: int
) -> Page[PipelineRun]:
    query = _runs_of(scope).where(PipelineRun.parent_pipeline_run_id == parent.id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return await _page(session, query, total, limit, offset)


async def child_counts(
    session: AsyncSession, scope: AuthContext, run_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not run_ids:
        return {}
    rows = await session.execute(
        select(PipelineRun.parent_pipeline_run_id, func.count())
        .where(PipelineRun.org_id == scope.org_id, PipelineRun.parent_pipeline_run_id.in_(run_ids))
        .group_by(PipelineRun.parent_pipeline_run_id)
    )
    return {parent: count for parent, count in rows.all() if parent is not None}


async def failed_step_errors(
    session: AsyncSession, scope: AuthContext, run_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The error of each run's failed step, for runs whose own message is empty."""
    if not run_ids:
        return {}
    rows = await session.execute(
        select(StepResult.pipeline_run_id, StepResult.error_message).where(
            StepResult.org_id == scope.org_id,
            StepResult.pipeline_run_id.in_(run_ids),
            StepResult.status == "failed",
        )
    )
    return {run_id: message for run_id, message in rows.all() if message}


async def submissions_progress(
    session: AsyncSession, scope: AuthContext, submission_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """Status, run counts and credits spent of the named submissions the caller may see — one query, so a
    page watching many batches costs one read per refresh."""
    if not submission_ids:
        return []
    query = (
        select(
            Submission.id,
            Submission.status,
            Submission.runs_total,
            Submission.runs_running,
            Submission.runs_succeeded,
            Submission.runs_failed,
            Submission.runs_canceled,
            Submission.finished_at,
            func.coalesce(SubmissionSpend.spent_credits, Decimal(0)).label("credits"),
        )
        .outerjoin(SubmissionSpend, SubmissionSpend.submission_id == Submission.id)
        .where(Submission.org_id == scope.org_id, Submission.id.in_(submission_ids))
    )
    own = scope.own_company_id()
    if own is not None:
        query = query.where(Submission.company_id == own)
    return [dict(row) for row in (await session.execute(query)).mappings()]
