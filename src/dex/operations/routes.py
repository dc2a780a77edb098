from __future__ import annotations

from fastapi import APIRouter, Request

from dex.entities.history import OrgEntityHistory
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope
from dex.operations import service
from dex.operations.schemas import ExecuteRequest, OperationResultOut, RegistryOut, RegistryRequest
from dex.tenancy.auth import FlexibleAuth, tenant_scope

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.post("/execute", response_model=Envelope[OperationResultOut])
async def execute(
    body: ExecuteRequest, auth: FlexibleAuth, session: SessionDep, settings: SettingsDep, request: Request
) -> dict:
    """Run one operation now. Operation-level failures are still 200 with ``status: "failed"``."""
    scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
    result = await service.execute(
        session,
        auth=scope,
        runtime=request.app.state.providers,
        settings=settings,
        operation_id=body.operation_id,
        entity_type=body.entity_type,
        input_payload=body.input,
        options=body.options,
        history=OrgEntityHistory.in_session(session, scope),
    )
    return {"data": result.to_dict()}


@router.post("/registry/operations", response_model=Envelope[RegistryOut])
async def registry_operations(body: RegistryRequest, auth: FlexibleAuth) -> dict:
    operations = service.list_operations(entity_type=body.entity_type, produces_field=body.produces_field)
    return {"data": {"operations": operations, "count": len(operations)}}
