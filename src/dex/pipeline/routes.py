"""Batch endpoints (``/api/v1/batch/*``) and tenant reads of submissions, runs and step results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from dex.api.deps import SessionDep
from dex.api.envelopes import ERROR_RESPONSES, Envelope, ListEnvelope, list_envelope
from dex.pipeline import service
from dex.pipeline.schemas import (
    BatchStatus,
    BatchStatusRequest,
    BatchSubmitRequest,
    BatchSubmitted,
    CancelResult,
    IdRequest,
    ResumeRequest,
    ResumeResult,
    RunListRequest,
    RunOut,
    RunWithSteps,
    StepListRequest,
    StepResultOut,
    SubmissionListRequest,
    SubmissionRef,
    SubmissionRow,
    SubmissionWithRuns,
)
from dex.tenancy.auth import FlexibleAuth, TenantAuth, tenant_scope

batch_router = APIRouter(prefix="/api/v1/batch", tags=["batch"], responses=ERROR_RESPONSES)
tenant_router = APIRouter(prefix="/api", tags=["submissions"], responses=ERROR_RESPONSES)


def _plans(request: Request) -> Any:
    return request.app.state.plans


@batch_router.post("/submit", response_model=Envelope[BatchSubmitted])
async def submit(
    body: BatchSubmitRequest,
    auth: FlexibleAuth,
    session: SessionDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Create a submission and one run per entity. A retried request with the same ``Idempotency-Key``
    returns the first submission instead of creating another."""
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    result = await service.submit(
        session, scope, body, plans=_plans(request), idempotency_key=idempotency_key
    )
    return {"data": result}


@batch_router.post("/status", response_model=Envelope[BatchStatus])
async def status(body: BatchStatusRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return {
        "data": await service.batch_status(
            session, scope, submission_id=body.submission_id, limit=body.limit, offset=body.offset
        )
    }


@batch_router.post("/cancel", response_model=Envelope[CancelResult])
async def cancel(
    body: SubmissionRef, auth: FlexibleAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return {"data": await service.cancel(session, scope, body.submission_id, plans=_plans(request))}


@batch_router.post("/resume", response_model=Envelope[ResumeResult])
async def resume(
    body: ResumeRequest, auth: FlexibleAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    resumed = await service.resume(
        session, scope, run_id=body.pipeline_run_id, submission_id=body.submission_id, plans=_plans(request)
    )
    return {"data": {"resumed_run_ids": resumed}}


@tenant_router.post("/submissions/list", response_model=ListEnvelope[SubmissionRow])
async def list_submissions(
    body: SubmissionListRequest, auth: TenantAuth, session: SessionDep
) -> dict[str, Any]:
    page = await service.list_submissions(session, auth, body)
    return list_envelope(
        [SubmissionRow.model_validate(row) for row in page.items], total=page.total, page=body
    )


@tenant_router.post("/submissions/get", response_model=Envelope[SubmissionWithRuns])
async def get_submission(body: IdRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    submission = await service.load_submission(session, auth, body.id)
    runs = await service.submission_runs(session, auth, submission.id)
    return {
        "data": {
            **SubmissionRow.model_validate(submission).model_dump(),
            "pipeline_runs": [RunOut.model_validate(run) for run in runs],
        }
    }


@tenant_router.post("/pipeline-runs/list", response_model=ListEnvelope[RunOut])
async def list_runs(body: RunListRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    page = await service.list_runs(session, auth, body)
    return list_envelope([RunOut.model_validate(row) for row in page.items], total=page.total, page=body)


@tenant_router.post("/pipeline-runs/get", response_model=Envelope[RunWithSteps])
async def get_run(body: IdRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    run = await service.get_run(session, auth, body.id)
    steps = await service.run_steps(session, run.id)
    return {
        "data": {
            **RunOut.model_validate(run).model_dump(),
            "step_results": [StepResultOut.model_validate(step) for step in steps],
        }
    }


@tenant_router.post("/step-results/list", response_model=ListEnvelope[StepResultOut])
async def list_steps(body: StepListRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    run = await service.get_run(session, auth, body.pipeline_run_id)
    steps = [StepResultOut.model_validate(step) for step in await service.run_steps(session, run.id)]
    return {
        "data": steps,
        "pagination": {"total": len(steps), "limit": len(steps), "offset": 0, "returned": len(steps)},
    }
