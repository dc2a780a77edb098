"""The embedded executor: runs ready steps inside the dex process. It is one of two executors (the other is
the scale-out worker); both share the state machine and the step function.

Four cooperating tasks:

- the **claimer** takes ready steps from PostgreSQL in batches (``FOR NO KEY UPDATE SKIP LOCKED``, a lease per
  step, an equal quota per org so one huge batch cannot starve a small one) whenever there is free
  capacity, woken by ``LISTEN/NOTIFY`` or by the writer, polling only as a fallback;
- **step tasks** run the shared step function (``pipeline.runner.run_step``) under the global concurrency
  cap (the provider client adds per-provider caps and rate limits); a step holds its slot until its
  outcome is recorded, and hands it to its run's next step;
- the **writer** applies finished steps in batches — one transaction records a whole batch with every
  consequence (``pipeline.progress``) — and wakes the claimer when it made new steps ready. The steps a
  batch makes ready (its runs' next steps, the first steps of the runs they fan out to) are inserted
  already claimed in the slots of the batch's steps, org by org (``Continuation``), and start at once: no
  claim, no wait; only what finds no slot waits in the queue for the claimer;
- the **lease keeper** beats this process's heartbeat (``pipeline.heartbeats``), renews its leases, and
  re-queues steps whose worker died (its heartbeat stopped, a dead process of this host, or an expired
  lease), so a killed process loses nothing and no run stays running forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.db.batching import Batcher
from dex.db.engine import Database, connection_lost, error_causes, libpq_url
from dex.observability import RECORDED_STEPS, RECORDING_SECONDS, STEPS_FINISHED, log_context
from dex.operations.repository import empty_old_journal_slot, journal_owners, settle_orphaned_calls
from dex.pipeline import claims, heartbeats
from dex.pipeline import repository as repo
from dex.pipeline.progress import Continuation, PlanCache, Progress, apply_outcomes
from dex.pipeline.runner import OUTCOME_STATUS, ClaimedStep, RunnerDeps, StepOutcome, run_step
from dex.providers.runtime import ProviderRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorConfig:
    concurrency: int = 200
    claim_batch: int = 200
    write_batch: int = 500
    # Recordings at once. A recording is mostly waiting — on PostgreSQL, on the event loop — and every slot
    # may be waiting for one (A's 400 steps in flight all were); a second starts beside the first once a
    # quarter of the concurrency's outcomes wait, so a few stragglers never cost a recording of their own.
    writers: int = 2
    lease_seconds: float = 60.0
    poll_interval_seconds: float = 1.0
    per_org_concurrency: int | None = None
    retry_base_seconds: float = 2.0
    # A process whose heartbeat is this old is gone: its steps run elsewhere.
    heartbeat_timeout_seconds: float = 5.0


def executor_config(settings: Settings) -> ExecutorConfig:
    return ExecutorConfig(
        concurrency=settings.dex_executor_concurrency,
        lease_seconds=settings.dex_executor_lease_seconds,
        heartbeat_timeout_seconds=settings.dex_executor_heartbeat_timeout_seconds,
        per_org_concurrency=settings.dex_per_org_concurrency,
        retry_base_seconds=settings.dex_step_retry_base_seconds,
    )


def runner_deps(settings: Settings, providers: ProviderRuntime, database: Database) -> RunnerDeps:
    return RunnerDeps(
        settings=settings,
        providers=providers,
        database=database,
        step_timeout_seconds=settings.dex_step_timeout_seconds,
        max_attempts=settings.dex_step_max_attempts,
    )


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _of_processes(names: list[str], processes: set[str]) -> list[str]:
    """The worker or journal-owner ``names`` (host:pid:nonce) that belong to one of ``processes``
    (host:pid): a process's executor and its provider journal go by different names."""
    return [name for name in names if name.rpartition(":")[0] in processes]


def _dead_local_workers(workers: list[str]) -> list[str]:
    """Workers of this host whose process is gone: their steps need no lease expiry to be re-queued."""
    host = socket.gethostname()
    dead = []
    for worker in workers:
        worker_host, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        if (
            worker_host == host
            and pid.isdigit()
            and int(pid) != os.getpid()
            and not os.path.exists(f"/proc/{pid}")
        ):
            dead.append(worker)
    return dead


# Serialization failure, deadlock, and a unique key another writer inserted meanwhile (two recordings
# creating one entity: the next attempt finds it and merges into it).
RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}
# How long a finished batch waits for the database to come back before its steps are left to run again.
RECORD_PATIENCE_SECONDS = 60.0


def retryable(exc: BaseException) -> bool:
    """Whether a failed transaction may succeed if tried again at once."""
    sqlstates = {getattr(cause, "sqlstate", None) for cause in error_causes(exc)}
    return bool(sqlstates & RETRYABLE_SQLSTATES) or isinstance(exc, OperationalError)


