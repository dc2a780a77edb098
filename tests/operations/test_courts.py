"""CourtListener operations through ``POST /api/v1/execute`` against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run


async def test_court_filings_then_the_first_docket(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    filings = await run(
        client, tenant, "company.research.check_court_filings", {"company_name": " Acme Corp "}
    )
    assert filings["status"] == "found"
    output = filings["output"]
    assert output["court_filings"] == output["results"] and output["court_filing_count"] == 2
    assert {filing["source_provider"] for filing in output["results"]} == {"courtlistener"}
    search = sandbox.state.ledger[0]
    assert search.path == "/courtlistener/search/"

    # The docket detail reads the first listed docket off the previous step's output.
    detail = await run(client, tenant, "company.research.get_docket_detail", output)
    assert detail["status"] == "found"
    first = output["court_filings"][0]
    assert detail["output"]["docket_id"] == first["docket_id"]
    assert detail["output"]["case_name"] == first["case_name"] and "Acme Corp" in detail["output"]["parties"]
    assert detail["output"]["url"] == first["url"]


async def test_court_filters_reach_courtlistener(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    everything = await run(
        client, tenant, "company.research.check_court_filings", {"company_name": "Acme Corp"}
    )
    court = everything["output"]["results"][0]["court"]
    narrowed = await run(
        client,
        tenant,
        "company.research.check_court_filings",
        {"company_name": "Acme Corp", "step_config": {"court_type": court}},
    )
    assert {filing["court"] for filing in narrowed["output"]["results"]} == {court}
    later = await run(
        client,
        tenant,
        "company.research.check_court_filings",
        {"company_name": "Acme Corp"},
        options={"date_filed_gte": "2030-01-01"},
    )
    assert later["status"] == "not_found" and later["output"]["result_count"] == 0


async def test_bankruptcy_scan_pages_through_the_window(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        client,
        tenant,
        "company.signal.bankruptcy_filings",
        {},
        options={"date_filed_gte": "2025-03-01", "date_filed_lte": "2025-03-14", "courts": ["deb", "nysb"]},
    )
    assert result["status"] == "found"
    petitions = result["output"]["results"]
    assert petitions and {p["court"] for p in petitions} <= {"deb", "nysb"}
    assert all("2025-03-01" <= p["date_filed"] <= "2025-03-14" for p in petitions)
    assert len({p["docket_id"] for p in petitions}) == len(petitions) == result["output"]["result_count"]
    assert [entry.path for entry in sandbox.state.ledger] == ["/courtlistener/dockets/"] * len(
        sandbox.state.ledger
    )


async def test_unknown_docket_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, "company.research.get_docket_detail", {"docket_id": "12"})
    assert result["status"] == "not_found" and result["provider_attempts"][0]["http_status"] == 404


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.research.check_court_filings", {"company_domain": "acme.io"}, ["company_name"]),
        ("company.signal.bankruptcy_filings", {"date_filed_lte": "2025-01-01"}, ["date_filed_gte"]),
        (
            "company.research.get_docket_detail",
            {"company_name": "Acme"},
            ["docket_id|court_filings|bankruptcy_filings|results"],
        ),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)
