"""Steps the operation tests share: execute one operation over the API and read its result, and the check
that an operation lacking its inputs fails before any provider is called."""

from __future__ import annotations

from collections.abc import Coroutine
from functools import partial
from typing import Any

import httpx

from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute


async def run(
    client: httpx.AsyncClient,
    tenant: Tenant,
    operation_id: str,
    input_: dict,
    *,
    entity_type: str = "company",
    **extra: object,
) -> dict:
    """The operation result of a ``POST /api/v1/execute`` that must answer 200."""
    response = await execute(client, tenant, operation_id, entity_type, input_, **extra)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def assert_missing_inputs_make_no_call(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sandbox: SandboxHandle,
    operation_id: str,
    input_: dict,
    missing: list[str],
    *,
    entity_type: str = "company",
) -> dict:
    """The operation fails naming exactly ``missing`` and no request reaches the sandbox."""
    result = await run(client, tenant, operation_id, input_, entity_type=entity_type)
    assert (result["status"], result["missing_inputs"]) == ("failed", missing)
    assert sandbox.state.ledger == []
    return result


# That check bound to one test's client, tenant and sandbox: the ``missing_inputs_make_no_call`` fixture.
MissingInputsCheck = partial[Coroutine[Any, Any, dict]]
