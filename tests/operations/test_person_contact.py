"""``person.contact.resolve_email`` and ``person.contact.resolve_mobile_phone`` end to end: through
``POST /api/v1/execute`` (or the engine with other settings) against the sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dex.config import Settings
from dex.operations.engine import execute_operation
from dex.operations.registry import get_operation
from dex.providers import parallel
from dex.providers.runtime import ProviderRuntime
from dex.sandbox.world import company_for_domain, staff
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute

NORTHWIND = company_for_domain("northwind.io")
GLOBEX = company_for_domain("globex.com")  # the sandbox company called "Globex"
MAYA = staff(NORTHWIND)[1]  # MillionVerifier says "ok": no Reoon call
ELENA = staff(NORTHWIND)[3]  # MillionVerifier says "catch_all": Reoon is asked too
MAYA_BY_NAME = {
    "first_name": MAYA.first_name,
    "last_name": MAYA.last_name,
    "company_domain": NORTHWIND.domain,
}


@pytest.fixture
def sandbox_settings(settings: Settings) -> Settings:
    """The sandbox's Icypeas searches finish within tens of milliseconds: poll accordingly."""
    return settings.model_copy(
        update={"dex_provider_mode": "sandbox", "icypeas_poll_interval_ms": 10, "icypeas_max_wait_ms": 2000}
    )


def providers_of(result: dict[str, Any]) -> list[str]:
    return [attempt["provider"] for attempt in result["provider_attempts"]]


def called(sandbox: SandboxHandle) -> set[str]:
    return {entry.provider for entry in sandbox.state.ledger}


async def resolve_email(client: httpx.AsyncClient, tenant: Tenant, input_: dict, **extra: object) -> dict:
    response = await execute(client, tenant, "person.contact.resolve_email", "person", input_, **extra)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def resolve_mobile(client: httpx.AsyncClient, tenant: Tenant, input_: dict) -> dict:
    response = await execute(client, tenant, "person.contact.resolve_mobile_phone", "person", input_)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- resolve_email -------------------------------------------------------------------------------------


