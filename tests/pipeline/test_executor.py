"""Executor guarantees that need a controlled setup: lease expiry, per-step timeouts, skip_if_fresh."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.engine import Database
from dex.operations.repository import UNSETTLED_CALLS, empty_old_journal_slot, settle_orphaned_calls
from dex.pipeline import heartbeats
from dex.pipeline import repository as repo
from dex.pipeline.claims import claim
from dex.pipeline.executor import Executor, record_outcomes, requeue_abandoned, retryable, run_claimed_step
from dex.pipeline.runner import ClaimedStep, StepOutcome
from dex.providers.journal import CallJournal, CallOrigin, Requester
from dex.providers.models import JOURNAL_SLOT_OF_NOW
from tests.conftest import PipelineHarness, SandboxHandle, scalar
from tests.pipeline.test_batch_e2e import DEMO_STEPS
from tests.providers.test_journal_ring import move_to_old_slot

VERIFY = {"position": 1, "operation_id": "person.contact.verify_email"}


async def run_in_restarted_executor(
    pipeline: PipelineHarness, submission: str, **config: float
) -> tuple[Executor, dict[str, Any]]:
    """A fresh executor (``config`` over the test's) runs the batch to the end; its single run, completed."""
    restarted = Executor(
        pipeline.executor.database,
        pipeline.executor.deps,
        replace(pipeline.executor.config, **config),
        plans=pipeline.executor.plans,
    )
    await restarted.start()
    try:
        await restarted.wait_idle(timeout=60)
    finally:
        await restarted.stop()
    status = await pipeline.status(submission)
    assert status["runs"][0]["status"] == "completed"
    run_id = status["runs"][0]["pipeline_run_id"]
    return restarted, (await pipeline.post("/api/pipeline-runs/get", {"id": run_id})).json()["data"]


async def test_steps_of_a_worker_that_vanished_run_again_after_its_lease(
    pipeline: PipelineHarness, database: Database
) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("lease", [VERIFY], entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "gone@acme.io"}], "person")
    async with database.transaction() as session:
        # A worker on another machine claims the step with a 1 s lease and is never heard of again.
        stolen = await claim(
            session, pipeline.executor.plans, worker="other-host:1:x", lease_seconds=1, capacity=5
        )
    assert len(stolen) == 1
    _, run = await run_in_restarted_executor(pipeline, submission, lease_seconds=1.5)
    assert run["step_results"][0]["attempt"] == 2  # claimed twice, recorded once

    # The vanished worker comes back and reports its execution: its spend is recorded, its answer is not
    # applied (the step keeps the other execution's), so the step still has one answer.
    late = await run_claimed_step(stolen[0], pipeline.executor.plans, pipeline.executor.deps)
    assert late.kind == "succeeded"
    await record_outcomes(
        database, [late], worker="other-host:1:x", plans=pipeline.executor.plans, retry_base_seconds=0.05
    )
    async with database.transaction() as session:
        runs = (
            await session.execute(
                text(
                    "SELECT r.status, r.output_payload->>'discarded' AS discarded, r.cost_credits, "
                    "(SELECT sum(a.cost_credits) FROM operation_attempts a WHERE a.run_id = r.run_id) "
                    "AS spent FROM operation_runs r WHERE r.step_result_id = :step ORDER BY r.created_at"
                ),
                {"step": stolen[0].step_id},
            )
        ).all()
    assert [(r.status, r.discarded) for r in runs] == [("verified", None), ("failed", "lease_lost")]
    # Its attempts are recorded at their cost (nothing here: the answer came from the enrichment cache).
    assert runs[1].spent == runs[1].cost_credits == 0


