"""Every operation the reference system had beyond the seeds' 24, end to end on the sandbox: through
``POST /api/v1/execute`` and as a blueprint step (fanning out where it declares a fan-out), each with a
clean status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from dex.operations.registry import get_operation
from dex.sandbox import market
from tests.conftest import PipelineHarness, SandboxHandle, Tenant
from tests.operations.test_execute import execute
from tests.operations.test_registry import REFERENCE_OPERATIONS, SEED_OPERATIONS

QUILL = {"company_domain": "quill.io", "company_name": "Quill", **market.sec_filings("quill.io")["filings"]}
WINDOW = {"permit_from": "2025-01-01", "permit_to": "2025-01-31", "geo_id": "CA-city-fresno", "size": 3}


@dataclass(frozen=True)
class Case:
    operation_id: str
    input: dict[str, Any]
    step_config: dict[str, Any] = field(default_factory=dict)
    # Change detection on an empty history finds nothing to compare: a clean not_found.
    statuses: tuple[str, ...] = ("found",)

    @property
    def entity_type(self) -> str:
        return "person" if self.operation_id.startswith("person.") else "company"


SEED = {"company_name": "Seed Holdings"}
CASES = [
    Case("company.derive.detect_changes", {"company_domain": "acme.io"}, statuses=("found", "not_found")),
    Case("person.derive.detect_changes", {"work_email": "ava@acme.io"}, statuses=("found", "not_found")),
    Case("company.enrich.fmcsa", {"dot_number": 1000010}),
    Case("company.search.fmcsa", {"company_name": "Apex Freight"}, {"max_results": 3}),
    Case("company.enrich.tech_stack", {"company_domain": "acme.io"}),
    Case("company.enrich.hiring_signals", {"company_domain": "acme.io"}),
    Case("company.search.by_tech_stack", SEED, {"technology_slug_or": ["snowflake"], "limit": 3}),
    Case("company.search.by_job_postings", SEED, {"company_domain_or": ["acme.io"], "limit": 3}),
    Case("job.search", SEED, {"posted_at_max_age_days": 45, "job_country_code_or": ["US", "GB"], "limit": 3}),
    Case("company.research.check_court_filings", {"company_name": "Acme Corp"}),
    Case("company.research.get_docket_detail", {"docket_id": 61234567}),
    Case(
        "company.signal.bankruptcy_filings",
        SEED,
        {"date_filed_gte": "2025-06-01", "date_filed_lte": "2025-06-03"},
    ),
    Case("company.research.fetch_sec_filings", {"company_domain": "quill.io"}),
    Case("company.analyze.sec_10k", QUILL),
    Case("company.analyze.sec_10q", QUILL),
    Case("company.analyze.sec_8k_executive", QUILL),
    Case("permit.search", SEED, WINDOW),
    Case("contractor.enrich", {"contractor_id": "C-CA-0001"}),
    Case("contractor.search", SEED, WINDOW),
    Case("contractor.search.employees", {"contractor_id": "C-CA-0001"}, {"size": 3}),
    Case("market.search.cities", SEED, {"state": "CA"}),
    Case("market.search.counties", SEED, {"state": "TX", "name_contains": "travis"}),
    Case("market.search.zipcodes", SEED, {"state": "NY"}),
    Case("market.search.jurisdictions", SEED, {"state": "WA"}),
    Case(
        "market.enrich.metrics_monthly",
        {"geo_id": "CA-city-fresno"},
        {"geo_type": "city", "start_date": "2025-01-01", "end_date": "2025-03-31"},
    ),
    Case("market.enrich.metrics_current", {"geo_id": "CA-city-fresno"}, {"geo_type": "city"}),
    Case("market.enrich.geo_detail", {"geo_id": "CA-city-fresno"}, {"geo_type": "city"}),
    Case("address.search", SEED, {"q": "123 Main St TX"}),
    Case("address.search.residents", {"geo_id": "addr-02c1a13b0150"}, {"size": 2}),
]


def test_the_cases_cover_every_new_operation() -> None:
    assert {case.operation_id for case in CASES} == REFERENCE_OPERATIONS - SEED_OPERATIONS


async def test_the_registry_endpoint_lists_all_53(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/api/v1/registry/operations", json={}, headers=tenant.headers)
    assert response.status_code == 200
    listed = {entry["operation_id"]: entry for entry in response.json()["data"]["operations"]}
    assert set(listed) >= REFERENCE_OPERATIONS
    assert listed["job.search"]["fan_out_entity_type"] == "company"
    assert listed["address.search.residents"]["fan_out_entity_type"] == "person"
    assert listed["permit.search"]["entity_type"] == "company"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.operation_id)
async def test_execute(case: Case, client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle) -> None:
    response = await execute(
        client, tenant, case.operation_id, case.entity_type, case.input, options=case.step_config
    )
    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert result["status"] in case.statuses, result
    assert not result.get("error")


async def test_every_operation_as_a_blueprint_step(pipeline: PipelineHarness) -> None:
    submissions = {}
    for case in CASES:
        spec = get_operation(case.operation_id)
        assert spec is not None
        step = {"position": 1, "operation_id": case.operation_id, "step_config": case.step_config}
        if spec.fan_out is not None:
            step["fan_out"] = True
        steps = [step]
        if case.operation_id.startswith("company.analyze.sec_"):
            # The analyses read the filing an earlier step listed.
            steps = [
                {"position": 1, "operation_id": "company.research.fetch_sec_filings"},
                {**step, "position": 2},
            ]
        blueprint = await pipeline.blueprint(case.operation_id, steps, entity_type=case.entity_type)
        entity = {"company_domain": "quill.io"} if len(steps) == 2 else case.input
        submissions[case.operation_id] = await pipeline.submit(blueprint, [entity], case.entity_type)
    await pipeline.run_until_idle(timeout=120)
    for operation_id, submission in submissions.items():
        status = await pipeline.status(submission)
        root = status["runs"][0]
        assert root["status"] == "completed", (operation_id, root["error_message"])
        spec = get_operation(operation_id)
        assert spec is not None
        if spec.fan_out is not None:
            assert root["children"], operation_id
            assert all(child["status"] == "completed" for child in root["children"]), operation_id
            assert {child["entity_type"] for child in root["children"]} == {spec.fan_out.child_entity_type}
