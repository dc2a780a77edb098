"""The console served on a real port with an embedded executor, users who sign in with passwords, and a
headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.pipeline.executor import Executor
from dex.providers.runtime import ProviderRuntime
from dex.server import serve_in_background
from dex.tenancy.passwords import hash_password
from tests.conftest import REPO_ROOT, Tenant, add_user_with_token, app_with_executor, create_tenant

# A one-step blueprint that verifies a person's email (MillionVerifier, then Reoon).
VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / ".dex" / "screenshots"
PASSWORD = "correct horse battery staple"
SUPER_ADMIN_EMAIL = "root@dex.test"


@dataclass
class ConsoleUser:
    email: str
    password: str
    tenant: Tenant


async def set_password(database: Database, tenant: Tenant, password: str = PASSWORD) -> ConsoleUser:
    async with database.transaction() as session:
        email = (
            await session.execute(
                text("UPDATE users SET password_hash = :hash WHERE id = :id RETURNING email"),
                {"hash": await hash_password(password), "id": tenant.user_id},
            )
        ).scalar_one()
    return ConsoleUser(email, password, tenant)


async def add_member(database: Database, tenant: Tenant, password: str = PASSWORD) -> ConsoleUser:
    """A member of ``tenant``'s company, with a password."""
    token = f"member-{tenant.org_id.hex}"
    async with database.transaction() as session:
        user_id = await add_user_with_token(
            session,
            tenant.org_id,
            tenant.company_id,
            "member",
            f"member-{tenant.org_id.hex[:8]}@acme.test",
            token,
        )
    member = Tenant(tenant.org_id, tenant.company_id, user_id, token)
    return await set_password(database, member, password)


async def add_super_admin(database: Database, password: str = PASSWORD) -> str:
    async with database.transaction() as session:
        await session.execute(
            text("INSERT INTO super_admins (email, password_hash) VALUES (:email, :hash)"),
            {"email": SUPER_ADMIN_EMAIL, "hash": await hash_password(password)},
        )
    return SUPER_ADMIN_EMAIL


@dataclass
class ConsoleServer:
    url: str
    executor: Executor
    admin: ConsoleUser
    database: Database

    def api(self, tenant: Tenant | None = None) -> httpx.AsyncClient:
        """An API client for the same server, authenticated as ``tenant`` (the admin's by default)."""
        return httpx.AsyncClient(base_url=self.url, headers=(tenant or self.admin.tenant).headers, timeout=30)

    async def blueprint(self, name: str, steps: list[dict], entity_type: str = "company") -> str:
        async with self.api() as api:
            response = await api.post(
                "/api/blueprints/create", json={"name": name, "steps": steps, "entity_type": entity_type}
            )
        assert response.status_code == 200, response.text
        return response.json()["data"]["id"]


@pytest.fixture
async def console(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime, tenant: Tenant
) -> AsyncIterator[ConsoleServer]:
    async with app_with_executor(sandbox_settings, database, providers) as (app, executor):
        admin = await set_password(database, tenant)
        async with serve_in_background(app) as url:
            yield ConsoleServer(url, executor, admin, database)


@pytest.fixture
async def other_tenant(database: Database) -> Tenant:
    return await create_tenant(database, "globex")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(
    browser: Browser, console: ConsoleServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A fresh browser context on the console; the page it ends on is saved as a screenshot."""
    context = await browser.new_context(base_url=console.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        await opened.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        await context.close()


async def submit(console: ConsoleServer, blueprint: str, entity_type: str, inputs: list[dict]) -> str:
    async with console.api() as api:
        response = await api.post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": blueprint,
                "company_id": str(console.admin.tenant.company_id),
                "entities": [{"entity_type": entity_type, "input": i} for i in inputs],
            },
        )
    assert response.status_code == 200, response.text
    return response.json()["data"]["submission_id"]


async def sign_in(
    page: Page, user: ConsoleUser | str, password: str = PASSWORD, *, super_admin: bool = False
) -> None:
    email = user if isinstance(user, str) else user.email
    await page.goto("/console/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    if super_admin:
        await page.get_by_label("Sign in as a super-admin").check()
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