async def test_steps_of_a_worker_whose_heartbeat_stopped_run_again_before_its_lease_ends(
    pipeline: PipelineHarness, database: Database
) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("heartbeat", [VERIFY], entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "silent@acme.io"}], "person")
    async with database.transaction() as session:
        # A worker on another machine claims the step with an hour's lease, beats once, then falls silent.
        stolen = await claim(
            session, pipeline.executor.plans, worker="other-host:1:y", lease_seconds=3600, capacity=5
        )
        await heartbeats.beat(session, worker="other-host:1:y", timeout_seconds=0.2)
    assert len(stolen) == 1
    restarted, run = await run_in_restarted_executor(pipeline, submission)
    assert run["step_results"][0]["attempt"] == 2
    # The silence was handled once, and a cleanly stopped executor leaves no heartbeat behind.
    async with database.transaction() as session:
        left = await session.execute(
            text("SELECT count(*) FROM executor_heartbeats WHERE worker = ANY(:workers)"),
            {"workers": ["other-host:1:y", restarted.worker]},
        )
        assert left.scalar_one() == 0


async def test_a_silent_processs_kept_answers_wait_for_its_steps_next_runs(
    pipeline: PipelineHarness, database: Database
) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("heartbeat", [VERIFY], entity_type="person")
    await pipeline.submit(blueprint, [{"email": "kept@acme.io"}], "person")
    async with database.transaction() as session:
        stolen = await claim(
            session, pipeline.executor.plans, worker="other-host:2:y", lease_seconds=3600, capacity=5
        )
        await heartbeats.beat(session, worker="other-host:2:y", timeout_seconds=0.01)
        # Another process beats on: its heartbeat is what tells a silence from a database outage.
        await heartbeats.beat(session, worker="other-host:3:z", timeout_seconds=60)
    # The process had a paid answer for the step, not yet recorded; its provider journal has a name of
    # its own, on the same process.
    journal = CallJournal(database, owner="other-host:2:journal")
    origin = CallOrigin(
        stolen[0].org_id,
        uuid.uuid4(),
        "person.contact.verify_email",
        "person",
        Requester(
            "org_admin", "pipeline", pipeline_run_id=stolen[0].run_id, step_result_id=stolen[0].step_id
        ),
    )
    call_id = uuid.uuid4()
    await journal.before_send(
        origin, call_id, "reoon", "verify", price=Decimal("1"), sandbox=True, request_hash="elsewhere"
    )
    await journal.answered(call_id, 200, Decimal("1"), {"status": "safe"})
    # Until the heartbeat has expired while the other one went on. Any process's recovery may be the one
    # that takes the silent worker's steps back, so the test waits for the step, not for its own call.
    status = "running"
    for _ in range(200):
        async with database.transaction() as session:
            await requeue_abandoned(session)
            status = await session.scalar(
                text("SELECT status FROM step_results WHERE id = :id"), {"id": stolen[0].step_id}
            )
        if status == "queued":
            break
        await asyncio.sleep(0.05)
    assert status == "queued"
    async with database.transaction() as session:
        released = await session.scalar(
            text("SELECT released FROM provider_call_journal WHERE call_id = :id"), {"id": call_id}
        )
    assert released is True


RELEASED = "SELECT count(*) FROM provider_call_journal WHERE released"


async def finish_the_step(pipeline: PipelineHarness, database: Database, status: str) -> ClaimedStep:
    """The submission's one step, claimed and finished ``status`` (its outcome only)."""
    async with database.transaction() as session:
        [step] = await claim(session, pipeline.executor.plans, worker="w:1:a", lease_seconds=60, capacity=1)
    row = {"id": step.step_id, "attempt": step.attempt, "status": status, "event_from_row": False}
    async with database.transaction() as session:
        await repo.finish_steps(session, [{**row, "retry_delay_seconds": 0}], worker="w:1:a", runs=[])
    return step


async def kept_for_a_retrying_step(pipeline: PipelineHarness, database: Database) -> uuid.UUID:
    """A step whose run failed and will be retried, with a dead process's kept answer released for it (a
    question its run did not get to): the submission's id."""
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("kept", [VERIFY], entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "kept@acme.io"}], "person")
    await released_by_a_dead_process(database, await finish_the_step(pipeline, database, "retrying"))
    return submission


