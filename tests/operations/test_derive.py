"""``company.derive.pricing_intelligence`` through ``POST /api/v1/execute``: 14 HQ questions asked
concurrently, partial answers kept, legacy endpoint names reached on 404."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.providers.catalog import PROVIDERS
from dex.providers.revenueinfra import PRICING_QUESTIONS
from dex.providers.runtime import ProviderRuntime
from dex.runtime import sandbox_endpoint
from tests.conftest import TEST_PROVIDER_LIMITS, SandboxHandle, Tenant
from tests.operations.test_execute import execute

OPERATION = "company.derive.pricing_intelligence"
PRICING = {"company_domain": "acme.io", "pricing_page_url": "https://acme.io/pricing"}


async def run(client: httpx.AsyncClient, tenant: Tenant, input_: dict) -> dict:
    response = await execute(client, tenant, OPERATION, "company", input_)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
async def no_retry_client(
    sandbox_settings: Settings, database: Database, sandbox: SandboxHandle
) -> AsyncIterator[httpx.AsyncClient]:
    """A dex whose provider calls are never retried, so each scripted fault fails exactly one question."""
    limits = dict.fromkeys(PROVIDERS, replace(TEST_PROVIDER_LIMITS, max_retries=0))
    runtime = ProviderRuntime(
        sandbox_settings, database, sandbox=sandbox_endpoint(sandbox.url), limits=limits
    )
    app = create_app(sandbox_settings, database=database, providers=runtime, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield http
    await runtime.close()


async def test_all_fourteen_answers(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, PRICING)
    assert result["status"] == "found"
    output = result["output"]
    answers = {field: output[field] for field in PRICING_QUESTIONS}
    assert all(value is not None for value in answers.values()), answers
    # fields_resolved counts the 14 answers only, never the pricing page URL the caller gave.
    assert output["fields_resolved"] == 14 and output["failed_fields"] == []
    assert output["pricing_page_url"] == "https://acme.io/pricing"
    assert output["free_trial"] in ("yes", "no")
    assert output["sales_motion"] == output["sales_motion"].lower()
    assert isinstance(output["number_of_tiers"], int) or output["number_of_tiers"] == "5+"
    assert len(result["provider_attempts"]) == 14
    # The renamed questions were found under their earlier names after a 404.
    paths = [entry.path for entry in sandbox.state.ledger]
    assert "/revenueinfra/run/companies/gemini/security-gating/infer" in paths
    assert "/revenueinfra/run/companies/gemini/annual-commitment/infer" in paths


async def test_questions_are_asked_concurrently(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    async def wall_time(domain: str) -> float:
        started = time.monotonic()
        result = await run(client, tenant, {**PRICING, "company_domain": domain})
        assert result["status"] == "found"
        return time.monotonic() - started

    baseline = await wall_time("acme.io")  # dex's own work: requests, cache, recording the run
    latency = 0.3
    sandbox.configure(latency_ms=latency * 1000)
    added = await wall_time("globex.io") - baseline
    # One after another, the 16 calls (14, plus the 404s of the two renamed questions) would add ≥ 4.8 s;
    # concurrently they add about two calls' latency (a renamed question waits for its 404 first).
    assert added < 4 * latency, added


async def test_partial_answers_when_some_questions_fail(
    no_retry_client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("revenueinfra", ["500"] * 4)
    result = await run(no_retry_client, tenant, PRICING)
    assert result["status"] == "found"
    output = result["output"]
    assert len(output["failed_fields"]) == 4
    assert all(output[field] is None for field in output["failed_fields"])
    assert output["fields_resolved"] == 10


async def test_failed_only_when_every_question_fails(
    no_retry_client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("revenueinfra", ["500"] * 14)
    result = await run(no_retry_client, tenant, PRICING)
    assert result["status"] == "failed" and result["output"] is None
    assert [a["status"] for a in result["provider_attempts"]] == ["failed"] * 14


async def test_not_found_when_the_page_answers_nothing(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await run(client, tenant, PRICING)
    assert result["status"] == "not_found"
    assert result["output"]["fields_resolved"] == 0 and result["output"]["failed_fields"] == []


async def test_domain_defaults_to_the_pricing_page_host(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, {"pricing_page_url": "www.Acme.io/pricing", "company_domain": ["x"]})
    assert result["status"] == "found"
    assert result["output"]["pricing_page_url"] == "https://www.Acme.io/pricing"
    assert {a["raw_response"]["domain"] for a in result["provider_attempts"]} == {"acme.io"}


@pytest.mark.parametrize(
    ("input_", "missing"),
    [
        ({"company_domain": "acme.io", "pricing_page_url": 3}, ["pricing_page_url"]),
        ({"pricing_page_url": "n/a"}, None),
    ],
)
async def test_unusable_input_makes_no_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, input_: dict, missing: list[str] | None
) -> None:
    result = await run(client, tenant, input_)
    assert (result["status"], result["missing_inputs"]) == ("failed", missing)
    assert sandbox.state.ledger == []
