"""Signing in and following batches in a real browser: login, live progress of an uploaded CSV, the run
tree with a failed step's error and provider attempts, cancel and resume."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.conftest import SandboxHandle
from tests.console.conftest import VERIFY, ConsoleServer, sign_in, submit


async def test_login_and_logout(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, console.admin)
    await expect(page.get_by_role("heading", name="Batches")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in to dex")).to_be_visible()
    await page.goto("/console/batches")
    await expect(page).to_have_url(f"{console.url}/console/login?next=/console/batches")


async def test_bad_password_is_refused(page: Page, console: ConsoleServer) -> None:
    await sign_in_with(page, console.admin.email, "not the password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


async def sign_in_with(page: Page, email: str, password: str) -> None:
    await page.goto("/console/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_csv_upload_shows_live_progress_until_completed(page: Page, console: ConsoleServer) -> None:
    await console.blueprint("Verify emails", VERIFY, entity_type="person")
    await sign_in(page, console.admin)
    await page.get_by_role("link", name="New batch").click()
    csv = "Email,Name\nann@acme.io,Ann\nbob@acme.io,Bob\nnot-an-email,Bad\nann@acme.io,Ann again\n"
    await page.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    # The preview shows the first rows and where each column goes.
    await expect(page.get_by_role("heading", name="Preview of people.csv")).to_be_visible()
    await expect(page.get_by_label("Input key for Email")).to_have_value("email")
    await expect(page.locator("#preview td", has_text="bob@acme.io")).to_be_visible()
    await page.get_by_role("button", name="Submit batch").click()
    # The batch page follows the batch live until it completes, without a reload.
    await expect(page.locator("#summary [data-field=status]")).to_have_text("completed", timeout=30_000)
    await expect(page.locator("#summary [data-field=completed]")).to_have_text("2")
    await expect(page.locator("#summary [data-field=percent-text]")).to_have_text("100%")
    results = await page.request.get(page.url.split("?")[0] + "/results.csv")
    assert results.ok and results.headers["content-type"].startswith("text/csv")
    lines = (await results.text()).splitlines()
    assert lines[0].startswith("entity_index,pipeline_run_id,parent_pipeline_run_id,status,error_message")
    assert len(lines) == 3 and all(",completed," in line for line in lines[1:])
    rejections = page.locator("#rejections")
    await rejections.locator("summary").click()
    await expect(rejections).to_contain_text("invalid email 'not-an-email'")
    await expect(rejections).to_contain_text("duplicate of row 2")
    await page.get_by_role("link", name="Batches").click()
    await expect(page.locator("#batches tbody tr")).to_have_count(1)
    await expect(page.locator("#batches [data-field=status]")).to_have_text("completed")


async def test_failed_step_shows_error_and_attempts(
    page: Page, console: ConsoleServer, sandbox: SandboxHandle
) -> None:
    blueprint = await console.blueprint("Verify", VERIFY, entity_type="person")
    sandbox.state.script_faults("millionverifier", ["503"] * 6)
    sandbox.state.script_faults("reoon", ["503"] * 6)
    submission = await submit(console, blueprint, "person", [{"email": "dan@acme.io"}])
    await console.executor.wait_idle(30)
    await sign_in(page, console.admin)
    await page.goto(f"/console/batches/{submission}?failed=1")
    await expect(page.get_by_role("heading", name="Failed runs")).to_be_visible()
    run = page.locator(".run").first
    await run.locator("summary").first.click()
    steps = run.locator(".steps-table")
    await expect(steps).to_contain_text("person.contact.verify_email")
    await expect(steps.locator(".badge", has_text="failed").first).to_be_visible()
    attempts = steps.locator("table.attempts")
    await expect(attempts.first).to_contain_text("millionverifier")
    await expect(attempts.first).to_contain_text("503")