async def released_by_a_dead_process(database: Database, step: ClaimedStep) -> uuid.UUID:
    """A paid answer for ``step`` that a process kept before it died, released for the step's next runs:
    its call id."""
    dead = CallJournal(database, owner=f"localhost-that-died:999999999:{uuid.uuid4().hex[:6]}")
    requester = Requester("org_admin", "pipeline", pipeline_run_id=step.run_id, step_result_id=step.step_id)
    origin = CallOrigin(step.org_id, uuid.uuid4(), "person.contact.verify_email", "person", requester)
    call_id = uuid.uuid4()
    await dead.before_send(
        origin, call_id, "reoon", "verify", price=Decimal("1"), sandbox=True, request_hash="not asked yet"
    )
    await dead.answered(call_id, 200, Decimal("1"), {"status": "safe"})
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 0
    return call_id


async def test_a_steps_kept_answers_wait_through_its_retries_and_are_settled_when_it_is_done(
    pipeline: PipelineHarness, database: Database
) -> None:
    """A run of the step that fails before asking the kept question leaves it for the next run; the step
    done for good settles what no run took over."""
    await kept_for_a_retrying_step(pipeline, database)
    await finish_the_step(pipeline, database, "retrying")
    assert await scalar(database, RELEASED) == 1
    await finish_the_step(pipeline, database, "failed")
    assert await scalar(database, RELEASED) == 0


async def test_a_canceled_steps_kept_answers_are_settled_with_the_cancel(
    pipeline: PipelineHarness, database: Database
) -> None:
    submission = await kept_for_a_retrying_step(pipeline, database)
    canceled = await pipeline.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.status_code == 200 and canceled.json()["data"]["skipped_steps"] == 1
    assert await scalar(database, RELEASED) == 0
    assert await scalar(database, UNSETTLED_CALLS) == 0
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1


async def test_a_kept_answer_outlasts_the_journals_hours_while_its_step_is_not_done(
    pipeline: PipelineHarness, database: Database
) -> None:
    """A step parked (for budget, behind a long queue) for longer than the journal keeps an hour's rows:
    its kept answer moves on to the current hour instead of being settled, and is still there to take."""
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("parked", [VERIFY], entity_type="person")
    await pipeline.submit(blueprint, [{"email": "parked@acme.io"}], "person")
    async with database.transaction() as session:
        [step] = await claim(session, pipeline.executor.plans, worker="w:1:b", lease_seconds=60, capacity=1)
    call_id = await released_by_a_dead_process(database, step)
    await move_to_old_slot(database, call_id)

    async with database.transaction() as session:
        assert await empty_old_journal_slot(session) == 0
    kept = f"SELECT slot = {JOURNAL_SLOT_OF_NOW} FROM provider_call_journal WHERE released AND call_id = :id"
    assert await scalar(database, kept, id=call_id) is True


class RolledBack(Exception):
    """Undoes a test's transaction: other processes' heartbeats come back as they were."""


async def test_an_outage_of_the_database_is_no_ones_death(database: Database) -> None:
    """When every heartbeat stopped at once, nobody is taken for dead until some process has beaten again
    for a whole timeout: the live ones have renewed theirs by then."""
    with contextlib.suppress(RolledBack):
        async with database.transaction() as session:
            # Alone in the table for this transaction (other processes' beats wait for it), two
            # processes whose heartbeats both expired a minute ago: the database was away.
            await session.execute(text("DELETE FROM executor_heartbeats"))
            await session.execute(
                text(
                    "INSERT INTO executor_heartbeats (worker, beat_at, expires_at, beating_since) "
                    "SELECT worker, now() - interval '65 s', now() - interval '60 s', now() - interval '1 h' "
                    "FROM unnest(CAST(:workers AS text[])) AS worker"
                ),
                {"workers": ["outage-host:1:a", "outage-host:2:b"]},
            )
            await heartbeats.beat(session, worker="outage-host:1:a", timeout_seconds=5)  # back first
            assert await heartbeats.take_silent(session) == []
            raise RolledBack


