"""Checking provider keys (dex.providers.accounts) against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dex.errors import BadRequest
from dex.providers.accounts import check_key, check_keys, plan_checks, probe_of
from dex.providers.catalog import PROVIDERS
from dex.providers.http import ProviderClient, ProviderLimits
from dex.sandbox.credentials import SANDBOX_ACCOUNT_EMAIL, sandbox_credential
from tests.conftest import SandboxHandle

KEYED = sorted(name for name, info in PROVIDERS.items() if info.credential_settings)
LIMITS = ProviderLimits(timeout_seconds=5, max_retries=0)


@pytest.fixture
async def client() -> AsyncIterator[ProviderClient]:
    http = ProviderClient(dict.fromkeys(PROVIDERS, LIMITS), LIMITS)
    yield http
    await http.close()


def credentials(provider: str, key: str | None = None) -> tuple[str, ...]:
    return tuple(
        SANDBOX_ACCOUNT_EMAIL if name.endswith("_email") else (key or sandbox_credential(provider))
        for name in PROVIDERS[provider].credential_settings
    )


class SandboxKeys:
    """The sandbox's keys for every provider, with one provider's key replaced by ``wrong``."""

    def __init__(self, sandbox: SandboxHandle, client: ProviderClient, wrong: dict[str, str] | None = None):
        self.client, self.sandbox, self.wrong = client, sandbox, wrong or {}

    def credentials(self, provider: str) -> tuple[str, ...] | None:
        if not PROVIDERS[provider].credential_settings:
            return None
        return credentials(provider, self.wrong.get(provider))

    def base_url(self, provider: str) -> str:
        return f"{self.sandbox.url}/{provider}"


def test_every_keyed_provider_declares_a_probe() -> None:
    assert [name for name in KEYED if probe_of(name) is None] == []


@pytest.mark.parametrize("provider", KEYED)
async def test_sandbox_key_is_valid(provider: str, sandbox: SandboxHandle, client: ProviderClient) -> None:
    result = await check_key(client, provider, credentials(provider), f"{sandbox.url}/{provider}")
    assert result.status == "valid", result
    assert result.ok and result.probe


@pytest.mark.parametrize("provider", KEYED)
async def test_wrong_key_is_refused(provider: str, sandbox: SandboxHandle, client: ProviderClient) -> None:
    result = await check_key(client, provider, credentials(provider, "wrong"), f"{sandbox.url}/{provider}")
    assert result.status == "invalid_key", result
    assert not result.ok and result.http_status == 401


async def test_credits_are_reported_where_the_provider_reports_them(
    sandbox: SandboxHandle, client: ProviderClient
) -> None:
    result = await check_key(client, "prospeo", credentials("prospeo"), f"{sandbox.url}/prospeo")
    assert result.credits_remaining == 10_000


async def test_the_check_is_not_billed(sandbox: SandboxHandle, client: ProviderClient) -> None:
    await check_key(client, "leadmagic", credentials("leadmagic"), f"{sandbox.url}/leadmagic")
    assert [entry.billable for entry in sandbox.state.ledger] == [False]


async def test_unreachable_provider(client: ProviderClient) -> None:
    result = await check_key(client, "prospeo", ("key",), "http://127.0.0.1:9")
    assert result.status == "unreachable" and not result.ok


async def test_missing_key_and_keyless_provider(client: ProviderClient) -> None:
    missing = await check_key(client, "prospeo", None, "http://127.0.0.1:9")
    assert missing.status == "not_configured" and "PROSPEO_API_KEY" in missing.message
    keyless = await check_key(client, "revenueinfra", (), "http://127.0.0.1:9")
    assert keyless.status == "no_key_needed" and keyless.ok


async def test_plan_and_check_every_configured_key(sandbox: SandboxHandle, client: ProviderClient) -> None:
    source = SandboxKeys(sandbox, client, wrong={"blitzapi": "stale"})
    plan = plan_checks(source)
    assert plan.providers == tuple(KEYED) and not plan.nothing_configured
    results = {result.provider: result.status for result in await check_keys(source, plan.providers)}
    assert results.pop("blitzapi") == "invalid_key"
    assert set(results.values()) == {"valid"}


def test_plan_names_and_nothing_configured(sandbox: SandboxHandle, client: ProviderClient) -> None:
    source = SandboxKeys(sandbox, client)
    assert plan_checks(source, ["reoon", "reoon", "icypeas"]).providers == ("reoon", "icypeas")
    assert plan_checks(source, keys_configured=False).nothing_configured
    with pytest.raises(BadRequest, match="unknown provider"):
        plan_checks(source, ["nosuch"])
