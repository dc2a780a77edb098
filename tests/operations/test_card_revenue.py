"""``company.enrich.card_revenue`` (Enigma GraphQL: match, then analytics) through the execute API."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SandboxHandle, Tenant
from tests.operations import helpers
from tests.operations.helpers import MissingInputsCheck

OPERATION = "company.enrich.card_revenue"


async def run(client: httpx.AsyncClient, tenant: Tenant, input_: dict, **extra: object) -> dict:
    return await helpers.run(client, tenant, OPERATION, input_, **extra)


async def test_card_revenue_found_with_months_back_option(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        client, tenant, {"company_name": "Acme", "website": "acme.io"}, options={"months_back": 6}
    )
    assert result["status"] == "found"
    output = result["output"]
    assert output["brand_name"] == "Acme" and output["location_count"] >= 1
    assert isinstance(output["annual_card_revenue"], float)
    assert len(output["monthly_revenue"]) == len(output["monthly_refunds"]) == 6
    assert [a["action"] for a in result["provider_attempts"]] == ["match_business", "get_card_analytics"]


async def test_months_back_from_step_config_is_clamped(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, {"company_domain": "acme.io", "step_config": {"months_back": "99"}})
    assert len(result["output"]["monthly_revenue"]) == 24


async def test_brand_without_analytics_is_still_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    await run(client, tenant, {"company_domain": "acme.io"})  # the brand match is now cached
    sandbox.state.script_faults("enigma", ["500", "500", "500"])
    result = await run(client, tenant, {"company_domain": "acme.io"}, options={"months_back": 3})
    assert result["status"] == "found"
    assert result["output"]["enigma_brand_id"] and result["output"]["annual_card_revenue"] is None
    assert result["output"]["monthly_revenue"] == []
    assert [a["status"] for a in result["provider_attempts"]] == ["found", "failed"]


async def test_unknown_brand_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, {"company_name": "Acme"})
    assert result["status"] == "not_found" and result["output"] is None
    assert len(result["provider_attempts"]) == 1


async def test_enigma_failure_is_failed(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("enigma", ["malformed"])
    result = await run(client, tenant, {"company_name": "Acme"})
    assert result["status"] == "failed"


@pytest.mark.parametrize(
    ("input_", "missing"),
    [
        ({"name": "Acme"}, ["company_name|company_domain"]),
        ({"company_name": 5}, ["company_name|company_domain"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(OPERATION, input_, missing)
