"""Budgets on the real executor and sandbox: steps that would overspend wait as ``budget_exhausted``, lose
nothing, and resume when the budget is raised; a submission whose work all waits is waiting_for_budget
and can be canceled."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from tests.conftest import PipelineHarness, SandboxHandle, create_tenant
from tests.console.conftest import set_password
from tests.console.test_http import signed_in

# One paid call per entity: a LeadMagic lookup, 1 credit each.
TECHNOGRAPHICS = [{"position": 1, "operation_id": "company.enrich.technographics"}]
DOMAINS = [{"domain": f"budget{i}.io"} for i in range(5)]


async def _steps(database: Database, submission: str) -> list[tuple[str, int]]:
    async with database.transaction() as session:
        rows = await session.execute(
            text("SELECT status, attempt FROM step_results WHERE submission_id = :s ORDER BY status"),
            {"s": submission},
        )
        return [tuple(row) for row in rows]


async def set_budget(harness: PipelineHarness, **body: object) -> dict:
    response = await harness.post("/api/v1/budgets/set", body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_org_budget_parks_steps_until_it_is_raised(
    serial: PipelineHarness, database: Database, sandbox: SandboxHandle
) -> None:
    assert (await set_budget(serial, budget_credits=2))["org"]["budget_credits"] == "2.0000"
    blueprint = await serial.blueprint("technologies", TECHNOGRAPHICS)
    submission = await serial.submit(blueprint, DOMAINS)
    await serial.run_until_idle()

    status = await serial.status(submission)
    # Parked work is not finished work, and not moving work either.
    assert status["submission"]["status"] == "waiting_for_budget"
    assert status["summary"]["completed"] == 2 and status["summary"]["running"] == 3
    assert status["usage"]["cost_credits"] == "2.0000" and status["usage"]["parked_steps"] == 3
    parked = [step for step in await _steps(database, submission) if step[0] == "budget_exhausted"]
    assert parked == [("budget_exhausted", 0)] * 3  # parking used up no attempt
    paid_calls = len([entry for entry in sandbox.state.ledger if entry.billable])
    assert paid_calls == 2

    view = (await serial.post("/api/v1/budgets/get", {})).json()["data"]
    assert view["org"] == {"budget_credits": "2.0000", "spent_credits": "2.0000", "remaining_credits": "0"}
    assert view["parked_steps"] == 3

    raised = await set_budget(serial, budget_credits=100)
    assert raised["requeued_steps"] == 3
    await serial.run_until_idle()
    status = await serial.status(submission)
    assert status["submission"]["status"] == "completed"
    assert status["usage"]["cost_credits"] == "5.0000" and status["usage"]["parked_steps"] == 0
    assert await _steps(database, submission) == [("succeeded", 1)] * 5
    assert len([entry for entry in sandbox.state.ledger if entry.billable]) == 5


async def test_submission_budget_and_removing_budgets(serial: PipelineHarness) -> None:
    await set_budget(serial, budget_credits=0)  # nothing runs until the submission's budget is in place
    blueprint = await serial.blueprint("technologies", TECHNOGRAPHICS)
    submission = await serial.submit(blueprint, DOMAINS[:3])
    await serial.run_until_idle()
    # The org's budget still allows nothing: a submission budget alone resumes no step.
    assert (await set_budget(serial, submission_id=submission, budget_credits=1))["requeued_steps"] == 0
    assert (await set_budget(serial, budget_credits=None))["requeued_steps"] == 3
    await serial.run_until_idle()
    view = (await serial.post("/api/v1/budgets/get", {"submission_id": submission})).json()["data"]
    assert view["submission"]["spent_credits"] == "1.0000" and view["parked_steps"] == 2
    assert view["org"]["budget_credits"] is None

    # Removing the submission's budget (null) resumes the rest.
    assert (await set_budget(serial, submission_id=submission, budget_credits=None))["requeued_steps"] == 2
    await serial.run_until_idle()
    assert (await serial.status(submission))["submission"]["status"] == "completed"


async def test_raising_a_budget_that_still_does_not_fit_requeues_nothing(serial: PipelineHarness) -> None:
    await set_budget(serial, budget_credits=1)
    blueprint = await serial.blueprint("technologies", TECHNOGRAPHICS)
    await serial.submit(blueprint, DOMAINS[:3])
    await serial.run_until_idle()
    # Spent 1 of 1: a budget of 1 again leaves no room, so the parked steps stay parked.
    assert (await set_budget(serial, budget_credits=1))["requeued_steps"] == 0


async def test_cancel_skips_parked_steps_and_finishes_the_submission(
    serial: PipelineHarness, database: Database
) -> None:
    await set_budget(serial, budget_credits=0)
    blueprint = await serial.blueprint("technologies", TECHNOGRAPHICS)
    submission = await serial.submit(blueprint, DOMAINS[:2])
    await serial.run_until_idle()
    assert {step[0] for step in await _steps(database, submission)} == {"budget_exhausted"}
    canceled = await serial.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.json()["data"]["status"] == "canceled"
    assert canceled.json()["data"]["skipped_steps"] == 2
    assert {step[0] for step in await _steps(database, submission)} == {"skipped"}


async def test_only_org_admins_manage_budgets_and_only_their_orgs(
    serial: PipelineHarness, database: Database
) -> None:
    member = await create_tenant(database, "budget-member", role="member")
    other = PipelineHarness(serial.client, serial.executor, member)
    assert (await other.post("/api/v1/budgets/set", {"budget_credits": 5})).status_code == 403
    assert (await other.post("/api/v1/budgets/get", {})).status_code == 403
    blueprint = await serial.blueprint("technologies", TECHNOGRAPHICS)
    submission = await serial.submit(blueprint, DOMAINS[:1])
    outsider = PipelineHarness(
        serial.client, serial.executor, await create_tenant(database, "budget-outsider")
    )
    response = await outsider.post("/api/v1/budgets/set", {"submission_id": submission, "budget_credits": 5})
    assert response.status_code == 404
    assert (await outsider.post("/api/v1/budgets/set", {"budget_credits": -1})).status_code == 422


async def test_a_super_admin_naming_an_org_that_does_not_exist_gets_404(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Found by the API fuzz: the budget of a missing org was a 500, and setting one answered 500 too."""
    operator = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
    missing = str(uuid.uuid4())
    for path, body in (
        ("/api/v1/budgets/get", {"org_id": missing}),
        ("/api/v1/budgets/set", {"org_id": missing, "budget_credits": None}),
    ):
        response = await client.post(path, json=body, headers=operator)
        assert (response.status_code, response.json()) == (404, {"error": "Org not found"})


async def test_the_console_shows_what_a_waiting_batch_needs(
    serial: PipelineHarness, database: Database
) -> None:
    await set_budget(serial, budget_credits=2)
    submission = await serial.submit(await serial.blueprint("technologies", TECHNOGRAPHICS), DOMAINS)
    await serial.run_until_idle()
    user = await set_password(database, serial.tenant)
    await signed_in(serial.client, user.email)

    page = await serial.client.get(f"/console/batches/{submission}")
    assert page.status_code == 200 and 'id="budget-wait"' in page.text
    assert 'data-field="org-budget">2.0 (+0.0 in flight) of 2.0<' in page.text
    assert "(1.0 credits)" in page.text  # the cheapest call a parked step waits to make