async def test_a_step_over_its_timeout_is_retried_then_failed(
    pipeline: PipelineHarness, sandbox: SandboxHandle
) -> None:
    sandbox.configure(latency_ms=1500)
    pipeline.executor.deps = replace(pipeline.executor.deps, step_timeout_seconds=0.3)
    blueprint = await pipeline.blueprint("slow", [VERIFY], entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "slow@acme.io"}], "person")
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    run = status["runs"][0]
    assert run["status"] == "failed" and run["error_message"].startswith("Step timed out after 0.3s")
    steps = (await pipeline.post("/api/pipeline-runs/get", {"id": run["pipeline_run_id"]})).json()["data"]
    assert steps["step_results"][0]["attempt"] == 2  # max_attempts=2 in tests


async def test_skip_if_fresh_reuses_a_recently_enriched_entity(
    pipeline: PipelineHarness, sandbox: SandboxHandle
) -> None:
    steps = [
        {
            "position": 1,
            "operation_id": "company.enrich.profile",
            "step_config": {"skip_if_fresh": {"max_age_hours": 24, "identity_fields": ["domain"]}},
        }
    ]
    blueprint = await pipeline.blueprint("fresh", steps)
    first = await pipeline.submit(blueprint, [{"domain": "fresh.io"}])
    await pipeline.run_until_idle()
    # Counted by provider: a previous test's abandoned slow request may still land in the ledger.
    profile_providers = {"prospeo", "blitzapi", "companyenrich", "leadmagic"}

    def profile_calls() -> int:
        return sum(entry.provider in profile_providers for entry in sandbox.state.ledger)

    calls = profile_calls()
    second = await pipeline.submit(blueprint, [{"domain": "fresh.io"}])
    await pipeline.run_until_idle()
    assert profile_calls() == calls  # no provider was asked again
    status = await pipeline.status(second)
    run = status["runs"][0]
    assert run["status"] == "completed"
    assert (
        run["final_context"]["company_name"]
        == (await pipeline.status(first))["runs"][0]["final_context"]["company_name"]
    )
    step = (await pipeline.post("/api/pipeline-runs/get", {"id": run["pipeline_run_id"]})).json()["data"][
        "step_results"
    ][0]
    assert step["status"] == "skipped" and step["output_payload"]["skip_reason"] == "entity_state_fresh"
    assert step["output_payload"]["metadata"]["max_age_hours"] == 24


async def test_the_steps_a_recording_makes_ready_start_in_its_slots_without_a_claim(
    pipeline: PipelineHarness, database: Database
) -> None:
    """A claimed step starts in a later transaction than the one that created it; a step the writer
    inserted claimed (``Continuation``) starts in the very transaction that recorded its predecessor."""
    blueprint = await pipeline.blueprint("continued", DEMO_STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    assert (await pipeline.status(submission))["submission"]["status"] == "completed"
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT step_position, started_at = created_at AS continued, claimed_by, attempt "
                    "FROM step_results WHERE submission_id = :s AND status = 'succeeded'"
                ),
                {"s": submission},
            )
        ).all()
    by_position: dict[int, list[bool]] = {}
    for row in rows:
        assert row.claimed_by == pipeline.executor.worker and row.attempt == 1
        by_position.setdefault(row.step_position, []).append(row.continued)
    assert by_position[1] == [False]  # the batch's first step: claimed from the queue
    assert by_position[2] == [True]  # in the slot of the step before it
    # The search's one slot went to one of the three people it found; the other two were claimed.
    assert sorted(by_position[3]) == [False, False, True]
    assert by_position[4] == [True, True, True]


