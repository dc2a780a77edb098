"""The console over HTTP (no browser): CSRF, tenancy of ids in URLs, sessions that end, and error pages."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import Tenant, create_tenant
from tests.console.conftest import PASSWORD, add_member, add_super_admin, set_password

CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def csrf_of(response: httpx.Response) -> str:
    found = CSRF_META.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


async def signed_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the login form; returns the CSRF token of its pages."""
    token = csrf_of(await client.get("/console/login"))
    response = await client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return token


async def test_login_post_without_csrf_token_is_refused(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    await client.get("/console/login")
    response = await client.post("/console/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "security token" in response.text
    assert "dex_session" not in response.cookies


async def test_state_changing_post_needs_the_matching_token(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    token = await signed_in(client, user.email)
    missing = await client.post("/console/logout")
    forged = await client.post("/console/logout", data={"csrf_token": "0" * 64})
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert (await client.get("/console/batches")).status_code == 200  # still signed in
    out = await client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await client.get("/console/batches")).status_code == 303


async def test_session_cookie_is_httponly_and_strict(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    token = csrf_of(await client.get("/console/login"))
    response = await client.post(
        "/console/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("dex_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie


async def test_deactivated_user_is_out_on_the_next_request(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    await signed_in(client, user.email)
    assert (await client.get("/console/batches")).status_code == 200
    async with database.transaction() as session:
        await session.execute(
            text(
                "UPDATE users SET is_active = false, token_generation = token_generation + 1 WHERE id = :id"
            ),
            {"id": tenant.user_id},
        )
    response = await client.get("/console/batches")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


async def test_another_orgs_ids_in_urls_are_not_found(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    other = await create_tenant(database, "globex")
    async with database.transaction() as session:
        blueprint_id = (
            await session.execute(
                text("INSERT INTO blueprints (org_id, name) VALUES (:org, 'theirs') RETURNING id"),
                {"org": other.org_id},
            )
        ).scalar_one()
    await signed_in(client, user.email)
    for path in (
        f"/console/blueprints/{blueprint_id}",
        f"/console/batches/{uuid.uuid4()}",
        f"/console/runs/{uuid.uuid4()}",
        f"/console/entities/company/{uuid.uuid4()}",
        "/console/batches/not-a-uuid",
        "/console/no/such/page",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text and "Traceback" not in response.text


async def test_member_cannot_open_admin_pages(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    member = await add_member(database, tenant)
    await signed_in(client, member.email)
    for path in ("/console/admin/orgs", "/console/admin/tokens", "/console/usage/budgets"):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.text


async def test_unknown_console_page_needs_a_session_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/batches")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/batches"


async def test_database_outage_is_a_503_page(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    await signed_in(client, user.email)
    app = client._transport.app  # type: ignore[attr-defined]
    broken = Database("postgresql+asyncpg://dex@127.0.0.1:1/none", pool_size=1)
    app.state.db, healthy = broken, app.state.db
    try:
        response = await client.get("/console/batches")
    finally:
        app.state.db = healthy
        await broken.dispose()
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text and "Traceback" not in response.text


async def test_super_admin_manages_orgs_users_and_tokens(
    client: httpx.AsyncClient, database: Database
) -> None:
    email = await add_super_admin(database)
    token = csrf_of(await client.get("/console/login"))
    response = await client.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "super_admin": "1", "csrf_token": token},
    )
    assert response.headers["location"] == "/console/admin/orgs"
    created = await client.post(
        "/console/admin/orgs", data={"name": "Initech", "slug": "initech", "csrf_token": token}
    )
    assert created.status_code == 303
    page = await client.get("/console/admin/orgs")
    assert "initech" in page.text
    org_id = re.search(r"/console/admin/users\?org_id=([0-9a-f-]+)", page.text).group(1)  # type: ignore[union-attr]
    await client.post(
        "/console/admin/users",
        data={
            "org_id": org_id,
            "email": "boss@initech.test",
            "password": "long enough",
            "role": "org_admin",
            "csrf_token": token,
        },
    )
    users = await client.get(f"/console/admin/users?org_id={org_id}")
    user_id = re.search(r"/console/admin/users/([0-9a-f-]+)/deactivate", users.text).group(1)  # type: ignore[union-attr]
    shown = await client.post(
        "/console/admin/tokens", data={"user_id": user_id, "name": "ci", "csrf_token": token}
    )
    raw = re.search(r'id="new-token">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    # The token shown once works against the API, and is never shown again.
    me = await client.post("/api/auth/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.json()["data"]["org_id"] == org_id
    assert raw not in (await client.get("/console/admin/tokens")).text
    # A duplicate slug is a clear conflict page, not an error trace.
    again = await client.post(
        "/console/admin/orgs", data={"name": "Initech", "slug": "initech", "csrf_token": token}
    )
    assert again.status_code == 409 and "Traceback" not in again.text


async def test_tenant_pages_are_not_for_super_admins(client: httpx.AsyncClient, database: Database) -> None:
    email = await add_super_admin(database)
    token = csrf_of(await client.get("/console/login"))
    await client.post(
        "/console/login", data={"email": email, "password": PASSWORD, "super_admin": "1", "csrf_token": token}
    )
    assert (await client.get("/console/batches")).status_code == 403


async def test_usage_page_and_budget_setting(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    token = await signed_in(client, user.email)
    usage = await client.get("/console/usage")
    assert usage.status_code == 200 and "<svg" in usage.text and "Credits per day" in usage.text
    refused = await client.post(
        "/console/usage/budgets", data={"budget_credits": "lots", "csrf_token": token}
    )
    assert refused.status_code == 400 and "number of credits" in refused.text
    saved = await client.post("/console/usage/budgets", data={"budget_credits": "250", "csrf_token": token})
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert 'id="budget-value">250<' in page.text and "Budget saved." in page.text


async def test_webhook_pages_are_scoped_to_the_org(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    token = await signed_in(client, user.email)
    assert (await client.get("/console/webhooks")).status_code == 200
    missing = await client.post(
        f"/console/webhooks/deliveries/{uuid.uuid4()}/redeliver", data={"csrf_token": token}
    )
    assert missing.status_code == 404
    bad_url = await client.post(
        "/console/webhooks", data={"url": "ftp://nowhere", "events": "run.failed", "csrf_token": token}
    )
    assert bad_url.status_code == 400 and "Traceback" not in bad_url.text


async def test_live_streams_only_follow_the_callers_batches(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await set_password(database, tenant)
    token = await signed_in(client, user.email)
    headers = tenant.headers
    blueprint = await client.post(
        "/api/blueprints/create",
        json={
            "name": "v",
            "entity_type": "person",
            "steps": [{"position": 1, "operation_id": "person.contact.verify_email"}],
        },
        headers=headers,
    )
    submitted = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": blueprint.json()["data"]["id"],
            "company_id": str(tenant.company_id),
            "entities": [{"entity_type": "person", "input": {"email": "a@acme.io"}}],
        },
        headers=headers,
    )
    submission = submitted.json()["data"]["submission_id"]
    assert (
        await client.post(f"/console/batches/{submission}/cancel", data={"csrf_token": token})
    ).status_code == 303
    listing = await client.get(f"/console/batches/live?ids={submission}")
    assert listing.headers["content-type"].startswith("text/event-stream")
    assert '"status":"canceled"' in listing.text and "event: end" in listing.text
    detail = await client.get(f"/console/batches/{submission}/live")
    assert "event: snapshot" in detail.text and "event: end" in detail.text
    # Seen from another org: the list stream finds nothing, the batch stream is a 404.
    outsider = await set_password(database, await create_tenant(database, "globex"))
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        await signed_in(other, outsider.email)
        assert "event: batch" not in (await other.get(f"/console/batches/live?ids={submission}")).text
        assert (await other.get(f"/console/batches/{submission}/live")).status_code == 404