# --- shared with the scale-out workers (dex.scaleout): one step function, one way to record and to lease ---


async def run_claimed_step(claimed: ClaimedStep, plans: PlanCache, deps: RunnerDeps) -> StepOutcome:
    """The shared step function, with the step's definition looked up in its blueprint version."""
    plan = plans.cached(claimed.version_id)
    if plan is None:
        async with deps.database.transaction() as session:
            plan = await plans.get(session, claimed.version_id)
    step = plan.step(claimed.position)
    with log_context(
        org_id=claimed.org_id,
        submission_id=claimed.submission_id,
        pipeline_run_id=claimed.run_id,
        step_result_id=claimed.step_id,
        operation_id=step.operation_id,
    ):
        return await run_step(claimed, step, deps)


def continuation_for(
    worker: str, config: ExecutorConfig, batch: list[StepOutcome], *, stopping: bool
) -> Continuation | None:
    """The slots of ``batch``'s steps, org by org, for the steps its recording makes ready; none for a
    process that is stopping (what it makes ready waits in the queue for others)."""
    if stopping:
        return None
    return Continuation(worker, config.lease_seconds, Counter(outcome.claimed.org_id for outcome in batch))


async def record_outcomes(
    database: Database,
    batch: list[StepOutcome],
    *,
    worker: str,
    plans: PlanCache,
    retry_base_seconds: float,
    continuation: Continuation | None = None,
) -> Progress | None:
    """Record a batch of finished steps in one transaction, retrying deadlocks, and lost connections until
    the database is back (up to ``RECORD_PATIENCE_SECONDS``). Returns what the recording did — the next
    steps the ``continuation`` took (claimed, to run now) are its ``continued`` — or None when it gave up:
    the steps' leases then expire and they run again — results are never half-written."""
    RECORDED_STEPS.inc(len(batch))
    with RECORDING_SECONDS.time():
        failures = 0
        deadline = time.monotonic() + RECORD_PATIENCE_SECONDS
        while True:
            try:
                async with database.keyed_transaction() as session:
                    progress = await apply_outcomes(
                        session,
                        batch,
                        worker=worker,
                        plans=plans,
                        retry_base_seconds=retry_base_seconds,
                        continuation=continuation,
                    )
                for outcome in progress.finished_steps:
                    operation = outcome.step.operation_id or "none"
                    STEPS_FINISHED.labels(operation, OUTCOME_STATUS[outcome.kind]).inc()
                return progress
            except (DBAPIError, OSError) as exc:
                failures += 1
                patient = connection_lost(exc) and time.monotonic() < deadline
                if not patient and (failures >= 5 or not retryable(exc)):
                    log.exception("could not record %d finished steps", len(batch))
                    return None
                log.warning("recording %d finished steps failed (%s); retrying", len(batch), exc)
                await asyncio.sleep(min(2.0, 0.05 * 2**failures))


async def requeue_abandoned(session: AsyncSession) -> int:
    """Put the running steps of workers that are gone (heartbeat stopped, a dead process of this host, or
    an expired lease) back in the queue, and wake whoever claims. The provider requests dead processes
    journaled go into the history, so what they spent is counted even though their steps run again."""
    silent = await heartbeats.take_silent(session)
    dead = [*_dead_local_workers(await repo.running_workers(session)), *(s.worker for s in silent)]
    requeued = await repo.requeue_expired_leases(session, dead_workers=dead)
    if silent:
        log.warning("executors stopped beating: %s", ", ".join(s.worker for s in silent))
        await repo.resend_published_steps(session)
    owners = await journal_owners(session)
    # A process whose heartbeat stopped is gone with its provider requests, on whatever host it ran — even
    # one recovery settled before, when it was taken for dead while only silent, and carried on.
    silent_processes = {s.worker.rpartition(":")[0] for s in silent}
    everyone = await journal_owners(session, settled=True) if silent else []
    dead_owners = [*_dead_local_workers(owners), *_of_processes(everyone, silent_processes)]
    if settled := await settle_orphaned_calls(session, dead_owners=dead_owners):
        log.info("recorded %d provider requests of stopped processes", settled)
    if requeued or silent:
        await repo.notify_ready(session)
    return requeued


# A lock the journal's emptying waited for too long: its partition was in use.
LOCK_NOT_AVAILABLE = "55P03"