async def test_a_step_that_finishes_after_its_submission_was_canceled_ends_its_run(
    pipeline: PipelineHarness, database: Database
) -> None:
    """The recording learns of the cancel from the steps it finishes: the run is canceled, its remaining
    steps skipped, and what the step spent is still recorded."""
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("late-cancel", DEMO_STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "late.io"}])
    async with database.transaction() as session:
        claimed = await claim(
            session, pipeline.executor.plans, worker="w:1:late", lease_seconds=60, capacity=5
        )
    assert len(claimed) == 1
    canceled = await pipeline.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.status_code == 200, canceled.text
    outcome = await run_claimed_step(claimed[0], pipeline.executor.plans, pipeline.executor.deps)
    await record_outcomes(
        database, [outcome], worker="w:1:late", plans=pipeline.executor.plans, retry_base_seconds=0.05
    )
    status = await pipeline.status(submission)
    assert [run["status"] for run in status["runs"]] == ["failed"]  # canceled maps to failed for clients
    steps = (
        await pipeline.post("/api/pipeline-runs/get", {"id": status["runs"][0]["pipeline_run_id"]})
    ).json()["data"]["step_results"]
    assert [s["status"] for s in steps] == ["succeeded", "skipped", "skipped", "skipped"]
    assert {s["output_payload"]["skip_reason"] for s in steps[1:]} == {"submission_canceled"}
    async with database.transaction() as session:
        recorded = await session.execute(
            text("SELECT count(*) FROM operation_runs WHERE step_result_id = :step"),
            {"step": claimed[0].step_id},
        )
        assert recorded.scalar_one() == 1


async def test_a_unique_violation_is_one_the_recording_retries(database: Database) -> None:
    """The recording merges entities without a savepoint of its own, so a new entity another writer
    inserted meanwhile must make ``record_outcomes`` run it again, as a deadlock does (the race itself is
    ``tests/entities/test_concurrency.py``'s two executors recording the same companies at once)."""
    failure: DBAPIError | None = None
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TEMPORARY TABLE race (key text PRIMARY KEY)"))
            await session.execute(text("INSERT INTO race VALUES ('taken'), ('taken')"))
    except DBAPIError as exc:
        failure = exc
    assert failure is not None and retryable(failure)


class HeldWriter(Executor):
    """An executor whose writer waits for the test before recording anything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = asyncio.Event()

    async def _write(self, batch: list[StepOutcome]) -> list[None]:
        await self.release.wait()
        return await super()._write(batch)


async def test_a_step_waiting_for_its_recording_lends_its_slot_to_the_queue(
    pipeline: PipelineHarness, database: Database
) -> None:
    """One slot, three companies: the first company's step finishes and waits for the writer; the
    second's starts in the meantime, in the slot the first lent. No more than the concurrency is lent: with
    both waiting, the third waits for the writer too."""
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("lent", DEMO_STEPS[:1])
    submission = await pipeline.submit(
        blueprint, [{"domain": "first.io"}, {"domain": "second.io"}, {"domain": "third.io"}]
    )
    stopped = pipeline.executor
    held = HeldWriter(
        stopped.database, stopped.deps, replace(stopped.config, concurrency=1), plans=stopped.plans
    )
    pipeline.executor = held
    await held.start()
    started = "SELECT count(*) FROM step_results WHERE submission_id = :s AND attempt > 0"
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        async with database.transaction() as session:
            if (await session.execute(text(started), {"s": submission})).scalar_one() == 2:
                break
        assert asyncio.get_running_loop().time() < deadline, "the second step never started"
        await asyncio.sleep(0.05)
    while len(held._awaiting) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the second step never finished"
        await asyncio.sleep(0.05)
    assert held._free_slots() == 0
    held.release.set()
    await pipeline.run_until_idle()
    assert (await pipeline.status(submission))["submission"]["status"] == "completed"
