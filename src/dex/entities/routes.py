"""Entity endpoints (``/api/v1/entities/*``): queries, timeline, snapshots, change
detection and export. All accept tenant and super-admin credentials; a super-admin names the org."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from dex.entities import service
from dex.entities.export import MEDIA_TYPES, export_response
from dex.entities.schemas import (
    ChangesRequest,
    CompanyEntityOut,
    CompanyQuery,
    CursorPageRequest,
    EntityPage,
    ExportRequest,
    PersonEntityOut,
    PersonQuery,
    SnapshotList,
    SnapshotOut,
    SnapshotQuery,
    TimelineEventOut,
    TimelinePage,
    TimelineQuery,
)
from dex.kit.deps import SessionDep
from dex.kit.envelopes import Envelope
from dex.operations.catalog.changes import ChangeReport
from dex.tenancy.auth import FlexibleAuth, tenant_scope

router = APIRouter(prefix="/api/v1/entities", tags=["entities"])


def _page(page: service.CursorPage, paging: CursorPageRequest, item_model: Any) -> dict[str, Any]:
    return {
        "items": [item_model.model_validate(row) for row in page.items],
        "pagination": {
            "page": paging.page,
            "per_page": paging.per_page,
            "returned": len(page.items),
            "total": page.total,
            "next_cursor": page.next_cursor,
        },
    }


@router.post("/companies", response_model=Envelope[EntityPage[CompanyEntityOut]])
async def companies(body: CompanyQuery, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    page = await service.EntityReads(session, scope).companies(body)
    return {"data": _page(page, body, CompanyEntityOut)}


@router.post("/persons", response_model=Envelope[EntityPage[PersonEntityOut]])
async def persons(body: PersonQuery, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    page = await service.EntityReads(session, scope).persons(body)
    return {"data": _page(page, body, PersonEntityOut)}


@router.post("/timeline", response_model=Envelope[TimelinePage])
async def timeline(body: TimelineQuery, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    page = await service.EntityReads(session, scope).timeline(body)
    return {
        "data": {
            "entity_type": body.entity_type,
            "entity_id": body.entity_id,
            **_page(page, body, TimelineEventOut),
        }
    }


@router.post("/snapshots", response_model=Envelope[SnapshotList])
async def snapshots(body: SnapshotQuery, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    items, total = await service.EntityReads(session, scope).snapshots(
        body.entity_type, body.entity_id, body.limit
    )
    return {
        "data": {
            "entity_type": body.entity_type,
            "entity_id": body.entity_id,
            "items": [SnapshotOut.model_validate(row) for row in items],
            "returned": len(items),
            "total": total,
        }
    }


@router.post("/changes", response_model=Envelope[ChangeReport])
async def changes(body: ChangesRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return {"data": await service.detect_changes(session, scope, body)}


@router.post(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {media_type: {} for media_type in MEDIA_TYPES.values()}}},
)
async def export(body: ExportRequest, auth: FlexibleAuth, request: Request) -> StreamingResponse:
    """Every entity of the org (of the caller's company for company-scoped roles) as CSV or JSONL per the
    export contract v1, streamed. In CSV, a text cell a spreadsheet would run as a formula (starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading single quote; numbers,
    and text that is only a signed number, are written as they are. JSONL carries values as stored."""
    scope = tenant_scope(auth, org_id=body.org_id)
    return export_response(request.app.state.db, scope, body)
