"""Live progress over a real HTTP server: the event stream of a submission shows its snapshot, run and step
transitions as the executor makes them, steps waiting for budget, and ends when the submission does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from dex.api.app import create_app
from dex.client import DexClient, remote_client
from dex.config import Settings
from dex.db.engine import Database
from dex.pipeline.executor import Executor
from dex.providers.runtime import ProviderRuntime
from dex.server import serve_in_background
from tests.conftest import TEST_EXECUTOR_CONFIG, PipelineHarness

VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]


@pytest.fixture
async def api(
    pipeline: PipelineHarness, sandbox_settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[DexClient]:
    """The API on a real port (streams are not buffered), driven like the CLI drives it."""
    app = create_app(sandbox_settings, database=database, providers=providers, run_executor=False)
    async with serve_in_background(app) as url, remote_client(url, pipeline.tenant.token) as client:
        yield client


async def _collect(client: DexClient, submission_id: str, events: list[tuple[str, dict]]) -> None:
    async for event in client.events(submission_id):
        events.append(event)
        if event[0] == "end":
            return


async def _until(events: list[tuple[str, dict]], predicate: Callable[[str, dict], bool]) -> None:
    deadline = time.monotonic() + 20
    while not any(predicate(name, data) for name, data in events):
        assert time.monotonic() < deadline, events
        await asyncio.sleep(0.02)


async def test_the_stream_follows_a_submission_through_budget_and_to_its_end(
    pipeline: PipelineHarness, api: DexClient, database: Database
) -> None:
    await pipeline.executor.stop()  # a fresh executor starts once the stream is open
    assert (await pipeline.post("/api/v1/budgets/set", {"budget_credits": 0})).status_code == 200
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    submission = await pipeline.submit(
        blueprint, [{"email": "ava@acme.io"}, {"email": "ben@acme.io"}], "person"
    )

    events: list[tuple[str, dict]] = []
    reader = asyncio.create_task(_collect(api, submission, events))
    await _until(events, lambda name, _: name == "snapshot")
    executor = Executor(database, pipeline.executor.deps, TEST_EXECUTOR_CONFIG, plans=pipeline.executor.plans)
    await executor.start()
    try:
        # Both steps park: the summary says so, and that the submission waits for budget.
        await _until(events, lambda name, data: name == "summary" and data["parked_steps"] == 2)
        assert (await pipeline.post("/api/v1/budgets/set", {"budget_credits": None})).status_code == 200
        await asyncio.wait_for(reader, timeout=20)
    finally:
        await executor.stop()

    names = [name for name, _ in events]
    snapshot = events[0][1]
    assert names[0] == "snapshot" and (snapshot["status"], snapshot["total"]) == ("queued", 2)
    steps = [data for name, data in events if name == "step"]
    assert [step["status"] for step in steps].count("budget_exhausted") == 2
    assert [step["status"] for step in steps].count("succeeded") == 2
    assert {step["operation_id"] for step in steps} == {"person.contact.verify_email"}
    runs = [(data["pipeline_run_id"], data["status"]) for name, data in events if name == "run"]
    assert sorted(status for _, status in runs) == ["running", "running", "succeeded", "succeeded"]
    # Once both wait (the transaction that parks the second says so), the submission waits for budget.
    parked = next(data for name, data in events if name == "summary" and data["parked_steps"] == 2)
    assert parked["status"] == "waiting_for_budget"
    # With what it needs: a verification costs 0.5 credits, and the org's budget is 0.
    assert parked["budget"]["next_call_credits"] == 0.5
    assert parked["budget"]["org"] == {"budget_credits": 0, "spent_credits": 0, "reserved_credits": 0}
    assert names[-1] == "end" and events[-1][1]["status"] == "completed" and events[-1][1]["completed"] == 2


async def test_follow_reports_every_summary_until_the_end(pipeline: PipelineHarness, api: DexClient) -> None:
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "cara@acme.io"}], "person")
    summaries: list[dict] = []
    await asyncio.wait_for(api.follow(submission, summaries.append), timeout=20)
    assert summaries[-1]["status"] == "completed" and summaries[-1]["completed"] == 1
    # A finished submission answers with its snapshot and the end at once.
    events: list[tuple[str, dict]] = []
    await asyncio.wait_for(_collect(api, submission, events), timeout=5)
    assert [name for name, _ in events] == ["snapshot", "end"]


async def test_the_stream_is_refused_like_the_other_batch_endpoints(
    pipeline: PipelineHarness, api: DexClient
) -> None:
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "dan@acme.io"}], "person")
    anonymous = DexClient(api.http, api.base_url, {})
    with pytest.raises(Exception, match="Missing authorization token"):
        await _collect(anonymous, submission, [])
    response = await pipeline.client.get(
        "/api/v1/batch/events",
        params={"submission_id": submission, "max_seconds": 0},
        headers=pipeline.tenant.headers,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ") and "event: snapshot" in response.text
