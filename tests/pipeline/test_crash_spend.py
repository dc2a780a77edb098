"""A SIGKILLed dex never pays a provider twice for an answer that reached it.

A batch runs in a ``dex serve`` subprocess killed every time it has sent a few dozen more requests. At each
kill, the paid requests whose answer dex had kept (journal rows marked answered) are noted. The sandbox's
ledger holds every request it received with a signature of what was asked: none of those questions may be
asked again after the kill — the steps' re-runs take the kept answers over. Only requests that were in
flight without an answer may be sent again."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.sandbox.state import SandboxConfig
from tests.conftest import SANDBOX_TEST_CONFIG, PipelineHarness, SandboxHandle
from tests.pipeline.test_batch_e2e import DEMO_STEPS
from tests.pipeline.test_crash_recovery import start_dex, submission_status

COMPANIES = [{"domain": f"spend-{i:03d}.io"} for i in range(40)]
KILLS = 4
# Requests the sandbox receives between a (re)start and the kill: enough that answers are in every state.
REQUESTS_BEFORE_KILL = 60


async def paid_requests(database: Database, org_id: uuid.UUID, *, answered: bool) -> dict[str, str]:
    """The journaled paid requests of ``org_id`` whose answer dex holds (``answered``: the step's re-run
    must take them over) or does not (in flight: they may be sent again), with the step that asked."""
    async with database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT call_id::text, step_result_id::text FROM provider_call_journal j "
                "WHERE org_id = :org AND request_hash IS NOT NULL AND (answered OR EXISTS ("
                "SELECT FROM enrichment_cache c WHERE c.org_id = j.org_id AND j.call_id = ANY(c.answers_of)"
                ")) = :answered"
            ),
            {"org": org_id, "answered": answered},
        )
        return {call_id: step for call_id, step in rows.all()}


async def asking_steps(database: Database, org_id: uuid.UUID) -> dict[str, str]:
    """Every recorded request of ``org_id``, by the step that sent it."""
    async with database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT unnest(a.call_ids)::text, o.step_result_id::text FROM operation_attempts a "
                "JOIN operation_runs o ON o.run_id = a.run_id WHERE a.org_id = :org"
            ),
            {"org": org_id},
        )
        return dict(rows.all())


async def wait_for_requests(sandbox: SandboxHandle, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(sandbox.state.ledger) < count:
        assert time.monotonic() < deadline, "the sandbox stopped receiving requests"
        await asyncio.sleep(0.02)


async def test_a_killed_dex_never_asks_again_what_it_had_an_answer_to(
    pipeline: PipelineHarness,
    database: Database,
    database_url: str,
    sandbox: SandboxHandle,
    settings: Settings,
) -> None:
    # LeadMagic finds no email, so Icypeas is asked: its search is paid for at once, its answer comes from
    # free polls seconds later — a paid answer that has reached dex long before the step is done.
    behaviour = SANDBOX_TEST_CONFIG.default.model_copy(update={"latency_ms": 40, "latency_jitter_ms": 30})
    sandbox.state.configure(
        SandboxConfig(
            default=behaviour, providers={"leadmagic": behaviour.model_copy(update={"hit_rate": 0.0})}
        )
    )
    await pipeline.executor.stop()  # the batch runs in the dex subprocesses only
    submission = await pipeline.submit(await pipeline.blueprint("people", DEMO_STEPS), COMPANIES)
    kept_at_kills: list[tuple[float, dict[str, str]]] = []
    in_flight_at_kills: list[int] = []
    for _ in range(KILLS):
        process = start_dex(settings, database_url, sandbox.url)
        await wait_for_requests(sandbox, len(sandbox.state.ledger) + REQUESTS_BEFORE_KILL)
        process.send_signal(signal.SIGKILL)
        process.wait()
        org_id = pipeline.tenant.org_id
        kept_at_kills.append((time.time(), await paid_requests(database, org_id, answered=True)))
        in_flight_at_kills.append(len(await paid_requests(database, org_id, answered=False)))
    process = start_dex(settings, database_url, sandbox.url)
    try:
        deadline = time.monotonic() + 180
        while await submission_status(database, submission) not in ("completed", "failed", "canceled"):
            assert time.monotonic() < deadline, "the batch did not finish after the restarts"
            await asyncio.sleep(0.25)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert await submission_status(database, submission) == "completed"

    # Two steps may ask one question (namesakes at one company): a question is asked again only when the
    # step that had its answer sends it again.
    ledger = sandbox.state.ledger
    by_request = {entry.request_id: entry for entry in ledger}
    step_of = await asking_steps(database, pipeline.tenant.org_id)
    asked_again = []
    for killed_at, kept in kept_at_kills:
        for call_id, step in kept.items():
            original = by_request[call_id]
            asked_again += [
                entry
                for entry in ledger
                if entry.billable
                and entry.at > killed_at
                and (entry.provider, entry.signature) == (original.provider, original.signature)
                and step_of.get(entry.request_id or "") == step
            ]
    print(
        f"answers kept at the {KILLS} kills {[len(kept) for _, kept in kept_at_kills]}, "
        f"asked again {len(asked_again)}; paid requests in flight (may be sent again) {in_flight_at_kills}"
    )
    assert sum(len(kept) for _, kept in kept_at_kills) > 0, "no kill struck while an answer was kept"
    assert not asked_again, [(e.provider, e.action, e.path, e.request_id, e.at) for e in asked_again]
