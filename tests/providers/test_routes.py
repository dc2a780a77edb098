"""POST /api/super-admin/providers/check against the sandbox."""

from __future__ import annotations

import httpx

from dex.providers.catalog import PROVIDERS
from tests.conftest import Tenant

SUPER_ADMIN = {"Authorization": "Bearer test-super-admin-api-key"}
PATH = "/api/super-admin/providers/check"


async def test_checks_every_configured_key(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={}, headers=SUPER_ADMIN)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["mode"] == "sandbox" and not data["nothing_configured"]
    assert {result["provider"] for result in data["results"]} == {
        name for name, info in PROVIDERS.items() if info.credential_settings
    }
    assert all(result["ok"] and result["status"] == "valid" for result in data["results"])


async def test_named_providers(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"providers": ["blitzapi"]}, headers=SUPER_ADMIN)
    assert response.status_code == 200, response.text
    [result] = response.json()["data"]["results"]
    assert result["provider"] == "blitzapi" and result["credits_remaining"] == 10_000


async def test_unknown_provider_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"providers": ["nosuch"]}, headers=SUPER_ADMIN)
    assert response.status_code == 400
    assert "unknown provider" in response.json()["error"]


async def test_tenants_may_not_check_keys(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(PATH, json={}, headers=tenant.headers)
    assert response.status_code == 401
    assert "error" in response.json()


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][PATH]["post"]
    assert "400" in operation["responses"] and "200" in operation["responses"]
