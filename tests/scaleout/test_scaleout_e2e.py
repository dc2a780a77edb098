"""The pipeline end-to-end scenarios of ``tests/pipeline/test_batch_e2e.py``, run by two ``dex worker``
processes over RabbitMQ and over Redis (this package's ``pipeline`` fixture), and a worker killed in the
middle of a rate-limited batch."""

from __future__ import annotations

import asyncio

import pytest

from dex.db.engine import Database
from tests.conftest import PipelineHarness, SandboxHandle, scalar
from tests.pipeline import test_batch_e2e as scenarios
from tests.scaleout.conftest import RATE_LIMITED_PROVIDERS, RATE_PER_SECOND, WorkerProcess

pytestmark = pytest.mark.xdist_group("scaleout")

test_linear = scenarios.test_linear_person_pipeline_completes_and_upserts
test_conditional = scenarios.test_condition_skips_step_and_missing_inputs_fail_the_run
test_failed = scenarios.test_failed_step_fails_the_run_and_skips_the_rest
test_transient_retry = scenarios.test_transient_failures_are_retried
test_fan_out = scenarios.test_fan_out_children_continue_at_the_next_step
test_nested_fan_out = scenarios.test_nested_fan_out_reaches_grandchildren
test_cancel = scenarios.test_cancel_skips_queued_work
test_resume = scenarios.test_resume_continues_a_failed_run_from_its_failed_step

PEOPLE = 30


def busiest_second(timestamps: list[float]) -> int:
    """The most requests any 1-second window (sliding) holds."""
    ordered = sorted(timestamps)
    busiest, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


async def test_a_worker_killed_mid_batch_loses_nothing_and_the_rate_limit_holds(
    pipeline: PipelineHarness, workers: list[WorkerProcess], sandbox: SandboxHandle, database: Database
) -> None:
    # Above the limit the sandbox answers 429, as a provider would; the workers share it through Redis.
    sandbox.configure(rate_limit_per_second=RATE_PER_SECOND)
    blueprint = await pipeline.blueprint("verify", [scenarios.VERIFY], entity_type="person")
    emails = [{"email": f"p{i}@kill.io"} for i in range(PEOPLE)]
    submission = await pipeline.submit(blueprint, emails, "person")
    succeeded = "SELECT count(*) FROM step_results WHERE status = 'succeeded'"
    for _ in range(600):
        if await scalar(database, succeeded) >= PEOPLE // 4:
            break
        await asyncio.sleep(0.05)
    pid = workers[0].process.pid
    workers[0].kill()
    assert await scalar(database, succeeded) < PEOPLE  # killed mid-batch
    # The steps the dead worker held at that moment (there may be none: the kill is a race by nature).
    orphaned = await scalar(
        database,
        f"SELECT count(*) FROM step_results WHERE status = 'running' AND claimed_by LIKE '%:{pid}:%'",
    )

    await pipeline.run_until_idle(timeout=60)
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed"
    assert status["summary"]["completed"] == PEOPLE
    # The killed worker's steps were claimed again (a new attempt) ...
    if orphaned:
        assert await scalar(database, "SELECT max(attempt) FROM step_results") >= 2
    # ... but no step that had succeeded ran twice.
    twice = "SELECT count(*) FROM (SELECT step_result_id FROM operation_runs WHERE status <> 'failed' "
    assert await scalar(database, twice + "GROUP BY 1 HAVING count(*) > 1) AS again") == 0
    ledger = sandbox.state.ledger
    assert [entry for entry in ledger if entry.status == 429] == []
    for provider in RATE_LIMITED_PROVIDERS:
        assert busiest_second([entry.at for entry in ledger if entry.provider == provider]) <= RATE_PER_SECOND
