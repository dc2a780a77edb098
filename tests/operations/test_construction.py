"""Shovels operations through ``POST /api/v1/execute`` against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from dex.operations.inputs import OperationInput
from dex.operations.registry import get_operation
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run
from tests.operations.test_execute import execute

WINDOW = {"permit_from": "2025-01-01", "permit_to": "2025-03-31"}


async def test_from_a_city_to_its_permits_contractors_and_their_people(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    cities = await run(
        client, tenant, "market.search.cities", {}, options={"state": "ca", "name_contains": "fres"}
    )
    assert cities["status"] == "found"
    assert [(c["name"], c["state"]) for c in cities["output"]["results"]] == [("Fresno", "CA")]
    geo_id = cities["output"]["results"][0]["geo_id"]

    permits = await run(
        client,
        tenant,
        "permit.search",
        {"step_config": {**WINDOW, "geo_id": geo_id, "permit_tags": ["solar"]}},
    )
    assert permits["status"] == "found"
    assert all("SOLAR" in p["description"] for p in permits["output"]["results"])
    assert sandbox.state.ledger[-1].path == "/shovels/v2/permits/search"
    contractor_id = permits["output"]["results"][0]["contractor_id"]

    contractor = await run(client, tenant, "contractor.enrich", {"contractor_id": contractor_id})
    assert contractor["status"] == "found" and contractor["output"]["id"] == contractor_id
    employees = await run(
        client, tenant, "contractor.search.employees", {"contractor_id": contractor_id}, options={"size": 500}
    )
    assert employees["status"] == "found" and employees["output"]["employee_count"] > 0
    spec = get_operation("contractor.search.employees")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "person"
    child = OperationInput(spec.fan_out.child_input(employees["output"]["employees"][0]))
    assert child.text("full_name") and child.text("work_email")

    contractors = await run(client, tenant, "contractor.search", {**WINDOW, "geo_id": geo_id})
    assert contractors["status"] == "found"
    spec = get_operation("contractor.search")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "company"
    child = OperationInput(spec.fan_out.child_input(contractors["output"]["results"][0]))
    assert child.text("company_domain") and child.text("company_name")


async def test_market_metrics_and_details(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    monthly = await run(
        client,
        tenant,
        "market.enrich.metrics_monthly",
        {"geo_id": "TX-city-austin"},
        options={"geo_type": "City", "start_date": "2025-01-01", "end_date": "2025-06-30"},
    )
    assert monthly["status"] == "found" and monthly["output"]["metric"] == "all"
    assert len(monthly["output"]["data_points"]) == 6
    current = await run(
        client, tenant, "market.enrich.metrics_current", {"geo_id": "TX-city-austin", "geo_type": "city"}
    )
    assert current["status"] == "found" and current["output"]["metrics"]["permit_count"] > 0
    detail = await run(
        client,
        tenant,
        "market.enrich.geo_detail",
        {"geo_id": "TX-county-travis-county", "geo_type": "county"},
    )
    assert detail["status"] == "found"
    assert (detail["output"]["name"], detail["output"]["state"]) == ("Travis County", "TX")
    assert detail["output"]["details"]["geo_id"] == "TX-county-travis-county"


async def test_address_and_its_residents(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    found = await run(client, tenant, "address.search", {"q": "123 Main St TX"}, options={"city": "Austin"})
    assert found["status"] == "found"
    assert [a["city"] for a in found["output"]["results"]] == ["Austin"]
    residents = await run(
        client, tenant, "address.search.residents", {"geo_id": found["output"]["results"][0]["geo_id"]}
    )
    assert residents["status"] == "found" and residents["output"]["resident_count"] > 0
    assert residents["output"]["residents"][0]["personal_emails"]


async def test_unknown_contractor_and_geography_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    contractor = await run(client, tenant, "contractor.enrich", {"contractor_id": "C-CA-0001"})
    assert contractor["status"] == "not_found" and contractor["output"] is None
    detail = await run(
        client, tenant, "market.enrich.geo_detail", {"geo_id": "CA-city-fresno", "geo_type": "city"}
    )
    assert detail["status"] == "not_found" and detail["provider_attempts"][0]["http_status"] == 404


async def test_shovels_operations_are_company_operations(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await execute(client, tenant, "permit.search", "person", {"geo_id": "CA"})
    assert response.status_code == 400
    assert response.json() == {"error": "entity_type must be company for shovels operations"}


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("permit.search", {"geo_id": "CA", "permit_from": " "}, ["permit_from", "permit_to"]),
        ("contractor.enrich", {"company_name": "Acme"}, ["contractor_id"]),
        ("market.search.zipcodes", {"zipcode_contains": "9"}, ["state"]),
        ("market.enrich.metrics_monthly", {"geo_id": "CA", "geo_type": "city"}, ["start_date", "end_date"]),
        (
            "market.enrich.geo_detail",
            {"geo_id": "addr-1", "geo_type": "address"},
            ["geo_type_supported_values_city_county_jurisdiction"],
        ),
        ("address.search", {"city": "Austin"}, ["q"]),
        ("address.search.residents", {"q": "x"}, ["geo_id"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)