async def test_first_finder_wins_and_the_address_is_verified(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await resolve_email(client, tenant, MAYA_BY_NAME)
    assert result["status"] == "found"
    assert result["output"]["email"] == MAYA.work_email
    assert result["output"]["source_provider"] == "leadmagic"
    assert result["output"]["verification"]["provider"] == "millionverifier"
    assert result["output"]["email_status"] == "deliverable"
    assert providers_of(result) == ["leadmagic", "millionverifier"]
    assert called(sandbox) == {"leadmagic", "millionverifier"}


async def test_inconclusive_verdict_is_settled_by_reoon(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await resolve_email(
        client, tenant, {"full_name": ELENA.full_name, "company_domain": NORTHWIND.domain}
    )
    assert providers_of(result) == ["leadmagic", "millionverifier", "reoon"]
    assert result["output"]["verification"]["provider"] == "reoon"


async def test_falls_through_to_icypeas_which_is_polled_until_done(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0)
    result = await resolve_email(client, tenant, MAYA_BY_NAME)
    assert result["output"]["email"] == MAYA.work_email
    assert result["output"]["source_provider"] == "icypeas"
    assert providers_of(result) == ["leadmagic", "icypeas", "millionverifier"]
    assert [a["status"] for a in result["provider_attempts"][:2]] == ["not_found", "found"]
    icypeas_attempt = result["provider_attempts"][1]
    assert icypeas_attempt["search_id"] and icypeas_attempt["provider_status"] == "DEBITED"
    assert icypeas_attempt["cost_credits"] == 1  # the search; its reads are free
    icypeas_calls = [entry for entry in sandbox.state.ledger if entry.provider == "icypeas"]
    assert [entry.action for entry in icypeas_calls[:2]] == ["email_search", "read_search"]
    assert len(icypeas_calls) > 2  # the search was pending at first
    assert not any(entry.billable for entry in icypeas_calls[1:])
    assert "parallel" not in called(sandbox)


async def test_falls_through_to_a_parallel_task_run(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0, icypeas=0)
    yara = staff(GLOBEX)[0]
    result = await resolve_email(client, tenant, {"full_name": yara.full_name, "company_name": GLOBEX.name})
    assert result["status"] == "found"
    assert result["output"]["source_provider"] == "parallel"
    assert result["output"]["email"] == yara.work_email
    assert providers_of(result) == ["leadmagic", "icypeas", "parallel", "millionverifier"]
    parallel_attempt = result["provider_attempts"][2]
    assert parallel_attempt["run_id"].startswith("trun_")
    assert parallel_attempt["provider_status"] == "completed"
    runs = [entry for entry in sandbox.state.ledger if entry.provider == "parallel"]
    actions = [entry.action for entry in runs]
    assert actions[0] == "create_run" and actions[-1] == "run_result"
    assert set(actions[1:-1]) == {"retrieve_run"}
    assert [entry.billable for entry in runs] == [True] + [False] * (len(runs) - 1)


async def test_nobody_finds_an_address(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0, icypeas=0, parallel=0)
    result = await resolve_email(client, tenant, MAYA_BY_NAME)
    assert result["status"] == "not_found"
    assert result["output"] == {
        "email": None,
        "source_provider": None,
        "verification": None,
        "email_status": None,
    }
    assert providers_of(result) == ["leadmagic", "icypeas", "parallel"]
    assert "millionverifier" not in called(sandbox)


async def test_icypeas_gives_up_at_its_deadline(
    sandbox_settings: Settings, providers: ProviderRuntime, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    # The search outlasts the deadline whatever the machine's speed.
    sandbox.set_providers(leadmagic={"hit_rate": 0}, icypeas={"job_duration_ms": 600_000})
    impatient = sandbox_settings.model_copy(update={"icypeas_max_wait_ms": 20})
    result = await execute_operation(
        get_operation("person.contact.resolve_email"),  # type: ignore[arg-type]
        MAYA_BY_NAME,
        providers=providers.context(tenant.org_id),
        settings=impatient,
    )
    icypeas_attempt = result.attempts[1]
    assert (icypeas_attempt.status, icypeas_attempt.error) == ("failed", "poll_timeout")
    assert result.output["source_provider"] == "parallel"  # type: ignore[index]


async def test_a_parallel_run_is_waited_for_within_a_bound(
    providers: ProviderRuntime, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await parallel.run_task(
        providers.context(tenant.org_id),
        input={"company_domain": NORTHWIND.domain},
        output_schema={"type": "object", "properties": {"description": {"type": "string"}}},
        processor="lite",
        max_wait_ms=20,
    )
    assert (result.status, result.attempt.error) == ("failed", "poll_timeout")
    assert result.attempt.extra["run_id"].startswith("trun_")
    assert result.attempt.cost_credits == 2  # the run was created, and is paid for


@pytest.mark.parametrize(
    ("input_", "missing"),
    [
        ({}, ["first_name|last_name|full_name", "company_domain|company_name"]),
        ({"full_name": "Maya Schmidt", "company_name": "   "}, ["company_domain|company_name"]),
        (
            {"company_domain": "northwind.io", "first_name": "", "last_name": None},
            ["first_name|last_name|full_name"],
        ),
        (
            {"full_name": [], "company_domain": {}},
            ["first_name|last_name|full_name", "company_domain|company_name"],
        ),
    ],
)
async def test_missing_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, input_: dict, missing: list[str]
) -> None:
    result = await resolve_email(client, tenant, input_)
    assert (result["status"], result["missing_inputs"]) == ("failed", missing)
    assert result["provider_attempts"] == [] and sandbox.state.ledger == []


async def test_values_of_the_wrong_type_fail_without_any_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    garbage = {"first_name": ["Maya"], "last_name": True, "full_name": {"x": 1}, "company_domain": 3.5}
    result = await resolve_email(client, tenant, garbage)
    assert (result["status"], result["error"], result["provider_attempts"]) == ("failed", None, [])
    verify = await execute(client, tenant, "person.contact.verify_email", "person", {"email": 5})
    assert (verify.json()["data"]["status"], verify.json()["data"]["error"]) == ("failed", None)
    mobile = await resolve_mobile(client, tenant, {"linkedin_url": ["x"], "work_email": {"a": 1}})
    assert (mobile["status"], mobile["error"], mobile["provider_attempts"]) == ("failed", None, [])
    assert sandbox.state.ledger == []


async def test_noisy_context_around_usable_inputs_still_resolves(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    noisy = {
        **MAYA_BY_NAME,
        "company_domain": "https://www.Northwind.io/about",
        "company_name": 42,
        "email": {"not": "a string"},
        "cumulative_context": [None, 1, "x"],
        "step_config": "garbage",
    }
    result = await resolve_email(client, tenant, noisy)
    assert (result["status"], result["output"]["email"]) == ("found", MAYA.work_email)


async def test_second_identical_call_costs_nothing(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0)
    first = await resolve_email(client, tenant, MAYA_BY_NAME)
    calls = len(sandbox.state.ledger)
    second = await resolve_email(client, tenant, MAYA_BY_NAME)
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert all(attempt["cached"] for attempt in second["provider_attempts"])
    assert providers_of(second) == providers_of(first)
    assert second["output"] == first["output"]
    assert len(sandbox.state.ledger) == calls


# --- resolve_mobile_phone ------------------------------------------------------------------------------


async def test_mobile_from_the_first_provider_of_the_default_order(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await resolve_mobile(client, tenant, {"profile_url": MAYA.linkedin_url})
    assert result["status"] == "found"
    assert result["output"] == {"mobile_phone": MAYA.mobile_phone, "source_provider": "leadmagic"}
    assert providers_of(result) == ["leadmagic"]
    assert called(sandbox) == {"leadmagic"}


async def test_mobile_falls_through_to_blitzapi(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0)
    result = await resolve_mobile(client, tenant, {"linkedin_url": MAYA.linkedin_url})
    assert result["output"] == {"mobile_phone": MAYA.mobile_phone, "source_provider": "blitzapi"}
    assert providers_of(result) == ["leadmagic", "blitzapi"]


async def test_mobile_order_follows_the_setting(
    sandbox_settings: Settings, providers: ProviderRuntime, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    blitz_first = sandbox_settings.model_copy(update={"person_resolve_mobile_order": " BlitzAPI , nope"})
    result = await execute_operation(
        get_operation("person.contact.resolve_mobile_phone"),  # type: ignore[arg-type]
        {"linkedin_url": MAYA.linkedin_url},
        providers=providers.context(tenant.org_id),
        settings=blitz_first,
    )
    assert result.output == {"mobile_phone": MAYA.mobile_phone, "source_provider": "blitzapi"}
    assert [attempt.provider for attempt in result.attempts] == ["blitzapi"]
    assert called(sandbox) == {"blitzapi"}


async def test_blitzapi_is_skipped_without_a_linkedin_url(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(leadmagic=0)
    result = await resolve_mobile(client, tenant, {"work_email": MAYA.work_email})
    assert result["status"] == "not_found"
    assert result["output"] == {"mobile_phone": None, "source_provider": None}
    blitz = result["provider_attempts"][1]
    assert (blitz["provider"], blitz["status"], blitz["skip_reason"]) == (
        "blitzapi",
        "skipped",
        "missing_required_inputs",
    )
    assert called(sandbox) == {"leadmagic"}


async def test_mobile_needs_a_linkedin_url_or_an_email(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await resolve_mobile(client, tenant, {"full_name": "Maya Schmidt", "work_email": "not-an-email"})
    assert result["missing_inputs"] == ["linkedin_url|work_email|personal_email"]
    assert sandbox.state.ledger == []