async def empty_old_journal(database: Database) -> None:
    """Settle and empty the journal's partition written two hours ago, if it holds rows — unless it is in
    use for longer than a moment (every write to the journal would queue behind the wait); the next lease
    renewal tries again."""
    try:
        async with database.transaction() as session:
            if settled := await empty_old_journal_slot(session):
                log.info("recorded %d provider requests nobody recorded within an hour", settled)
    except DBAPIError as exc:
        if LOCK_NOT_AVAILABLE in {getattr(cause, "sqlstate", None) for cause in error_causes(exc)}:
            log.info("the journal's old partition is in use; emptying it later")
        else:
            log.warning("emptying the journal's old partition failed: %s", exc)
    except Exception:  # a task of its own: nobody else would hear of it
        log.exception("emptying the journal's old partition failed")


async def keep_leases(
    database: Database,
    *,
    worker: str,
    lease_seconds: float,
    heartbeat_timeout_seconds: float,
    running: Callable[[], Collection[uuid.UUID]],
) -> None:
    """Forever: beat ``worker``'s heartbeat, renew the leases of the steps ``running()`` names, and
    re-queue abandoned steps — at once when some heartbeat stopped, else with each lease renewal."""
    renew_every = max(0.5, lease_seconds / 3)
    next_renewal = time.monotonic()
    # The hourly emptying's scan of a busy hour may take longer than a heartbeat's timeout: it runs beside
    # the beats, one at a time.
    emptying: asyncio.Task[None] | None = None
    try:
        while True:
            try:
                async with database.transaction() as session:
                    someone_expired = await heartbeats.beat(
                        session, worker=worker, timeout_seconds=heartbeat_timeout_seconds
                    )
                    renew = time.monotonic() >= next_renewal
                    if renew:
                        await repo.renew_leases(
                            session, worker=worker, lease_seconds=lease_seconds, step_ids=running()
                        )
                        next_renewal = time.monotonic() + renew_every
                    if renew or someone_expired:
                        await requeue_abandoned(session)
                if renew and (emptying is None or emptying.done()):
                    emptying = asyncio.create_task(empty_old_journal(database))
            except (DBAPIError, OSError) as exc:
                log.warning("lease upkeep failed: %s", exc)
            await asyncio.sleep(heartbeats.beat_interval(heartbeat_timeout_seconds))
    finally:
        if emptying is not None:
            emptying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await emptying


async def stop_beating(database: Database, worker: str) -> None:
    """Take ``worker``'s heartbeat out as it stops cleanly (its keeper cancelled), so nobody takes its
    silence for a death."""
    try:
        async with database.transaction() as session:
            await heartbeats.forget(session, worker)
    except (DBAPIError, OSError) as exc:
        log.warning("could not remove the heartbeat of %s: %s", worker, exc)


async def listen_for_ready_steps(database: Database, wake: Callable[[], None]) -> asyncpg.Connection | None:
    """A connection that calls ``wake`` whenever steps become ready (``NOTIFY``); None when LISTEN is
    unavailable and the caller must poll."""
    try:
        listener = await asyncpg.connect(libpq_url(database.url))
        await listener.add_listener(repo.READY_NOTIFY_CHANNEL, lambda *_: wake())
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("LISTEN unavailable (%s); falling back to polling", exc)
        return None
    return listener


