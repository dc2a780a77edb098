"""FMCSA operations through ``POST /api/v1/execute`` against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from dex.operations.inputs import OperationInput
from dex.operations.registry import get_operation
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run


async def test_search_then_enrich_the_same_carrier(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    search = await run(
        client, tenant, "company.search.fmcsa", {"company_name": "Apex Freight"}, options={"max_results": 500}
    )
    assert search["status"] == "found"
    results = search["output"]["results"]
    assert search["output"]["result_count"] == len(results) and 0 < len(results) <= 50
    assert sandbox.state.ledger[0].path == "/fmcsa/carriers/name/Apex Freight"
    spec = get_operation("company.search.fmcsa")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "company"
    child = spec.fan_out.child_input(results[0])
    assert OperationInput(child).text("company_name") == results[0]["legal_name"]

    enriched = await run(client, tenant, "company.enrich.fmcsa", {"dot_number": int(child["dot_number"])})
    assert enriched["status"] == "found"
    output = enriched["output"]
    assert output["legal_name"] == results[0]["legal_name"] and output["source_provider"] == "fmcsa"
    assert output["total_power_units"] > 0 and output["basic_scores"]
    # "inconclusive" percentiles are no number, not a crash.
    assert any(score["percentile"] is None for score in output["basic_scores"]) or all(
        isinstance(score["percentile"], float) for score in output["basic_scores"]
    )
    assert [attempt["provider"] for attempt in enriched["provider_attempts"]] == ["fmcsa"]
    assert [entry.path.rsplit("/", 1)[-1] for entry in sandbox.state.ledger[1:]] == [
        child["dot_number"],
        "basics",
        "authority",
    ]


async def test_unknown_carrier_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    enriched = await run(client, tenant, "company.enrich.fmcsa", {"dot_number": "USDOT 1000010"})
    assert enriched["status"] == "not_found" and enriched["output"] is None
    # Nothing to enrich: the safety and authority calls were never made.
    assert len(sandbox.state.ledger) == 1
    search = await run(client, tenant, "company.search.fmcsa", {"carrier_name": "Apex"})
    assert search["status"] == "not_found" and search["output"]["results"] == []


async def test_unusable_dot_number_fails_without_a_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.enrich.fmcsa", {"dot_number": "n/a"})
    assert result["status"] == "failed" and sandbox.state.ledger == []


async def test_fmcsa_outage_is_failed(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("fmcsa", ["503"] * 3)
    result = await run(client, tenant, "company.enrich.fmcsa", {"dot_number": "1000010"})
    assert result["status"] == "failed" and result["provider_attempts"][0]["http_status"] == 503


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.enrich.fmcsa", {"company_name": "Apex"}, ["dot_number"]),
        ("company.search.fmcsa", {"legal_name": 3}, ["carrier_name|company_name"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)
