"""``company.enrich.profile`` and ``company.enrich.technographics`` against the sandbox over real HTTP."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from dex.config import Settings
from dex.operations.catalog.company_enrich import PROFILE_FIELDS
from dex.operations.engine import OperationResult, execute_operation
from dex.operations.registry import get_operation
from dex.providers.runtime import ProviderRuntime
from dex.sandbox.world import company_for_domain
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute

ACME = company_for_domain("acme.io")


async def run(
    providers: ProviderRuntime,
    tenant: Tenant,
    settings: Settings,
    operation_id: str,
    input_: Any,
    *,
    options: dict[str, Any] | None = None,
    **orders: str,
) -> OperationResult:
    """Execute in-process (no run record) with provider-order settings overridden, e.g.
    ``company_search_order="companyenrich"``."""
    spec = get_operation(operation_id)
    assert spec is not None
    return await execute_operation(
        spec,
        input_,
        providers=providers.context(tenant.org_id),
        settings=settings.model_copy(update=orders),
        options=options,
    )


def calls(result: OperationResult) -> list[str]:
    return [f"{attempt.provider}.{attempt.action}" for attempt in result.attempts]


def ledger(sandbox: SandboxHandle) -> list[str]:
    return [entry.path for entry in sandbox.state.ledger]


# --- company.enrich.profile ----------------------------------------------------------------------------


async def test_profile_merges_in_order_and_stops_once_complete(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    response = await execute(
        client, tenant, "company.enrich.profile", "company", {"domain": "https://www.Acme.io/"}
    )
    result = response.json()["data"]
    assert result["status"] == "found"
    # Prospeo's LinkedIn URL is handed to BlitzAPI (no domain bridge); the profile is complete after
    # CompanyEnrich, so LeadMagic is never asked.
    assert [(a["provider"], a["action"]) for a in result["provider_attempts"]] == [
        ("prospeo", "company_enrich"),
        ("blitzapi", "company_enrich"),
        ("companyenrich", "company_enrich"),
    ]
    assert not any(path.startswith("/leadmagic") for path in ledger(sandbox))
    output = result["output"]
    assert output["source_providers"] == ["prospeo", "blitzapi", "companyenrich"]
    assert set(output["company_profile"]) == set(PROFILE_FIELDS)
    assert all(output["company_profile"][name] is not None for name in PROFILE_FIELDS)
    assert {name: output[name] for name in PROFILE_FIELDS} == output["company_profile"]
    # First provider wins per field: Prospeo's logo, BlitzAPI's LinkedIn id, CompanyEnrich's industries.
    assert output["logo_url"] == "https://logos.prospeo.io/acme.io.png"
    assert output["company_linkedin_id"] == ACME.linkedin_id
    assert output["industry_derived"] == ["Healthcare", "Payments"]
    assert (output["company_domain"], output["employee_count"]) == ("acme.io", ACME.employee_count)


async def test_profile_follows_the_configured_order_and_back_fills_identifiers(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "company.enrich.profile",
        {"company_name": "Globex"},
        company_enrich_profile_order=" leadmagic , bogus,blitzapi,leadmagic",
    )
    # LeadMagic finds the company by name; its LinkedIn URL lets BlitzAPI enrich without a bridge.
    assert calls(result) == ["leadmagic.enrich_company", "blitzapi.enrich_company"]
    assert result.status == "found"
    assert result.output["company_domain"] == "globex.com"
    assert result.output["source_providers"] == ["leadmagic", "blitzapi"]
    assert "industry_derived" not in result.output  # only CompanyEnrich knows it; unknown fields stay out


async def test_profile_bridges_a_domain_to_linkedin_for_blitzapi(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "company.enrich.profile",
        {"company_domain": "acme.io"},
        company_enrich_profile_order="blitzapi",
    )
    assert calls(result) == ["blitzapi.domain_to_linkedin", "blitzapi.enrich_company"]
    assert result.output["company_linkedin_url"] == ACME.linkedin_url.lower()


async def test_profile_keeps_asking_while_fields_are_missing(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0.0, companyenrich=0.0)
    result = await run(
        providers, tenant, sandbox_settings, "company.enrich.profile", {"company_domain": "acme.io"}
    )
    assert calls(result) == [
        "prospeo.enrich_company",
        "blitzapi.domain_to_linkedin",
        "blitzapi.enrich_company",
        "companyenrich.enrich_company",
        "leadmagic.enrich_company",
    ]
    assert [a.status for a in result.attempts] == ["not_found", "found", "found", "not_found", "found"]
    assert result.output["source_providers"] == ["blitzapi", "leadmagic"]
    assert result.output["logo_url"] == "https://cdn.leadmagic.io/logos/acme.io.png"


async def test_profile_not_found_and_provider_failure_are_told_apart(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    nothing = await run(
        providers, tenant, sandbox_settings, "company.enrich.profile", {"company_domain": "acme.io"}
    )
    assert (nothing.status, nothing.output) == (
        "not_found",
        {"company_profile": None, "source_providers": []},
    )
    sandbox.configure(fault_rate=1.0, fault_kinds=["500"])
    outage = await run(
        providers, tenant, sandbox_settings, "company.enrich.profile", {"company_domain": "b.io"}
    )
    assert outage.status == "failed"
    assert {attempt.status for attempt in outage.attempts} == {"failed"}


async def test_profile_missing_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    noise = {"company_domain": "  ", "company_name": "", "company_linkedin_url": None, "other": {"a": 1}}
    result = (await execute(client, tenant, "company.enrich.profile", "company", noise)).json()["data"]
    assert result["status"] == "failed"
    assert result["missing_inputs"] == ["company_domain|company_linkedin_url|company_name|source_company_id"]
    assert result["provider_attempts"] == [] and sandbox.state.ledger == []


async def test_profile_with_only_unusable_identifiers_asks_no_provider(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    # A number or a list where a name or URL belongs identifies nothing: the inputs count as missing.
    junk = {"company_name": 5, "company_linkedin_url": ["x"]}
    result = await run(providers, tenant, sandbox_settings, "company.enrich.profile", junk)
    assert result.status == "failed"
    assert result.missing_inputs
    assert result.attempts == []
    assert sandbox.state.ledger == []


async def test_profile_survives_a_noisy_context(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    noisy = {
        "company_domain": 42,
        "website": "HTTPS://www.Acme.io/pricing?x=1",
        "company_name": ["Acme"],
        "company_linkedin_url": {"url": "nope"},
        "source_company_id": True,
        "employee_count": "lots",
        "company_profile": "garbage",
    }
    result = await run(providers, tenant, sandbox_settings, "company.enrich.profile", noisy)
    assert result.status == "found", result.error
    assert result.output["company_domain"] == "acme.io"


async def test_profile_second_identical_call_is_served_from_cache(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    body = {"company_domain": "initech.com"}
    first = (await execute(client, tenant, "company.enrich.profile", "company", body)).json()["data"]
    paid_calls = len(sandbox.state.ledger)
    second = (await execute(client, tenant, "company.enrich.profile", "company", body)).json()["data"]
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert all(attempt["cached"] for attempt in second["provider_attempts"])
    assert second["output"] == first["output"]
    assert len(sandbox.state.ledger) == paid_calls


# --- company.enrich.technographics ---------------------------------------------------------------------


async def test_technographics_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = (
        await execute(client, tenant, "company.enrich.technographics", "company", {"website": "acme.io"})
    ).json()["data"]
    assert result["status"] == "found"
    output = result["output"]
    assert output["technology_count"] == len(output["technologies"]) > 0
    assert output["source_provider"] == "leadmagic"
    assert ledger(sandbox) == ["/leadmagic/v1/companies/company-technographics"]


async def test_technographics_falls_back_to_the_legacy_route_on_404(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(
        providers, tenant, sandbox_settings, "company.enrich.technographics", {"domain": "acme.io"}
    )
    assert result.status == "not_found"
    assert result.output["technology_count"] == 0
    assert ledger(sandbox) == [
        "/leadmagic/v1/companies/company-technographics",
        "/leadmagic/v1/company/technographics",
    ]


async def test_technographics_no_technologies_message_is_not_found(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    # company23.com is a company LeadMagic knows but detects no technology on.
    result = await run(
        providers,
        tenant,
        sandbox_settings,
        "company.enrich.technographics",
        {"company_domain": "company23.com"},
    )
    assert result.status == "not_found"
    assert result.attempts[0].provider_status.startswith("No technologies found")


async def test_technographics_noisy_input_and_cache(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    noisy = {"company_domain": ["acme.io"], "domain": "WWW.Acme.io", "technologies": "junk", "limit": None}
    first = (await execute(client, tenant, "company.enrich.technographics", "company", noisy)).json()["data"]
    second = (await execute(client, tenant, "company.enrich.technographics", "company", noisy)).json()["data"]
    assert first["status"] == second["status"] == "found"
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert second["output"] == first["output"] and len(sandbox.state.ledger) == 1


async def test_technographics_without_a_key_fails_rather_than_skips(
    providers: ProviderRuntime, tenant: Tenant, sandbox_settings: Settings, sandbox: SandboxHandle
) -> None:
    spec = get_operation("company.enrich.technographics")
    keyless = dataclasses.replace(providers.context(tenant.org_id), credentials=lambda provider: None)
    result = await execute_operation(
        spec, {"company_domain": "acme.io"}, providers=keyless, settings=sandbox_settings
    )
    assert result.status == "failed"
    assert [(a.status, a.skip_reason) for a in result.attempts] == [("skipped", "missing_provider_api_key")]
    assert sandbox.state.ledger == []


async def test_technographics_missing_domain(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = (
        await execute(client, tenant, "company.enrich.technographics", "company", {"company_name": "Acme"})
    ).json()["data"]
    assert (result["status"], result["missing_inputs"]) == ("failed", ["company_domain"])
    assert sandbox.state.ledger == []
