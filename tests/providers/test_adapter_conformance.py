"""Every adapter through the same scenarios, against the sandbox over real HTTP."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from dex.providers.base import ProviderContext, sandbox_credential
from dex.providers.catalog import PROVIDERS
from dex.providers.http import ProviderClient, ProviderLimits
from tests.conftest import SandboxHandle
from tests.providers.adapter_cases import AdapterCase, all_cases

CASES = all_cases()
FAULT_LIMITS = ProviderLimits(
    timeout_seconds=10,
    max_retries=2,
    backoff_base_seconds=0.01,
    backoff_cap_seconds=0.02,
    retry_after_cap_seconds=0.1,
)


def context(sandbox: SandboxHandle, client: ProviderClient, *, key: str | None = None) -> ProviderContext:
    def credentials(provider: str) -> tuple[str, ...]:
        names = PROVIDERS[provider].credential_settings
        return tuple(
            "sandbox@dex.invalid" if name.endswith("_email") else (key or sandbox_credential(provider))
            for name in names
        )

    return ProviderContext(
        org_id=uuid.uuid4(),
        client=client,
        credentials=credentials,
        base_urls=lambda provider: f"{sandbox.url}/{provider}",
        sandbox=True,
    )


@pytest.fixture
async def client():  # type: ignore[no-untyped-def]
    http = ProviderClient(dict.fromkeys(PROVIDERS, FAULT_LIMITS))
    yield http
    await http.close()


def provider_of(case: AdapterCase) -> str:
    return case.adapter.provider  # type: ignore[attr-defined]


def test_there_are_cases() -> None:
    assert CASES, "no adapter conformance cases were collected"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_found(case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient) -> None:
    sandbox.configure(hit_rate=1.0)
    result = await case.adapter(context(sandbox, client), **case.found_inputs)
    assert result.status == case.found_status, result.attempt
    assert result.mapped
    assert result.attempt.cost_credits > 0
    assert result.attempt.raw_response is not None
    assert any(entry.billable for entry in sandbox.state.ledger)
    if case.check_found:
        case.check_found(result)


@pytest.mark.parametrize("case", [c for c in CASES if c.not_found_inputs is not None], ids=lambda c: c.id)
async def test_not_found(case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await case.adapter(context(sandbox, client), **case.not_found_inputs)
    assert result.status == case.not_found_status, result.attempt


@pytest.mark.parametrize(
    "case", [c for c in CASES if PROVIDERS[provider_of(c)].credential_settings], ids=lambda c: c.id
)
async def test_wrong_key_is_rejected(
    case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient
) -> None:
    result = await case.adapter(context(sandbox, client, key="not-the-key"), **case.found_inputs)
    assert result.status == "failed"
    assert result.attempt.http_status == 401
    assert result.attempt.cost_credits == Decimal("0")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_429_then_success(case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient) -> None:
    sandbox.state.script_faults(provider_of(case), ["429"])
    result = await case.adapter(context(sandbox, client), **case.found_inputs)
    assert result.status == case.found_status, result.attempt
    assert result.attempt.http_attempts >= 2
    assert sandbox.state.ledger[0].status == 429 and not sandbox.state.ledger[0].billable


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_persistent_5xx_fails_after_retries(
    case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient
) -> None:
    sandbox.state.script_faults(provider_of(case), ["500", "502", "503"])
    result = await case.adapter(context(sandbox, client), **case.found_inputs)
    assert result.status == "failed"
    assert result.attempt.http_status == 503
    assert result.attempt.http_attempts == 3
    assert result.attempt.cost_credits == Decimal("0")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_timeout_fails_cleanly(case: AdapterCase, sandbox: SandboxHandle) -> None:
    # A client with a short timeout (and one retry) keeps this scenario fast; the logic is the same.
    sandbox.configure(hang_seconds=0.3)
    sandbox.state.script_faults(provider_of(case), ["timeout"] * 2)
    quick = ProviderClient(
        dict.fromkeys(PROVIDERS, replace(FAULT_LIMITS, timeout_seconds=0.1, max_retries=1))
    )
    try:
        result = await case.adapter(context(sandbox, quick), **case.found_inputs)
    finally:
        await quick.close()
    assert result.status == "failed"
    assert result.attempt.error == "timeout"
    assert result.attempt.cost_credits == Decimal("0")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_malformed_json_fails(
    case: AdapterCase, sandbox: SandboxHandle, client: ProviderClient
) -> None:
    sandbox.state.script_faults(provider_of(case), ["malformed"])
    result = await case.adapter(context(sandbox, client), **case.found_inputs)
    assert result.status == "failed"
    assert result.attempt.error == "malformed_json"
