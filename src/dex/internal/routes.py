"""``/api/internal/*``: the API an external runner written against the original system drives runs with.
Off — every path answers 404 — unless ``INTERNAL_API_KEY`` is set; then the bearer must be that key
(compared in constant time). The org acted for is the one ``x-internal-org-id`` names, or without that
header the one owning the run, step or submission the body names (see ``dex.internal.owners``); freshness
checks name no row, so they need the header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from dex.errors import NotFound, Unauthorized
from dex.internal import service
from dex.internal.owners import owning_org
from dex.internal.schemas import (
    EntityUpsertRequest,
    FanOutRequest,
    FanOutResult,
    Freshness,
    FreshnessRequest,
    InternalRun,
    InternalStep,
    RemainingSkipped,
    RunRequest,
    RunStatusUpdate,
    StepEventRequest,
    StepEventResult,
    StepUpdate,
    SubmissionRequest,
    SubmissionStatusUpdate,
)
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope
from dex.pipeline.schemas import RunOut, StepResultOut, SubmissionRow
from dex.tenancy.auth import INTERNAL_ORG_HEADER, authenticate_tenant, bearer_scheme
from dex.tenancy.context import AuthContext
from dex.tenancy.tokens import secrets_match


async def internal_scope(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> AuthContext:
    if settings.internal_api_key is None:
        raise NotFound("Not Found")
    if credentials is None:
        raise Unauthorized("Missing authorization token")
    if not secrets_match(credentials.credentials, settings.internal_api_key):
        raise Unauthorized("Invalid internal API key")
    if INTERNAL_ORG_HEADER not in request.headers:
        org_id = await owning_org(session, await _json_body(request))
        if org_id is not None:
            return AuthContext(
                org_id=org_id, user_id=None, company_id=None, role="org_admin", auth_method="internal"
            )
    # The internal-key path of tenant auth: the org header is required and must name an existing org.
    return await authenticate_tenant(session, settings, credentials.credentials, request.headers)


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None  # not JSON: the body's own validation reports it


InternalScope = Annotated[AuthContext, Depends(internal_scope)]
router = APIRouter(prefix="/api/internal", tags=["internal"])


def _plans(request: Request) -> Any:
    return request.app.state.plans


@router.post("/pipeline-runs/get", response_model=Envelope[InternalRun])
async def get_run(body: RunRequest, scope: InternalScope, session: SessionDep, request: Request) -> dict:
    """The run, its submission, its blueprint snapshot and all its step rows. An unfinished run is handed to
    the caller: dex's own executor no longer picks up its steps."""
    taken = await service.take_run(session, scope, _plans(request), body.pipeline_run_id)
    return {
        "data": {
            **RunOut.model_validate(taken["run"]).model_dump(),
            "blueprint_snapshot": taken["blueprint_snapshot"],
            "submissions": SubmissionRow.model_validate(taken["submission"]),
            "step_results": [InternalStep.model_validate(step) for step in taken["steps"]],
        }
    }


@router.post("/pipeline-runs/update-status", response_model=Envelope[RunOut])
async def update_run_status(
    body: RunStatusUpdate, scope: InternalScope, session: SessionDep, request: Request
) -> dict:
    """Legal transitions only (409 otherwise); the submission's counters and status follow."""
    return {"data": await service.update_run_status(session, scope, _plans(request), body)}


@router.post("/step-results/update", response_model=Envelope[StepResultOut])
async def update_step(body: StepUpdate, scope: InternalScope, session: SessionDep) -> dict:
    return {"data": await service.update_step(session, scope, body)}


@router.post("/step-results/mark-remaining-skipped", response_model=Envelope[list[StepResultOut]])
async def mark_remaining_skipped(body: RemainingSkipped, scope: InternalScope, session: SessionDep) -> dict:
    return {"data": await service.mark_remaining_skipped(session, scope, body)}


@router.post("/submissions/update-status", response_model=Envelope[SubmissionRow])
async def update_submission_status(
    body: SubmissionStatusUpdate, scope: InternalScope, session: SessionDep
) -> dict:
    """A submission's status is derived from its runs: only the status it already has is accepted."""
    return {"data": await service.update_submission_status(session, scope, body)}


@router.post("/submissions/sync-status", response_model=Envelope[SubmissionRow])
async def sync_submission(body: SubmissionRequest, scope: InternalScope, session: SessionDep) -> dict:
    return {"data": await service.sync_submission(session, scope, body.submission_id)}


@router.post("/pipeline-runs/fan-out", response_model=Envelope[FanOutResult])
async def fan_out(body: FanOutRequest, scope: InternalScope, session: SessionDep, request: Request) -> dict:
    """Child runs for the discovered entities, deduplicated across the submission and queued from
    ``start_from_position``; the parent's later steps are skipped (they run in the children)."""
    return {"data": await service.fan_out(session, scope, _plans(request), body)}


@router.post("/entity-state/upsert", response_model=Envelope[dict[str, Any]])
async def upsert_entity(
    body: EntityUpsertRequest, scope: InternalScope, session: SessionDep, request: Request
) -> dict:
    return {"data": await service.upsert_entity(session, scope, _plans(request), body)}


@router.post("/entity-state/check-freshness", response_model=Envelope[Freshness])
async def check_freshness(body: FreshnessRequest, scope: InternalScope, session: SessionDep) -> dict:
    return {"data": await service.check_freshness(session, scope, body)}


@router.post("/entity-timeline/record-step-event", response_model=Envelope[StepEventResult])
async def record_step_event(body: StepEventRequest, scope: InternalScope, session: SessionDep) -> dict:
    return {"data": await service.record_step_event(session, scope, body)}
