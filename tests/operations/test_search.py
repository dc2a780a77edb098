"""``company.search`` and ``person.search`` against the sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dex.config import Settings
from dex.operations.catalog.search import PersonSearchResult, job_level_of
from dex.operations.engine import OperationResult
from dex.operations.registry import get_operation
from dex.providers.runtime import ProviderRuntime
from dex.sandbox.world import company_for_domain, staff
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_company_enrich import calls, run
from tests.operations.test_execute import execute

ACME = company_for_domain("acme.io")
ACME_STAFF = staff(ACME)
SALES_TIERS = [
    {"include_title": ["VP Sales"], "exclude_title": [], "location": [], "include_headline_search": False}
]


def answer(result: OperationResult, call: str) -> Any:
    """The provider's whole answer to ``call`` (``provider.action``), as its attempt kept it."""
    return next(a.raw_response for a in result.attempts if f"{a.provider}.{a.action}" == call)


# --- company.search ------------------------------------------------------------------------------------


async def test_company_search_accumulates_across_providers_and_dedupes(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = (await execute(client, tenant, "company.search", "company", {"query": "Acme"})).json()["data"]
    assert result["status"] == "found"
    # BlitzAPI has no free-text search (the query is no domain), so it is not asked; CompanyEnrich finds
    # the same eight companies Prospeo did, and each is kept once.
    assert [(a["provider"], a["status"]) for a in result["provider_attempts"]] == [
        ("prospeo", "found"),
        ("blitzapi", "skipped"),
        ("companyenrich", "found"),
    ]
    output = result["output"]
    assert output["result_count"] == len(output["results"]) == 8
    assert len({item["company_domain"] for item in output["results"]}) == 8
    assert {item["source_provider"] for item in output["results"]} == {"prospeo"}
    assert output["provider_order_used"] == ["prospeo", "companyenrich"]
    assert set(output["pagination"]) == {"prospeo", "companyenrich"}
    # Each result keeps the provider's own item for that company as ``raw``.
    hits = result["provider_attempts"][0]["raw_response"]["results"]
    assert [item["raw"] for item in output["results"]] == hits
    assert [item["raw"]["company"]["domain"] for item in output["results"]] == [
        item["company_domain"] for item in output["results"]
    ]


async def test_company_search_stops_once_the_limit_is_reached(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run(providers, tenant, sandbox_settings, "company.search", {"query": "Acme", "limit": "5"})
    assert calls(result) == ["prospeo.search_company"]
    assert result.output["result_count"] == 5


async def test_company_search_configured_order(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "company.search",
        {"query": "acme.io"},
        company_search_order="blitzapi,companyenrich",
    )
    # A domain-shaped query reaches BlitzAPI through its domain bridge.
    assert calls(result) == [
        "blitzapi.domain_to_linkedin",
        "blitzapi.enrich_company",
        "companyenrich.search_company",
    ]
    assert result.output["results"][0]["company_domain"] == "acme.io"
    assert result.output["results"][0]["source_provider"] == "blitzapi"
    # BlitzAPI's enrichment answers one company: that object is the result's ``raw``.
    assert result.output["results"][0]["raw"] == answer(result, "blitzapi.enrich_company")["company"]


async def test_company_search_results_from_companyenrich_keep_its_items(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "company.search",
        {"query": "Acme", "limit": "3"},
        company_search_order="companyenrich",
    )
    assert calls(result) == ["companyenrich.search_company"]
    items = answer(result, "companyenrich.search_company")["items"]
    assert [item["raw"] for item in result.output["results"]] == items[:3]
    assert [item["raw"]["domain"] for item in result.output["results"]] == [
        item["company_domain"] for item in result.output["results"]
    ]


async def test_company_search_provider_filters_pass_through(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    filters = {"prospeo": {"company": {"websites": {"include": ["acme.io", "globex.com"]}}}, "leadmagic": "x"}
    result = await run(providers, tenant, sandbox_settings, "company.search", {"provider_filters": filters})
    assert [item["company_domain"] for item in result.output["results"]] == ["acme.io", "globex.com"]
    assert result.output["provider_order_used"] == ["prospeo"]  # the others had nothing to search on


async def test_company_search_junk_paging_falls_back_to_defaults(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    noisy = {"query": "Acme", "page": "abc", "limit": "inf", "page_size": {"n": 1}, "company_domain": 7}
    result = await run(providers, tenant, sandbox_settings, "company.search", noisy)
    assert result.status == "found", result.error
    assert result.output["pagination"]["prospeo"]["current_page"] == 1
    assert result.output["result_count"] == 8


async def test_company_search_missing_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    body = {"query": "  ", "provider_filters": {}, "limit": 3}
    result = (await execute(client, tenant, "company.search", "company", body)).json()["data"]
    assert (result["status"], result["missing_inputs"]) == ("failed", ["query|provider_filters"])
    # Present but unusable (a number for the query, text for the filters): still nobody is asked.
    junk = {"query": 12, "provider_filters": "junk"}
    result = (await execute(client, tenant, "company.search", "company", junk)).json()["data"]
    assert result["status"] == "failed"
    assert {attempt["status"] for attempt in result["provider_attempts"]} == {"skipped"}
    assert sandbox.state.ledger == []


async def test_company_search_second_identical_call_is_served_from_cache(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    body = {"query": "Globex", "limit": 3}
    first = (await execute(client, tenant, "company.search", "company", body)).json()["data"]
    second = (await execute(client, tenant, "company.search", "company", body)).json()["data"]
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert second["output"] == first["output"]
    assert len(sandbox.state.ledger) == 1


def test_company_search_results_fan_out_into_companies() -> None:
    spec = get_operation("company.search")
    assert spec is not None and spec.fan_out is not None
    assert (spec.fan_out.list_key, spec.fan_out.child_entity_type) == ("results", "company")
    # The provider's item stays in the step output; a child starts from the canonical fields only.
    item = {"company_domain": "acme.io", "source_provider": "prospeo", "raw": {"company": {"id": 1}}}
    assert spec.fan_out.child_input(item) == {"company_domain": "acme.io", "source_provider": "prospeo"}


# --- person.search -------------------------------------------------------------------------------------


async def test_person_search_first_provider_with_results_wins(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = (await execute(client, tenant, "person.search", "person", {"domain": "acme.io"})).json()["data"]
    assert result["status"] == "found"
    assert [a["provider"] for a in result["provider_attempts"]] == ["prospeo"]
    output = result["output"]
    assert [item["full_name"] for item in output["results"]] == [p.full_name for p in ACME_STAFF]
    # Every contract key, ``raw`` being the provider's own item for that person.
    assert all(set(item) == set(PersonSearchResult.model_fields) for item in output["results"])
    hits = result["provider_attempts"][0]["raw_response"]["results"]
    assert [item["raw"] for item in output["results"]] == hits
    assert output["provider_order_used"] == ["prospeo"] and set(output["pagination"]) == {"prospeo"}


async def test_person_search_falls_through_providers_without_results(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0.0)
    result = await run(providers, tenant, sandbox_settings, "person.search", {"company_domain": "acme.io"})
    assert calls(result) == [
        "prospeo.search_person",
        "blitzapi.domain_to_linkedin",
        "blitzapi.employee_finder",
    ]
    assert result.output["provider_order_used"] == ["prospeo", "blitzapi"]
    assert result.output["results"][0]["source_provider"] == "blitzapi"
    people = answer(result, "blitzapi.employee_finder")["results"]
    assert [item["raw"] for item in result.output["results"]] == people


async def test_person_search_always_ends_with_leadmagic(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0.0)
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "person.search",
        {"company_domain": "acme.io"},
        person_search_order="prospeo",
    )
    assert calls(result) == ["prospeo.search_person", "leadmagic.employee_finder"]
    assert result.status == "found"
    employees = answer(result, "leadmagic.employee_finder")["employees"]
    assert [item["raw"] for item in result.output["results"]] == employees


async def test_person_search_job_title_plan(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    found = await run(
        providers,
        tenant,
        sandbox_settings,
        "person.search",
        {"company_domain": "acme.io", "job_title": "VP Sales"},
    )
    assert calls(found) == ["leadmagic.role_finder"]
    assert [item["full_name"] for item in found.output["results"]] == [ACME_STAFF[1].full_name]
    assert [item["raw"] for item in found.output["results"]] == [answer(found, "leadmagic.role_finder")]

    # LeadMagic misses → the configured order of Prospeo/CompanyEnrich → BlitzAPI with a derived job level.
    sandbox.set_hit_rates(leadmagic=0.0, prospeo=0.0, companyenrich=0.0)
    fallback = await run(
        providers,
        tenant,
        sandbox_settings,
        "person.search",
        {"company_domain": "acme.io", "job_title": "CEO"},
        person_search_order="companyenrich,blitzapi,prospeo",
    )
    assert calls(fallback) == [
        "leadmagic.role_finder",
        "companyenrich.search_person",
        "prospeo.search_person",
        "blitzapi.domain_to_linkedin",
        "blitzapi.employee_finder",
    ]
    assert [item["current_title"] for item in fallback.output["results"]] == ["Chief Executive Officer"]


async def test_person_search_cascade_uses_blitzapi_waterfall_only(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    body = {"company_domain": "acme.io", "cascade": SALES_TIERS, "job_title": "CEO"}
    result = await run(providers, tenant, sandbox_settings, "person.search", body)
    assert calls(result) == ["blitzapi.domain_to_linkedin", "blitzapi.waterfall_icp_search"]
    assert [item["full_name"] for item in result.output["results"]] == [ACME_STAFF[1].full_name]
    assert set(result.output["pagination"]) == {"blitzapi_waterfall"}
    # A waterfall hit wraps the person with the tier that matched: the whole hit is ``raw``.
    hits = answer(result, "blitzapi.waterfall_icp_search")["results"]
    assert [item["raw"] for item in result.output["results"]] == hits


async def test_person_search_step_options_work_like_inputs(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    by_option = await run(
        providers,
        tenant,
        sandbox_settings,
        "person.search",
        {"company_domain": "acme.io", "max_results": 50},
        options={"job_title": "VP Sales", "max_results": 1},
    )
    assert calls(by_option) == ["leadmagic.role_finder"]
    by_step_config = await run(
        providers,
        tenant,
        sandbox_settings,
        "person.search",
        {"company_domain": "acme.io", "step_config": {"max_results": "2"}},
    )
    assert by_step_config.output["result_count"] == 2


async def test_person_search_missing_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    body = {"job_title": "  ", "cascade": [], "location": [], "provider_filters": {}, "limit": 5}
    result = (await execute(client, tenant, "person.search", "person", body)).json()["data"]
    assert result["status"] == "failed"
    assert result["missing_inputs"] == [
        "query|company_domain|company_name|company_linkedin_url|job_title|job_level|job_function|location"
        "|cascade|provider_filters"
    ]
    assert sandbox.state.ledger == []


async def test_person_search_survives_a_noisy_context(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    noisy = {
        "company_domain": ["x"],
        "website": "https://acme.io",
        "limit": "lots",
        "page": -5,
        "max_results": float("nan"),
        "location": 7,
        "cascade": "nope",
        "provider_filters": [1],
        "job_level": {"a": 1},
    }
    result = await run(providers, tenant, sandbox_settings, "person.search", noisy)
    assert result.status == "found", result.error
    assert result.output["result_count"] == len(ACME_STAFF)


async def test_person_search_second_identical_call_is_served_from_cache(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    body = {"company_domain": "acme.io", "job_title": "VP Sales"}
    first = (await execute(client, tenant, "person.search", "person", body)).json()["data"]
    second = (await execute(client, tenant, "person.search", "person", body)).json()["data"]
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert second["output"] == first["output"]
    assert len(sandbox.state.ledger) == 1


def test_person_search_results_fan_out_into_people() -> None:
    spec = get_operation("person.search")
    assert spec is not None and spec.fan_out is not None
    assert (spec.fan_out.list_key, spec.fan_out.child_entity_type) == ("results", "person")
    item = {"full_name": "Ava Stone", "raw": {"person": {"person_id": "p1"}}}
    assert spec.fan_out.child_input(item) == {"full_name": "Ava Stone"}


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Chief Executive Officer", "C-Team"),
        ("Co-Founder", "C-Team"),
        ("President", "C-Team"),
        ("VP of Sales", "VP"),
        ("Vice President, Finance", "VP"),
        ("Director of Engineering", "Director"),
        ("Head of Marketing", "Director"),
        ("Sales Manager", "Manager"),
        ("Software Engineer", None),
    ],
)
def test_job_level_derived_from_title(title: str, level: str | None) -> None:
    assert job_level_of(title) == level