class Executor:
    def __init__(
        self,
        database: Database,
        deps: RunnerDeps,
        config: ExecutorConfig | None = None,
        *,
        plans: PlanCache | None = None,
    ) -> None:
        self.database = database
        self.deps = deps
        self.config = config or ExecutorConfig()
        self.worker = new_worker_id()
        self.plans = plans or PlanCache()
        self._wake = asyncio.Event()
        self._writes: Batcher[StepOutcome, None] = Batcher(
            self._write,
            "outcomes",
            max_batch=self.config.write_batch,
            lanes=self.config.writers,
            lane_after=max(1, self.config.concurrency // 4),
        )
        # Step id → org id, from claim until the outcome is recorded (its lease is kept meanwhile).
        self._inflight: dict[uuid.UUID, uuid.UUID] = {}
        # The steps among them whose outcome waits for the writer. They lend their slots: a step holds
        # one while it runs, and the queue's next steps start in the slots of those waiting (B's steps
        # waited a tenth of their time for their recording, their slots idle). Recorded, a waiting step
        # still hands its slot to its run's next step (``Continuation``), so the executor may run one
        # recording's steps over its concurrency until they finish.
        self._awaiting: set[uuid.UUID] = set()
        self._claim_at = max(1, self.config.concurrency // 20)
        self._tasks: list[asyncio.Task[None]] = []
        self._step_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._listener: asyncpg.Connection | None = None
        self.steps_finished = 0

    # --- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        await self._listen()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="dex-claimer"),
            asyncio.create_task(self._lease_loop(), name="dex-leases"),
        ]
        log.info("executor %s started (concurrency %d)", self.worker, self.config.concurrency)

    async def stop(self) -> None:
        """Stop claiming, let running steps finish and be recorded, then stop."""
        self._stopping = True
        self._wake.set()
        while self._step_tasks:  # each ends once its outcome is recorded; a recording may start more
            await asyncio.gather(*self._step_tasks, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await stop_beating(self.database, self.worker)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    def wake(self) -> None:
        self._wake.set()

    async def _recover(self) -> None:
        async with self.database.transaction() as session:
            if requeued := await requeue_abandoned(session):
                log.info("re-queued %d steps of stopped workers", requeued)

    async def _listen(self) -> None:
        self._listener = await listen_for_ready_steps(self.database, self._wake.set)

    # --- claiming -------------------------------------------------------------------------------------

    def _org_allowance(self) -> Callable[[uuid.UUID], int] | None:
        """How many more steps each org may start here (the per-org concurrency cap), if capped."""
        limit = self.config.per_org_concurrency
        if limit is None:
            return None
        running = Counter(org for step, org in self._inflight.items() if step not in self._awaiting)
        return lambda org_id: max(0, limit - running[org_id])

    def _free_slots(self) -> int:
        """Slots no running step holds (one whose outcome waits for the writer lends its own). At most
        ``concurrency`` are lent: a writer slower than the steps would otherwise gather outcomes without
        end (leases, memory) — the steps wait for it instead, as before lending."""
        lent = min(len(self._awaiting), self.config.concurrency)
        return self.config.concurrency - (len(self._inflight) - lent)

    async def _claim_loop(self) -> None:
        while not self._stopping:
            free = self._free_slots()
            claimed: list[ClaimedStep] = []
            if free > 0:
                try:
                    async with self.database.keyed_transaction() as session:
                        claimed = await claims.claim(
                            session,
                            self.plans,
                            worker=self.worker,
                            lease_seconds=self.config.lease_seconds,
                            capacity=min(free, self.config.claim_batch),
                            org_allowance=self._org_allowance(),
                        )
                except (DBAPIError, OSError) as exc:
                    log.warning("claim failed: %s", exc)
                    await asyncio.sleep(self.config.poll_interval_seconds)
                    continue
                except Exception:  # a bug must not silently stop all claiming: it is logged, then retried
                    log.exception("claim failed unexpectedly")
                    await asyncio.sleep(self.config.poll_interval_seconds)
                    continue
            for step in claimed:
                self._start(step)
            if claimed and len(claimed) == min(free, self.config.claim_batch):
                continue  # there may be more ready work: claim again at once
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_seconds)

    def _start(self, step: ClaimedStep) -> None:
        self._inflight[step.step_id] = step.org_id
        task = asyncio.create_task(self._execute(step))
        self._step_tasks.add(task)
        task.add_done_callback(self._step_tasks.discard)

    async def _execute(self, claimed: ClaimedStep) -> None:
        try:
            outcome = await run_claimed_step(claimed, self.plans, self.deps)
        except Exception:
            # The step's lease will expire and it will be claimed again; nothing is recorded as done.
            log.exception("step %s crashed before completing", claimed.step_id)
            self._inflight.pop(claimed.step_id, None)
            self._wake.set()
            return
        self._awaiting.add(claimed.step_id)
        # Lent slots are claimed a few at a time: a claim per finished step cost A a twentieth of its pace.
        if self._free_slots() >= self._claim_at:
            self._wake.set()
        try:
            await self._writes.submit(outcome)
        finally:
            self._awaiting.discard(claimed.step_id)
            self._inflight.pop(claimed.step_id, None)
            self._wake.set()

    # --- writing --------------------------------------------------------------------------------------

    async def _write(self, batch: list[StepOutcome]) -> list[None]:
        """Group commit of finished steps: the outcomes that arrived while the previous write ran. The
        steps it makes ready take the batch's slots (``Continuation``) and start at once."""
        try:
            recorded = await record_outcomes(
                self.database,
                batch,
                worker=self.worker,
                plans=self.plans,
                retry_base_seconds=self.config.retry_base_seconds,
                continuation=continuation_for(self.worker, self.config, batch, stopping=self._stopping),
            )
        except Exception:  # the writer keeps going; these steps' leases expire and they run again
            log.exception("recording %d finished steps failed unexpectedly", len(batch))
            return [None] * len(batch)
        if recorded is not None:
            self.steps_finished += len(batch)
            for step in recorded.continued:
                self._start(step)
        return [None] * len(batch)

    # --- leases ---------------------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        await keep_leases(
            self.database,
            worker=self.worker,
            lease_seconds=self.config.lease_seconds,
            heartbeat_timeout_seconds=self.config.heartbeat_timeout_seconds,
            running=self._inflight.keys,
        )

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no step is in flight here and none is queued, retrying or running anywhere (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._inflight:
                async with self.database.transaction() as session:
                    if not await repo.has_unfinished_steps(session):
                        return
            await asyncio.sleep(0.05)
        raise TimeoutError("executor did not become idle")
