"""``person.enrich.profile`` end to end through ``POST /api/v1/execute`` against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from dex.operations.registry import get_operation
from dex.sandbox.world import company_for_domain, staff
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute
from tests.operations.test_person_contact import called, providers_of

NORTHWIND = company_for_domain("northwind.io")
PRIYA = staff(NORTHWIND)[6]
BY_LINKEDIN = {"linkedin_url": PRIYA.linkedin_url}
BY_NAME = {"first_name": PRIYA.first_name, "last_name": PRIYA.last_name, "company_domain": NORTHWIND.domain}
ANY_IDENTIFIER = (
    "linkedin_url|email|person_id|first_name+last_name+company_domain|first_name+last_name+company_name"
    "|first_name+last_name+company_linkedin_url"
)


async def enrich(client: httpx.AsyncClient, tenant: Tenant, input_: dict, **extra: object) -> dict:
    response = await execute(client, tenant, "person.enrich.profile", "person", input_, **extra)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_prospeo_answers_first_and_the_waterfall_stops(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": True})
    assert result["status"] == "found"
    assert result["output"]["source_provider"] == "prospeo"
    assert result["output"]["full_name"] == PRIYA.full_name
    assert providers_of(result) == ["prospeo"]
    assert called(sandbox) == {"prospeo"}


async def test_by_name_at_a_company(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await enrich(client, tenant, {"full_name": PRIYA.full_name, "website": "https://northwind.io/"})
    assert (result["status"], result["output"]["linkedin_url"]) == ("found", PRIYA.linkedin_url.lower())


async def test_without_work_history_falls_through_to_leadmagic(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0)
    result = await enrich(client, tenant, BY_LINKEDIN)
    assert result["output"]["source_provider"] == "leadmagic"
    assert providers_of(result) == ["prospeo", "leadmagic"]
    assert "ampleleads" not in called(sandbox)


@pytest.mark.parametrize(
    ("flag_input", "extra"),
    [
        ({"include_work_history": True}, {}),
        ({"include_work_history": " Yes "}, {}),
        ({"step_config": {"include_work_history": "on"}}, {}),
        ({}, {"options": {"include_work_history": True}}),
    ],
    ids=["input", "input-string", "step-config", "options"],
)
async def test_include_work_history_asks_ampleleads(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, flag_input: dict, extra: dict
) -> None:
    sandbox.set_hit_rates(prospeo=0)
    result = await enrich(client, tenant, {**BY_LINKEDIN, **flag_input}, **extra)
    assert result["output"]["source_provider"] == "ampleleads"
    assert [job["is_current"] for job in result["output"]["work_history"]] == [True, False]
    assert result["output"]["email"] == PRIYA.work_email
    assert providers_of(result) == ["prospeo", "ampleleads"]
    assert "leadmagic" not in called(sandbox)


@pytest.mark.parametrize("flag", [False, "false", "off", 0, None, ["yes"]])
async def test_anything_but_a_true_flag_leaves_ampleleads_out(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, flag: object
) -> None:
    sandbox.set_hit_rates(prospeo=0)
    result = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": flag})
    assert providers_of(result) == ["prospeo", "leadmagic"]


async def test_ampleleads_falls_through_to_leadmagic(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0, ampleleads=0)
    result = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": True})
    assert result["output"]["source_provider"] == "leadmagic"
    assert providers_of(result) == ["prospeo", "ampleleads", "leadmagic"]


async def test_nobody_knows_the_person(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0, ampleleads=0, leadmagic=0)
    result = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": True})
    assert result["status"] == "not_found"
    assert result["output"] is None and result["missing_inputs"] is None


async def test_linkedin_only_providers_are_skipped_without_a_linkedin_url(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0)
    result = await enrich(client, tenant, {**BY_NAME, "include_work_history": True})
    assert result["status"] == "not_found"
    assert [(a["provider"], a["status"]) for a in result["provider_attempts"]] == [
        ("prospeo", "not_found"),
        ("ampleleads", "skipped"),
        ("leadmagic", "skipped"),
    ]
    assert {a.get("skip_reason") for a in result["provider_attempts"][1:]} == {"missing_required_inputs"}
    assert called(sandbox) == {"prospeo"}


@pytest.mark.parametrize(
    "input_",
    [
        {},
        {"first_name": "Priya", "company_domain": "northwind.io"},
        {"full_name": "Priya Tanaka"},
        {"linkedin_url": "  ", "email": "not-an-email", "include_work_history": True},
    ],
)
async def test_hopeless_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, input_: dict
) -> None:
    # No input gate: every provider skips what it cannot use, and nobody was found.
    result = await enrich(client, tenant, input_)
    assert (result["status"], result["missing_inputs"]) == ("not_found", None)
    attempts = result["provider_attempts"]
    assert [a["provider"] for a in attempts][:1] == ["prospeo"] and attempts[-1]["provider"] == "leadmagic"
    assert {(a["status"], a["skip_reason"]) for a in attempts} == {("skipped", "missing_required_inputs")}
    assert sandbox.state.ledger == []


def test_the_registry_still_states_what_the_operation_needs() -> None:
    spec = get_operation("person.enrich.profile")
    assert spec is not None and not spec.gate_inputs
    assert "|".join(spec.requirements.any_of) == ANY_IDENTIFIER


async def test_noisy_context_never_crashes(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    noisy = {
        **BY_LINKEDIN,
        "email": ["a@b.io"],
        "person_id": {"id": 1},
        "full_name": 12,
        "company_name": None,
        "include_work_history": {"nested": True},
        "step_config": ["not", "an", "object"],
        "cumulative_context": {"linkedin_url": 5},
    }
    result = await enrich(client, tenant, noisy)
    assert (result["status"], result["error"]) == ("found", None)
    garbage = {"linkedin_url": 42, "email": True, "first_name": ["Priya"], "company_domain": 1}
    result = await enrich(client, tenant, garbage)
    assert (result["status"], result["error"]) == ("not_found", None)
    assert {a["status"] for a in result["provider_attempts"]} == {"skipped"}


async def test_second_identical_call_costs_nothing(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.set_hit_rates(prospeo=0)
    first = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": True})
    calls = len(sandbox.state.ledger)
    second = await enrich(client, tenant, {**BY_LINKEDIN, "include_work_history": True})
    assert first["cost_credits"] > 0 and second["cost_credits"] == 0
    assert all(attempt["cached"] for attempt in second["provider_attempts"])
    assert second["output"] == first["output"]
    assert len(sandbox.state.ledger) == calls
