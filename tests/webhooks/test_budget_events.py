"""``submission.waiting_for_budget``: announced to subscribed endpoints when a submission's remaining work
all waits for budget, with what it needs; raising the budget lets it finish (``submission.completed``)."""

from __future__ import annotations

import pytest

from tests.conftest import PipelineHarness
from tests.webhooks.conftest import Receiver

TECHNOGRAPHICS = [{"position": 1, "operation_id": "company.enrich.technographics"}]


@pytest.mark.usefixtures("dispatcher")
async def test_waiting_for_budget_is_announced_with_what_it_needs(
    pipeline: PipelineHarness, receiver: Receiver
) -> None:
    events = ["submission.waiting_for_budget", "submission.completed"]
    created = await pipeline.post("/api/v1/webhooks/create", {"url": receiver.url, "events": events})
    assert created.status_code == 200, created.text
    assert (await pipeline.post("/api/v1/budgets/set", {"budget_credits": 1})).status_code == 200
    blueprint = await pipeline.blueprint("technologies", TECHNOGRAPHICS)
    submission = await pipeline.submit(blueprint, [{"domain": f"hook-{i}.io"} for i in range(3)])
    await pipeline.run_until_idle()

    waiting = (await receiver.wait_for(1))[0].payload
    assert waiting["type"] == "submission.waiting_for_budget"
    data = waiting["data"]
    assert data["submission_id"] == submission and data["status"] == "waiting_for_budget"
    assert data["summary"] == {"total": 3, "completed": 1, "failed": 0, "canceled": 0}
    assert data["budget"]["org"] == {"budget_credits": 1, "spent_credits": 1, "reserved_credits": 0}
    assert data["budget"]["next_call_credits"] == 1

    # Submission lists say so too, and find it by that status.
    waiting_list = await pipeline.post("/api/submissions/list", {"status": "waiting_for_budget"})
    assert [row["id"] for row in waiting_list.json()["data"]] == [submission]

    assert (await pipeline.post("/api/v1/budgets/set", {"budget_credits": None})).status_code == 200
    await pipeline.run_until_idle()
    completed = (await receiver.wait_for(2))[1].payload
    assert completed["type"] == "submission.completed" and completed["data"]["status"] == "completed"
    listed = await pipeline.post("/api/submissions/list", {})
    assert [row["status"] for row in listed.json()["data"]] == ["completed"]
