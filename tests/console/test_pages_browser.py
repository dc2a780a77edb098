"""Entities, blueprints, cancel and resume, and access rules, in a real browser."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, Route, expect

from tests.conftest import SandboxHandle, Tenant
from tests.console.conftest import VERIFY, ConsoleServer, add_member, sign_in, submit
from tests.entities.conftest import upsert

PROFILE = [{"position": 1, "operation_id": "company.enrich.profile"}]


async def test_entity_provenance_and_version_diff(page: Page, console: ConsoleServer) -> None:
    blueprint = await console.blueprint("Profiles", PROFILE)
    await submit(console, blueprint, "company", [{"domain": "acme.io"}])
    await console.executor.wait_idle(30)
    # A later write changes the head count: version 2.
    await upsert(
        console.database,
        console.admin.tenant.org_id,
        "company",
        {"domain": "acme.io", "employee_count": 4242},
    )
    await sign_in(page, console.admin)
    await page.get_by_role("link", name="Entities").click()
    await page.get_by_label("Domain").fill("acme.io")
    await page.get_by_role("button", name="Search").click()
    await page.locator("#entities tbody a").first.click()
    fields = page.locator("#fields")
    domain = fields.locator("tr[data-field-name=canonical_domain]")
    await expect(domain).to_contain_text("acme.io")
    name = fields.locator("tr[data-field-name=canonical_name]")
    await expect(name).to_contain_text("company.enrich.profile")
    diff = page.locator("#diff")
    await expect(diff).to_contain_text("Version 1 → version 2")
    await expect(diff.locator("tr", has_text="employee_count")).to_contain_text("4242")
    await expect(page.locator("#timeline tbody tr").first).to_be_visible()


async def test_create_blueprint_from_the_registry(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, console.admin)
    await page.get_by_role("link", name="Blueprints").click()
    await page.get_by_role("link", name="New blueprint").click()
    await page.get_by_label("Name").fill("Find people")
    await page.get_by_label("Step 1 operation").select_option("company.enrich.profile")
    await page.get_by_label("Step 2 operation").select_option("person.search")
    await page.locator("input[name=fanout_2]").check()
    await page.get_by_label("Step 2 options").fill('{"max_results": 3}')
    await page.get_by_role("button", name="Save blueprint").click()
    await expect(page.get_by_role("heading", name="Find people")).to_be_visible()
    await expect(page.locator("#steps")).to_contain_text("person.search")
    await expect(page.locator("#steps")).to_contain_text("max_results")
    # An invalid one is refused with the API's validation message, and the entries stay.
    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Step 2 options").fill("not json")
    await page.get_by_role("button", name="Save blueprint").click()
    await expect(page.locator("#form-error")).to_contain_text("not valid JSON")
    await expect(page.get_by_label("Step 2 options")).to_have_value("not json")


async def test_create_blueprint_from_the_assembler(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, console.admin)
    await page.goto("/console/blueprints/assemble?entity_type=company")
    await page.get_by_label("industry_primary", exact=True).check()
    await page.get_by_label("Name").first.fill("Industry finder")
    await page.get_by_role("button", name="Assemble").click()
    assembled = page.locator("#assembled")
    await expect(assembled).to_contain_text("company.enrich")
    await assembled.get_by_role("button", name="Save blueprint").click()
    await expect(page.get_by_role("heading", name="Industry finder")).to_be_visible()
    await expect(page.locator("#steps tbody tr")).not_to_have_count(0)


async def test_cancel_a_waiting_batch(page: Page, console: ConsoleServer) -> None:
    await console.executor.stop()  # nothing runs: the batch waits, to be canceled from the page
    blueprint = await console.blueprint("Verify", VERIFY, entity_type="person")
    canceled = await submit(console, blueprint, "person", [{"email": f"p{i}@acme.io"} for i in range(3)])
    await sign_in(page, console.admin)
    await page.goto(f"/console/batches/{canceled}")
    await page.get_by_role("button", name="Cancel batch").click()
    await expect(page.locator("#summary [data-field=status]")).to_have_text("canceled")
    await expect(page.locator("#summary [data-field=failed]")).to_have_text("3")


async def test_resume_a_failed_batch(page: Page, console: ConsoleServer, sandbox: SandboxHandle) -> None:
    """A batch that failed on its provider resumes from the page and completes once the provider is back."""
    blueprint = await console.blueprint("Verify", VERIFY, entity_type="person")
    sandbox.state.script_faults("millionverifier", ["503"] * 6)
    sandbox.state.script_faults("reoon", ["503"] * 6)
    failed = await submit(console, blueprint, "person", [{"email": "dan@acme.io"}])
    await console.executor.wait_idle(30)
    await sign_in(page, console.admin)
    await page.goto(f"/console/batches/{failed}")
    await expect(page.locator("#summary [data-field=status]")).to_have_text("failed")
    await page.get_by_role("button", name="Resume failed runs").click()
    await expect(page.locator("#summary [data-field=status]")).to_have_text("completed", timeout=30_000)


async def test_member_cannot_reach_admin_pages(page: Page, console: ConsoleServer) -> None:
    member = await add_member(console.database, console.admin.tenant)
    await sign_in(page, member)
    response = await page.goto("/console/usage/budgets")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    response = await page.goto("/console/admin/users")
    assert response is not None and response.status == 403


async def test_another_orgs_ids_give_404(page: Page, console: ConsoleServer, other_tenant: Tenant) -> None:
    async with console.api(other_tenant) as api:
        created = await api.post("/api/blueprints/create", json={"name": "theirs", "steps": PROFILE})
    theirs = created.json()["data"]["id"]
    await sign_in(page, console.admin)
    for path in (f"/console/blueprints/{theirs}", f"/console/batches/{uuid.uuid4()}"):
        response = await page.goto(path)
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", name="404 · Not found")).to_be_visible()


async def test_form_post_without_csrf_token_is_refused(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, console.admin)
    await page.goto("/console/blueprints/new")
    await page.locator("#main input[name=csrf_token]").evaluate("input => input.remove()")
    await page.get_by_label("Name").fill("No token")
    await page.get_by_label("Step 1 operation").select_option("company.enrich.profile")
    await page.get_by_role("button", name="Save blueprint").click()
    await expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    await expect(page.locator(".error-message")).to_contain_text("security token")
    await page.goto("/console/blueprints")
    await expect(page.locator("#blueprints")).not_to_contain_text("No token")


async def test_api_docs_load_without_internet(page: Page, console: ConsoleServer) -> None:
    outside: list[str] = []

    async def local_only(route: Route) -> None:
        if route.request.url.startswith(console.url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", local_only)
    await sign_in(page, console.admin)
    await page.get_by_role("link", name="API docs").click()
    # The whole API's schema is large: rendering it takes a while on a busy machine.
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("dex", timeout=60_000)
    await expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert outside == []
    await page.get_by_role("link", name="← dex console").click()
    await expect(page.get_by_role("heading", name="Batches")).to_be_visible()
