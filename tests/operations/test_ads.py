"""Adyntel ad searches through ``POST /api/v1/execute``: an Adyntel error is ``failed``, never
``not_found`` (reference bug #31), and a missing credential is a failed operation, never ``skipped``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.providers import adyntel
from dex.providers.runtime import ProviderRuntime
from tests.conftest import SandboxHandle, Tenant
from tests.operations import helpers
from tests.operations.helpers import MissingInputsCheck


def ads_search(network: str) -> str:
    return f"company.ads.search.{network}"


async def run(client: httpx.AsyncClient, tenant: Tenant, network: str, input_: dict) -> dict:
    return await helpers.run(client, tenant, ads_search(network), input_)


async def test_linkedin_ads_by_noisy_domain_and_by_numeric_page_id(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    by_domain = await run(
        client, tenant, "linkedin", {"website": "https://www.acme.io/", "linkedin_page_id": []}
    )
    assert by_domain["status"] == "found"
    output = by_domain["output"]
    assert output["ads_count"] == len(output["ads"]) > 0
    assert output["total_ads"] >= output["ads_count"]
    assert output["is_last_page"] == (output["continuation_token"] is None)
    by_page = await run(client, tenant, "linkedin", {"linkedin_page_id": 12345678})
    assert by_page["status"] == "found" and by_page["output"]["page_id"] == "12345678"


async def test_meta_ads_by_domain_are_flattened(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    result = await run(client, tenant, "meta", {"company_domain": "acme.io"})
    assert result["status"] == "found"
    output = result["output"]
    # Adyntel groups Meta ads in nested lists; the output lists the ads themselves.
    assert output["results"] and all(isinstance(ad, dict) and ad["ad_archive_id"] for ad in output["results"])
    assert output["results_count"] == len(output["results"])
    assert output["endpoint_used"] == "facebook"


async def test_meta_keyword_search(client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle) -> None:
    result = await run(client, tenant, "meta", {"keyword": "crm software", "company_domain": "acme.io"})
    assert result["status"] == "found"
    assert result["output"]["endpoint_used"] == "facebook_ad_search"
    assert result["output"]["search_type"] == "keyword"


async def test_google_ads_found_and_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    found = await run(client, tenant, "google", {"domain": "ACME.io"})
    assert found["status"] == "found" and found["output"]["ads_count"] > 0
    sandbox.configure(hit_rate=0.0)
    none = await run(client, tenant, "google", {"domain": "globex.io"})
    # HTTP 204: Adyntel knows no ads for the company.
    assert none["status"] == "not_found"
    assert none["output"] == {"ads": [], "ads_count": 0, "continuation_token": None, "country_code": None}
    assert none["provider_attempts"][0]["http_status"] == 204


@pytest.mark.parametrize("network", ["linkedin", "meta", "google"])
async def test_adyntel_error_is_failed_not_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, network: str
) -> None:
    sandbox.state.script_faults("adyntel", ["500", "502", "503"])
    result = await run(client, tenant, network, {"company_domain": "acme.io"})
    assert result["status"] == "failed" and result["output"] is None
    assert result["provider_attempts"][0]["status"] == "failed"


async def test_empty_ads_list_with_a_message_is_a_failed_attempt(
    providers: ProviderRuntime, sandbox: SandboxHandle
) -> None:
    # A 200 with no ads is how Adyntel reports a bad request — not "this company runs no ads".
    result = await adyntel.search_linkedin_ads(providers.context(uuid.uuid4()), continuation_token="li-10")
    assert result.status == "failed"
    assert result.attempt.provider_status == "company_domain or linkedin_page_id is required"


@pytest.mark.parametrize(
    ("network", "input_", "missing"),
    [
        ("linkedin", {"company_domain": " "}, ["company_domain|linkedin_page_id"]),
        ("meta", {"facebook_url": ""}, ["company_domain|facebook_url|keyword"]),
        ("google", {"linkedin_page_id": "123"}, ["company_domain"]),
        ("google", {"company_domain": {"value": "acme.io"}}, ["company_domain"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, network: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(ads_search(network), input_, missing)


@pytest.fixture
async def keyless_client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """dex against the live providers with no provider credentials configured."""
    live = settings.model_copy(update={"dex_provider_mode": "live"})
    runtime = ProviderRuntime(live, database)
    app = create_app(live, database=database, providers=runtime, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield http
    await runtime.close()


async def test_missing_credentials_fail_without_a_call(
    keyless_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    result = await run(keyless_client, tenant, "google", {"company_domain": "acme.io"})
    assert result["status"] == "failed"
    assert result["provider_attempts"] == [
        {
            "provider": "adyntel",
            "action": "search_google_ads",
            "status": "skipped",
            "skip_reason": "missing_provider_email",
            "cached": False,
            "cost_credits": 0.0,
        }
    ]
