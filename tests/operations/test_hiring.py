"""TheirStack operations through ``POST /api/v1/execute`` against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from dex.operations.inputs import OperationInput
from dex.operations.registry import get_operation
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run


async def test_tech_stack_and_hiring_signals(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    stack = await run(client, tenant, "company.enrich.tech_stack", {"website": "https://www.acme.io/about"})
    assert stack["status"] == "found"
    assert stack["output"]["technology_count"] == len(stack["output"]["technologies"]) > 0
    signals = await run(client, tenant, "company.enrich.hiring_signals", {"company_domain": "acme.io"})
    assert signals["status"] == "found"
    output = signals["output"]
    assert output["domain"] == "acme.io" and output["num_jobs"] > 0 and output["recent_job_titles"]
    # The two views of one company agree: the posts name the technologies the stack lists.
    assert set(output["technology_slugs"]) == {tech["slug"] for tech in stack["output"]["technologies"]}


async def test_unknown_company_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    stack = await run(client, tenant, "company.enrich.tech_stack", {"company_name": "Acme"})
    assert stack["status"] == "not_found" and stack["output"]["technologies"] == []
    signals = await run(client, tenant, "company.enrich.hiring_signals", {"company_domain": "acme.io"})
    assert signals["status"] == "not_found" and signals["output"] is None


async def test_search_by_tech_stack_filters_and_fans_out(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        client,
        tenant,
        "company.search.by_tech_stack",
        {},
        options={"technology_slug_or": ["snowflake"], "min_employee_count": 0, "limit": 1000},
    )
    assert result["status"] == "found"
    companies = result["output"]["results"]
    assert companies and all("snowflake" in company["technology_slugs"] for company in companies)
    assert result["output"]["result_count"] <= 200
    spec = get_operation("company.search.by_tech_stack")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "company"
    child = OperationInput(spec.fan_out.child_input(companies[0]))
    assert child.text("company_domain") == companies[0]["domain"]


async def test_job_search_across_countries_with_hiring_team(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    filters = {
        "posted_at_max_age_days": 60,
        "job_country_code_or": ["US", "GB"],
        "remote": False,
        "limit": 50,
    }
    result = await run(client, tenant, "job.search", {"step_config": filters})
    assert result["status"] == "found", result
    output = result["output"]
    jobs = output["results"]
    assert output["result_count"] == len(jobs) > 0 and output["total_results"] >= len(jobs)
    assert all(set(job["country_codes"]) & {"US", "GB"} for job in jobs)
    # false is a filter value, not an absent one.
    assert all(job["remote"] is False for job in jobs)
    job = jobs[0]
    assert job["job_id"] == job["theirstack_job_id"] and job["company_object"]["theirstack_company_id"]
    assert job["hiring_team"][0]["linkedin_url"].startswith("https://www.linkedin.com/in/")
    assert job["locations"][0]["country_code"] in {"US", "GB"}
    spec = get_operation("job.search")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "company"
    assert OperationInput(spec.fan_out.child_input(job)).text("company_domain") == job["company_domain"]


async def test_jobs_of_named_companies_by_job_postings(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        client,
        tenant,
        "company.search.by_job_postings",
        {},
        options={"company_domain_or": ["acme.io", "globex.com"], "limit": 500},
    )
    assert result["status"] == "found"
    output = result["output"]
    assert {job["company_domain"] for job in output["results"]} == {"acme.io", "globex.com"}
    assert output["total_companies"] == 2
    # The limit was clamped to TheirStack's 200 for this operation.
    assert output["result_count"] <= 200


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        (
            "company.enrich.tech_stack",
            {"employee_count": 3},
            ["company_domain|company_name|company_linkedin_url"],
        ),
        ("company.enrich.hiring_signals", {"company_name": "Acme"}, ["company_domain"]),
        (
            "company.search.by_tech_stack",
            {"limit": 5, "industry_or": []},
            [
                "|".join(
                    (
                        "technology_slug_or",
                        "industry_or",
                        "min_employee_count",
                        "max_employee_count",
                        "company_country_code_or",
                        "job_title_or",
                    )
                )
            ],
        ),
        (
            "job.search",
            {"step_config": {"job_title_or": ["engineer"]}},
            [
                "|".join(
                    (
                        "posted_at_max_age_days",
                        "posted_at_gte",
                        "posted_at_lte",
                        "company_domain_or",
                        "company_linkedin_url_or",
                        "company_name_or",
                    )
                )
            ],
        ),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)
