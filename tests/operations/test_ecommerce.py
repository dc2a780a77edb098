"""StoreLeads operations through ``POST /api/v1/execute``."""

from __future__ import annotations

import httpx
import pytest

from dex.operations.inputs import OperationInput
from dex.operations.registry import get_operation
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run


async def test_store_profile_from_a_website(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.enrich.ecommerce", {"website": "https://WWW.acme.io/shop"})
    assert result["status"] == "found"
    output = result["output"]
    assert output["merchant_name"] == "Acme" and output["source_provider"] == "storeleads"
    assert output["monthly_app_spend_cents"] > 0 and output["installed_apps"][0]["monthly_cost"]
    assert output["domain_state"] == "Active"
    assert sandbox.state.ledger[0].path == "/storeleads/domain/acme.io"


async def test_unknown_store_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, "company.enrich.ecommerce", {"company_domain": "acme.io"})
    assert result["status"] == "not_found" and result["output"] is None
    assert result["provider_attempts"][0]["http_status"] == 404


async def test_storeleads_failure_is_failed(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("storeleads", ["503"] * 3)
    result = await run(client, tenant, "company.enrich.ecommerce", {"company_domain": "acme.io"})
    assert result["status"] == "failed"


async def test_store_search_normalizes_filters_and_fans_out(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        client,
        tenant,
        "company.search.ecommerce",
        {"platform": " Shopify ", "country_code": "us", "page": "junk", "page_size": 500, "rank_max": "1000"},
    )
    assert result["status"] == "found"
    output = result["output"]
    assert output["page"] == 0 and 0 < output["result_count"] <= 50
    assert all(store["ecommerce_platform"] == "shopify" for store in output["results"])
    assert all(store["country_code"] == "US" for store in output["results"])
    query = sandbox.state.ledger[0]
    assert query.path == "/storeleads/domain"
    spec = get_operation("company.search.ecommerce")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "company"
    child = OperationInput(spec.fan_out.child_input(output["results"][0]))
    assert child.text("company_domain") == output["results"][0]["domain"]


async def test_store_search_sends_storeleads_filter_names(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.search.ecommerce", {"category": "/Apparel", "page_size": 2})
    assert result["status"] == "found" and result["output"]["result_count"] == 2
    # StoreLeads understood the category filter (``f:cat``): every store it returned is in it.
    stores = result["provider_attempts"][0]["raw_response"]["domains"]
    assert {tuple(store["categories"]) for store in stores} == {("/Apparel",)}


async def test_store_search_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, "company.search.ecommerce", {"app_installed": "Klaviyo"})
    assert result["status"] == "not_found"
    assert result["output"]["results"] == [] and result["output"]["result_count"] == 0


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.enrich.ecommerce", {"company_name": "Acme"}, ["company_domain"]),
        ("company.search.ecommerce", {"country_code": "US"}, ["platform|category|app_installed"]),
        ("company.search.ecommerce", {"platform": 3}, ["platform|category|app_installed"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)


@pytest.mark.parametrize(
    "body",
    [
        {"input": {"step_config": {"platform": "Shopify", "country_code": "us", "page_size": 3}}},
        {"input": {}, "options": {"platform": "Shopify", "country_code": "us", "page_size": 3}},
        # The input's own key comes before the step's configuration.
        {"input": {"platform": "shopify", "step_config": {"platform": "woocommerce", "country_code": "us"}}},
    ],
    ids=["input.step_config", "options", "input first"],
)
async def test_store_search_reads_its_filters_from_the_step_configuration(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, body: dict
) -> None:
    response = await client.post(
        "/api/v1/execute",
        json={"operation_id": "company.search.ecommerce", "entity_type": "company", **body},
        headers=tenant.headers,
    )
    result = response.json()["data"]
    assert result["status"] == "found", result
    stores = result["output"]["results"]
    assert stores and all(store["ecommerce_platform"] == "shopify" for store in stores)
    assert all(store["country_code"] == "US" for store in stores)
