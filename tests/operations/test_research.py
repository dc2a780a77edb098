"""Company research operations through ``POST /api/v1/execute`` against the sandbox: HQ lookups (with
their fan-out declarations), VC funding and the LLM URL resolvers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.operations.catalog.research import g2_page, pricing_page
from dex.operations.inputs import OperationInput
from dex.operations.registry import get_operation
from dex.providers.runtime import ProviderRuntime
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run

# operation → (list key, count key, the child input key every fanned-out item must carry)
LIST_LOOKUPS = {
    "company.research.discover_competitors": ("competitors", "competitor_count", "company_domain"),
    "company.research.find_similar_companies": ("similar_companies", "similar_count", "company_domain"),
    "company.research.lookup_customers": ("customers", "customer_count", "company_domain"),
    "company.research.lookup_alumni": ("alumni", "alumni_count", "linkedin_url"),
    "company.research.lookup_champions": ("champions", "champion_count", "full_name"),
    "company.research.lookup_champion_testimonials": ("champions", "champion_count", "full_name"),
}
# A pipeline context as noisy as they come: website-shaped domain, values of every JSON type.
NOISY_COMPANY = {
    "website": "HTTPS://www.Acme.io/about?ref=x",
    "company_name": "  Acme  ",
    "company_linkedin_url": 42,
    "employee_count": "lots",
    "results": [None, 1],
    "company_profile": {"company_domain": "other.io"},
}


@pytest.mark.parametrize("operation_id", LIST_LOOKUPS)
async def test_list_lookup_found_from_noisy_context(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    list_key, count_key, child_key = LIST_LOOKUPS[operation_id]
    result = await run(client, tenant, operation_id, NOISY_COMPANY)
    assert result["status"] == "found", result
    output = result["output"]
    assert output[count_key] == len(output[list_key]) > 0
    assert output["source_provider"] == "revenueinfra"
    # The scheme, www. and path were stripped before HQ was asked (the reference sent them through).
    assert result["provider_attempts"][0]["raw_response"]["domain"] == "acme.io"
    # Every item becomes a usable child input of the declared entity type.
    spec = get_operation(operation_id)
    assert spec is not None and spec.fan_out is not None and spec.fan_out.list_key == list_key
    for item in output[list_key]:
        child = OperationInput(spec.fan_out.child_input(item))
        assert child.text(child_key), item


async def test_customers_fan_out_as_companies_with_canonical_keys(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.research.lookup_customers", {"domain": "acme.io"})
    spec = get_operation("company.research.lookup_customers")
    assert spec is not None and spec.fan_out is not None
    assert spec.fan_out.child_entity_type == "company"
    customers = result["output"]["customers"]
    # HQ's unresolved "A Fortune 500 retailer" has no domain: dropped, and not counted.
    assert all(c["customer_domain"] for c in customers)
    assert result["output"]["customer_count"] == len(customers)
    child = spec.fan_out.child_input(customers[0])
    assert child["company_domain"] == customers[0]["customer_domain"]
    assert child["company_name"] == customers[0]["customer_name"]


async def test_alumni_fan_out_as_people_at_their_current_company(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.research.lookup_alumni", {"company_domain": "acme.io"})
    spec = get_operation("company.research.lookup_alumni")
    assert spec is not None and spec.fan_out is not None and spec.fan_out.child_entity_type == "person"
    alumnus = result["output"]["alumni"][0]
    assert alumnus["past_company_domain"] == "acme.io"
    child = OperationInput(spec.fan_out.child_input(alumnus))
    assert child.text("company_domain") == alumnus["current_company_domain"] != "acme.io"
    assert child.text("job_title") == alumnus["current_job_title"]


@pytest.mark.parametrize("operation_id", LIST_LOOKUPS)
async def test_list_lookup_not_found_has_an_empty_list(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    sandbox.configure(hit_rate=0.0)
    list_key, count_key, _ = LIST_LOOKUPS[operation_id]
    result = await run(client, tenant, operation_id, {"company_domain": "acme.io", "company_name": "Acme"})
    assert result["status"] == "not_found"
    assert result["output"] == {list_key: [], count_key: 0, "source_provider": "revenueinfra"}


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.research.lookup_customers", {"company_domain": "   ", "domain": None}, ["company_domain"]),
        ("company.research.discover_competitors", {"domain": "acme.io"}, ["company_name"]),
        ("company.research.discover_competitors", {"company_name": "Acme"}, ["company_domain"]),
        # Noise from a pipeline context is no value: a number or a list where text belongs.
        ("company.research.check_vc_funding", {"company_domain": 17}, ["company_domain"]),
        (
            "company.research.resolve_pricing_page_url",
            {"company_name": ["Acme"]},
            ["company_name"],
        ),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    result = await missing_inputs_make_no_call(operation_id, input_, missing)
    assert result["provider_attempts"] == []


async def test_hq_failure_is_failed_not_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("revenueinfra", ["500", "502", "503"])
    result = await run(client, tenant, "company.research.find_similar_companies", {"domain": "acme.io"})
    assert result["status"] == "failed" and result["output"] is None
    assert result["provider_attempts"][0]["http_status"] == 503


async def test_vc_funding_found_either_way(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    known = await run(client, tenant, "company.research.check_vc_funding", {"company_domain": "acme.io"})
    assert known["status"] == "found"
    assert known["output"]["vc_count"] >= len(known["output"]["vc_names"])
    sandbox.configure(hit_rate=0.0)
    unknown = await run(client, tenant, "company.research.check_vc_funding", {"company_domain": "globex.io"})
    # "Has not raised" is an answer, not an absence of one.
    assert unknown["status"] == "found"
    assert unknown["output"]["has_raised_vc"] is False and unknown["output"]["vc_count"] == 0


# --- LLM URL resolvers -----------------------------------------------------------------------------------


async def test_g2_url_found_by_gemini(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "company.research.resolve_g2_url", NOISY_COMPANY)
    assert result["status"] == "found"
    assert result["output"] == {
        "company_name": "Acme",
        "company_domain": "acme.io",
        "g2_url": "https://www.g2.com/products/acme/reviews",
        "confidence": 0.9,
        "provider_used": "gemini",
    }
    assert [a["provider"] for a in result["provider_attempts"]] == ["gemini"]


async def test_pricing_page_falls_back_to_openai_when_gemini_fails(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("gemini", ["500", "500", "500"])
    result = await run(
        client,
        tenant,
        "company.research.resolve_pricing_page_url",
        {"company_name": "Acme", "company_domain": "acme.io"},
    )
    assert result["status"] == "found"
    assert result["output"]["provider_used"] == "openai"
    assert result["output"]["pricing_page_url"] in ("https://acme.io/pricing", "https://www.acme.io/pricing")
    assert [(a["provider"], a["status"]) for a in result["provider_attempts"]] == [
        ("gemini", "failed"),
        ("openai", "found"),
    ]


async def test_url_not_found_when_every_llm_declines(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, "company.research.resolve_g2_url", {"company_name": "Acme"})
    assert result["status"] == "not_found"
    assert result["output"]["g2_url"] is None and result["output"]["confidence"] == 0.0
    assert [a["provider"] for a in result["provider_attempts"]] == ["gemini", "openai"]


async def test_url_resolver_is_not_found_when_no_llm_answers(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("gemini", ["500"] * 3)
    sandbox.state.script_faults("openai", ["malformed"])
    result = await run(client, tenant, "company.research.resolve_g2_url", {"company_name": "Acme"})
    assert result["status"] == "not_found"
    assert result["output"]["g2_url"] is None and result["output"]["provider_used"] is None
    # The failures are on the attempts.
    assert {a["status"] for a in result["provider_attempts"]} == {"failed"}


@pytest.mark.parametrize("input_", [{"company_name": " "}, {"company_domain": "acme.io"}])
async def test_url_resolver_needs_the_company_name(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, input_: dict
) -> None:
    result = await run(client, tenant, "company.research.resolve_pricing_page_url", input_)
    assert (result["status"], result["missing_inputs"]) == ("failed", ["company_name"])
    assert result["provider_attempts"] == []


@pytest.fixture
async def claude_first_client(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[httpx.AsyncClient]:
    settings = sandbox_settings.model_copy(update={"llm_provider_order": "anthropic, gemini"})
    app = create_app(settings, database=database, providers=providers, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield http


async def test_llm_order_is_configurable_and_claude_prose_is_parsed(
    claude_first_client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(
        claude_first_client, tenant, "company.research.resolve_g2_url", {"company_name": "Acme"}
    )
    assert result["status"] == "found"
    assert result["output"]["provider_used"] == "anthropic"


def test_url_acceptance_rules() -> None:
    assert (
        g2_page("See https://www.g2.com/products/acme/reviews.", None)
        == "https://www.g2.com/products/acme/reviews"
    )
    assert g2_page("https://www.capterra.com/p/acme", None) is None
    assert pricing_page("https://acme.io/pricing", "acme.io") == "https://acme.io/pricing"
    assert pricing_page("https://shop.acme.io/pricing/", "acme.io") == "https://shop.acme.io/pricing/"
    # Another company's pricing page, or a page that is not about pricing, is no answer.
    assert pricing_page("https://notacme.io/pricing", "acme.io") is None
    assert pricing_page("https://acme.io/about", "acme.io") is None
    assert pricing_page(None, "acme.io") is None


@pytest.mark.parametrize(
    "input_",
    [
        {"cumulative_context": {"company_domain": "acme.io"}},
        {"cumulative_context": {"company_profile": {"company_domain": "https://www.acme.io/"}}},
    ],
)
async def test_inputs_are_also_read_from_an_explicit_cumulative_context(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, input_: dict
) -> None:
    result = await run(client, tenant, "company.research.check_vc_funding", input_)
    assert result["status"] == "found", result
    assert result["provider_attempts"][0]["raw_response"]["domain"] == "acme.io"
