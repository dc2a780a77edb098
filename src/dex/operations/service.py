"""``/api/v1/execute``: validate the request against the registry, run the operation, record it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.errors import BadRequest
from dex.operations.engine import OperationResult, execute_operation
from dex.operations.history import EntityHistory
from dex.operations.registry import OperationSpec, get_operation, registry
from dex.operations.repository import (
    operation_run_row,
    org_has_budget,
    record_operation_runs,
)
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.context import AuthContext, requester_for

# The operation families Shovels answers; the seed system names them "shovels operations" in its errors.
SHOVELS_FAMILIES = ("permit", "contractor", "market", "address")


def resolve_operation(operation_id: str, entity_type: str) -> OperationSpec:
    spec = get_operation(operation_id)
    if spec is None:
        raise BadRequest(f"Unsupported operation_id: {operation_id}")
    if spec.entity_type != entity_type:
        family = operation_id.split(".")[0]
        kind = "shovels" if family in SHOVELS_FAMILIES else spec.entity_type
        raise BadRequest(f"entity_type must be {spec.entity_type} for {kind} operations")
    return spec


def cache_enabled(options: dict[str, Any]) -> bool:
    return not (options.get("bypass_cache") is True or options.get("cache") is False)


async def execute(
    session: AsyncSession,
    *,
    auth: AuthContext,
    runtime: ProviderRuntime,
    settings: Settings,
    operation_id: str,
    entity_type: str,
    input_payload: dict[str, Any],
    options: dict[str, Any] | None,
    history: EntityHistory | None = None,
) -> OperationResult:
    spec = resolve_operation(operation_id, entity_type)
    auth.own_company_id()  # a company-scoped caller without a company is refused before any spend
    options = options or {}
    providers = runtime.context(
        auth.org_id,
        use_cache=cache_enabled(options),
        requester=requester_for(auth),
        budgeted=await org_has_budget(session, auth.org_id),
    )
    result = await execute_operation(
        spec, input_payload, providers=providers, settings=settings, options=options, history=history
    )
    if providers.budget_refused is not None:
        # What was asked before the refusal stays recorded (and paid for); the answer is not given from
        # part of the waterfall.
        result.status, result.output = "failed", None
        result.error = {
            "code": "budget_exhausted",
            "message": f"the org's budget does not fit a call of {providers.budget_refused:f} credits",
        }
    await record_operation_runs(session, [operation_run_row(result, auth=auth, input_payload=input_payload)])
    return result


def list_operations(*, entity_type: str | None, produces_field: str | None) -> list[dict[str, Any]]:
    return [
        spec.describe()
        for spec in registry().values()
        if (entity_type is None or spec.entity_type == entity_type)
        and (produces_field is None or produces_field in spec.produces)
    ]
