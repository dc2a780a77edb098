"""Batch endpoints (``/api/v1/batch/*``) and tenant reads of submissions, runs and step results."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from dex.config import Settings
from dex.errors import BadRequest
from dex.kit.csvsafe import write_csv
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope, ListEnvelope, PageRequest, list_envelope
from dex.kit.paging import Page
from dex.kit.routing import ModelBodyRoute
from dex.pipeline import estimate as cost_estimate
from dex.pipeline import ingest, live, service, submissions, views
from dex.pipeline.models import PipelineRun, Submission
from dex.pipeline.schemas import (
    SUBMISSION_COMPANY,
    BatchEstimate,
    BatchEventsRequest,
    BatchStatus,
    BatchStatusRequest,
    BatchSubmitRequest,
    BatchSubmitted,
    CancelResult,
    CsvSubmitFields,
    CsvSubmitRequest,
    CsvSubmitted,
    IdRequest,
    Rejections,
    RejectionsRequest,
    ResumeRequest,
    ResumeResult,
    Retried,
    RetryRequest,
    RunListRequest,
    RunOut,
    RunWithSteps,
    StepListRequest,
    StepResultOut,
    SubmissionCreated,
    SubmissionCreateRequest,
    SubmissionListRequest,
    SubmissionRef,
    SubmissionRow,
    SubmissionWithRuns,
    SuperAdminRunListRequest,
    SuperAdminSubmissionCreateRequest,
    SuperAdminSubmissionListRequest,
)
from dex.tenancy.auth import (
    AuthContext,
    FlexibleAuth,
    SuperAdminAuth,
    SuperAdminContext,
    TenantAuth,
    tenant_scope,
)

# A batch body may hold 100k entities: it is validated straight from its bytes.
batch_router = APIRouter(prefix="/api/v1/batch", tags=["batch"], route_class=ModelBodyRoute)
tenant_router = APIRouter(prefix="/api", tags=["submissions"])
super_admin_router = APIRouter(prefix="/api/super-admin", tags=["super-admin"])


def _plans(request: Request) -> Any:
    return request.app.state.plans


def _idempotency_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.dex_idempotency_key_ttl_hours)


@batch_router.post("/submit", response_model=Envelope[BatchSubmitted])
async def submit(
    body: BatchSubmitRequest,
    auth: FlexibleAuth,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Create a submission and one run per entity. A retried request with the same ``Idempotency-Key``
    and body returns the first submission instead of creating another; the same key with another body
    is refused (422). Keys expire ``DEX_IDEMPOTENCY_KEY_TTL_HOURS`` (default 24) after their submission."""
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    submitted = await service.submit(
        session,
        scope,
        body,
        plans=_plans(request),
        idempotency_key=idempotency_key,
        idempotency_ttl=_idempotency_ttl(settings),
    )
    return Response(submitted.envelope_json(), media_type="application/json")


@batch_router.post("/estimate", response_model=Envelope[BatchEstimate])
async def estimate(
    body: BatchSubmitRequest, auth: FlexibleAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    """The expected and maximum credits of submitting this body (the same as ``/submit``'s), per provider,
    per step and in total, with the org's remaining budget; nothing is submitted."""
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    return {"data": await cost_estimate.estimate(session, scope, body, plans=_plans(request))}


async def _csv_upload(request: Request) -> tuple[ingest.CsvUpload, uuid.UUID | None]:
    """The file and its fields from a multipart form, or from a JSON body (``csv`` holds the text)."""
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise BadRequest("the form needs the CSV as a file in its 'file' field")
            fields = CsvSubmitFields.model_validate({k: v for k, v in form.items() if k != "file"})
            data, filename = await file.read(), file.filename
        else:
            body = CsvSubmitRequest.model_validate_json(await request.body())
            fields, data, filename = body, body.csv.encode(), body.filename
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    upload = ingest.CsvUpload(data, fields.blueprint_id, fields.company_id, filename, fields.column_map)
    return upload, fields.org_id


CSV_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "blueprint_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "blueprint_id": {"type": "string", "format": "uuid"},
                        "company_id": {"type": "string", "format": "uuid", "description": SUBMISSION_COMPANY},
                        "org_id": {"type": "string", "format": "uuid"},
                        "column_map": {"type": "string", "description": "JSON object: header → input key"},
                    },
                }
            },
            "application/json": {"schema": CsvSubmitRequest.model_json_schema()},
        },
    }
}


@batch_router.post("/submit-csv", response_model=Envelope[CsvSubmitted], openapi_extra=CSV_SUBMIT_BODY)
async def submit_csv(
    auth: FlexibleAuth,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Submit a CSV, one entity per row (multipart ``file`` + ``blueprint_id`` [+ ``company_id``,
    ``column_map``], or JSON with the text in ``csv``). Encoding, delimiter and header spelling are
    detected; rows that cannot run are rejected and duplicates collapsed, each reported with its row
    number and reason — here (the first 10,000) and later at ``/api/v1/batch/rejections``."""
    upload, org_id = await _csv_upload(request)
    scope = tenant_scope(auth, org_id=org_id, company_id=upload.company_id)
    result = await ingest.submit_csv(
        session,
        scope,
        upload,
        plans=_plans(request),
        idempotency_key=idempotency_key,
        idempotency_ttl=_idempotency_ttl(settings),
    )
    return {"data": result}


@batch_router.post(
    "/rejections", response_model=Envelope[Rejections], responses={200: {"content": {"text/csv": {}}}}
)
async def rejections(body: RejectionsRequest, auth: FlexibleAuth, session: SessionDep) -> Any:
    """The ingest report of a CSV submission: what was accepted, and each rejected or collapsed row with
    its reason; ``"format": "csv"`` downloads the rows as ``row_number,reason``."""
    scope = tenant_scope(auth, org_id=body.org_id)
    submission = await service.load_submission(session, scope, body.submission_id, with_ingest_report=True)
    report = submission.ingest_report
    if body.format == "json":
        return {"data": {"submission_id": submission.id, "ingest_report": report}}
    rows = [(row["row_number"], row["reason"]) for row in (report or {}).get("rejected", [])]
    return Response(
        write_csv([("row_number", "reason"), *rows]),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="rejections-{submission.id}.csv"'},
    )


@batch_router.post("/status", response_model=Envelope[BatchStatus])
async def status(body: BatchStatusRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return {
        "data": await service.batch_status(
            session, scope, submission_id=body.submission_id, limit=body.limit, offset=body.offset
        )
    }


def progress_hub(request: Request) -> live.ProgressHub:
    hub = getattr(request.app.state, "progress_hub", None)
    if hub is None:
        hub = request.app.state.progress_hub = live.ProgressHub(request.app.state.db)
    return hub


async def _events(
    request: Request, auth: AuthContext | SuperAdminContext, session: AsyncSession, body: BatchEventsRequest
) -> StreamingResponse:
    scope = tenant_scope(auth, org_id=body.org_id)
    # Access is decided (and the request's transaction closed) before the stream starts.
    await service.load_submission(session, scope, body.submission_id)
    return StreamingResponse(
        live.stream(
            request.app.state.db, progress_hub(request), body.submission_id, max_seconds=body.max_seconds
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@batch_router.get("/events", response_class=StreamingResponse)
async def events(
    request: Request,
    auth: FlexibleAuth,
    session: SessionDep,
    submission_id: Annotated[uuid.UUID, Query()],
    org_id: Annotated[uuid.UUID | None, Query()] = None,
    max_seconds: Annotated[float, Query(ge=0, le=3600)] = 300,
) -> StreamingResponse:
    """Server-Sent Events of one submission: ``snapshot``, then ``run`` and ``step`` transitions and
    ``summary`` counts as they change, and ``end`` when it has finished. The stream closes after
    ``max_seconds``; clients reconnect (EventSource does so by itself)."""
    body = BatchEventsRequest(submission_id=submission_id, org_id=org_id, max_seconds=max_seconds)
    return await _events(request, auth, session, body)


@batch_router.post("/events", response_class=StreamingResponse)
async def events_post(
    body: BatchEventsRequest, request: Request, auth: FlexibleAuth, session: SessionDep
) -> StreamingResponse:
    """The same stream for clients that send JSON bodies."""
    return await _events(request, auth, session, body)


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


@tenant_router.post("/submissions/create", response_model=Envelope[SubmissionCreated])
async def create_submission(
    body: SubmissionCreateRequest, auth: TenantAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    """One payload run through a blueprint as one run (its context is the payload, when an object)."""
    return {"data": await _create_single(session, auth, body, request)}


async def _create_single(
    session: AsyncSession, scope: AuthContext, body: SubmissionCreateRequest, request: Request
) -> dict[str, Any]:
    return await submissions.create_single(
        session,
        scope,
        plans=_plans(request),
        company_id=body.company_id,
        blueprint_id=body.blueprint_id,
        input_payload=body.input_payload,
        source=body.source,
        metadata=body.metadata,
    )


@tenant_router.post("/submissions/list", response_model=ListEnvelope[SubmissionRow])
async def list_submissions(
    body: SubmissionListRequest, auth: TenantAuth, session: SessionDep
) -> dict[str, Any]:
    return _submission_page(await service.list_submissions(session, auth, body), body)


def _submission_page(page: Page[Any], body: PageRequest) -> dict[str, Any]:
    return list_envelope(
        [SubmissionRow.model_validate(row) for row in page.items], total=page.total, page=body
    )


def _run_page(page: Page[Any], body: PageRequest) -> dict[str, Any]:
    return list_envelope([RunOut.model_validate(row) for row in page.items], total=page.total, page=body)


def _step_list(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": steps,
        "pagination": {
            "total": len(steps),
            "limit": len(steps),
            "offset": 0,
            "returned": len(steps),
            "has_more": False,
        },
    }


@tenant_router.post("/submissions/get", response_model=Envelope[SubmissionWithRuns])
async def get_submission(body: IdRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await views.submission_detail(session, auth, body.id)}


@tenant_router.post("/pipeline-runs/list", response_model=ListEnvelope[RunOut])
async def list_runs(body: RunListRequest, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return _run_page(await service.list_runs(session, auth, body), body)


@tenant_router.post("/pipeline-runs/get", response_model=Envelope[RunWithSteps])
async def get_run(body: IdRequest, auth: TenantAuth, session: SessionDep, request: Request) -> dict[str, Any]:
    return {"data": await views.run_detail(session, auth, _plans(request), body.id)}


@tenant_router.post("/step-results/list", response_model=ListEnvelope[StepResultOut])
async def list_steps(
    body: StepListRequest, auth: TenantAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    run = await service.get_run(session, auth, body.pipeline_run_id)
    return _step_list(await views.run_step_rows(session, _plans(request), run))


# Super-admin: any org's submissions and runs, each named by id or filtered by ``org_id``. -------------------


@super_admin_router.post("/submissions/create", response_model=Envelope[SubmissionCreated])
async def admin_create_submission(
    body: SuperAdminSubmissionCreateRequest, auth: SuperAdminAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    return {"data": await _create_single(session, scope, body, request)}


@super_admin_router.post("/submissions/list", response_model=ListEnvelope[SubmissionRow])
async def admin_list_submissions(
    body: SuperAdminSubmissionListRequest, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id) if body.org_id else None
    return _submission_page(await service.list_submissions(session, scope, body), body)


@super_admin_router.post("/submissions/get", response_model=Envelope[SubmissionWithRuns])
async def admin_get_submission(body: IdRequest, auth: SuperAdminAuth, session: SessionDep) -> dict[str, Any]:
    scope = await service.owner_scope(session, Submission, body.id, missing="Submission not found")
    return {"data": await views.submission_detail(session, scope, body.id)}


@super_admin_router.post("/pipeline-runs/list", response_model=ListEnvelope[RunOut])
async def admin_list_runs(
    body: SuperAdminRunListRequest, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id) if body.org_id else None
    return _run_page(await service.list_runs(session, scope, body), body)


@super_admin_router.post("/pipeline-runs/get", response_model=Envelope[RunWithSteps])
async def admin_get_run(
    body: IdRequest, auth: SuperAdminAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    scope = await service.owner_scope(session, PipelineRun, body.id, missing="Pipeline run not found")
    return {"data": await views.run_detail(session, scope, _plans(request), body.id)}


@super_admin_router.post("/pipeline-runs/retry", response_model=Envelope[Retried])
async def admin_retry(
    body: RetryRequest, auth: SuperAdminAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    """A new attempt of every entity of the submission, from the blueprint's current version."""
    scope = await service.owner_scope(session, Submission, body.submission_id, missing="Submission not found")
    return {
        "data": await submissions.retry(
            session, scope, plans=_plans(request), submission_id=body.submission_id
        )
    }


@super_admin_router.post("/step-results/list", response_model=ListEnvelope[StepResultOut])
async def admin_list_steps(
    body: StepListRequest, auth: SuperAdminAuth, session: SessionDep, request: Request
) -> dict[str, Any]:
    scope = await service.owner_scope(
        session, PipelineRun, body.pipeline_run_id, missing="Pipeline run not found"
    )
    run = await service.get_run(session, scope, body.pipeline_run_id)
    return _step_list(await views.run_step_rows(session, _plans(request), run))
