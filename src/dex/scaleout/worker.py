"""``dex worker``: the step actor of the scale-out executor.

A Dramatiq worker process. Its actor receives a few step ids, claims those still ready as the process has
room for them, and starts running them with the embedded executor's step function, recording each outcome
with the same claim (lease, attempt, runs moved to running), runner and state changes
(``pipeline.progress``) as ``dex.pipeline.executor``; only what wakes a worker differs: a broker message
instead of a poll. As in the embedded executor, the steps a worker's recording makes ready run on that
worker at once, inserted claimed in the slots of the steps it recorded. Those that found no slot (a
fan-out makes more ready than one step's slot) wait for the same worker first: their outbox rows are due
``DEX_WORKER_FIRST_CLAIM_SECONDS`` later (migration 0017), and the worker claims them as its org's slots
free up, or in idle slots. Only a batch's first steps, and what a worker leaves unclaimed that long,
travel through the broker.

The actor returns once its steps are claimed (or found taken), and the steps run on the event loop; a
message costs a thread only while it waits for room. Acknowledging at the claim loses nothing: the claim
took the step's outbox row, so the same message delivered again would claim nothing; a worker that dies
leaves its steps running with its heartbeat silent, and whoever notices puts them back and sends them
again.

Within a process, concurrent steps share round trips: claims and outcomes go to PostgreSQL in batches.
The actors are coroutines on one event loop (Dramatiq's event-loop thread); ``concurrency`` slots bound
the steps running at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import threading
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Coroutine, Sequence
from contextlib import AsyncExitStack
from typing import Any

import dramatiq
import uvloop
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from sqlalchemy.exc import DBAPIError

from dex.config import Settings
from dex.db.batching import Batcher
from dex.db.engine import Database
from dex.pipeline.claims import claim_ids
from dex.pipeline.executor import (
    ExecutorConfig,
    continuation_for,
    keep_leases,
    new_worker_id,
    record_outcomes,
    retryable,
    run_claimed_step,
    runner_deps,
    stop_beating,
)
from dex.pipeline.progress import PlanCache
from dex.pipeline.runner import ClaimedStep, RunnerDeps, StepOutcome
from dex.runtime import open_provider_runtime
from dex.scaleout.broker import STEP_ACTOR, STEP_QUEUE, STEPS_PER_MESSAGE, connect_broker
from dex.scaleout.limits import RedisProviderLimiter
from dex.scaleout.outbox import enable_outbox

log = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 5


class StepWorker:
    """The async half of a worker process: database, providers, batched claims and writes, leases."""

    def __init__(
        self, settings: Settings, database_url: str, config: ExecutorConfig, *, limits_redis_url: str | None
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.config = config
        self.limits_redis_url = limits_redis_url
        self.worker = new_worker_id()
        self.plans = PlanCache()
        self._claims: Batcher[uuid.UUID, ClaimedStep | None] = Batcher(
            self._claim, "claims", max_batch=config.claim_batch
        )
        self._writes: Batcher[StepOutcome, None] = Batcher(
            self._record,
            "outcomes",
            max_batch=config.write_batch,
            lanes=config.writers,
            lane_after=max(1, config.concurrency // 4),
        )
        # One per step from its claim until its outcome is recorded; the recording hands it on to a step it
        # made ready (``Continuation``) or back to the messages' steps, which wait for one in arrival order.
        self._slots = asyncio.Semaphore(config.concurrency)
        # Steps this worker's recordings made ready beyond its slots, by org, which it has the first claim
        # on (``DEX_WORKER_FIRST_CLAIM_SECONDS``): an org's freed slot goes to them first (``_free_slot``).
        self._own: defaultdict[uuid.UUID, deque[uuid.UUID]] = defaultdict(deque)
        self._stopping = False
        self._running: set[uuid.UUID] = set()  # claimed here, until the outcome is recorded
        self._step_tasks: set[asyncio.Task[None]] = set()
        self._stack = AsyncExitStack()
        self._leases: asyncio.Task[None] | None = None
        self.database: Database
        self.deps: RunnerDeps

    async def start(self) -> None:
        async with AsyncExitStack() as stack:
            self.database = Database(self.database_url, pool_size=self.settings.database_pool_size)
            # The steps its recordings make ready beyond its slots wait for it first (``_own``): a fan-out's
            # surplus then costs a claim instead of two more outbox writes, a publication and a message.
            enable_outbox(self.database, first_claim_seconds=self.settings.dex_worker_first_claim_seconds)
            stack.push_async_callback(self.database.dispose)
            limiter = None
            if self.limits_redis_url:
                limiter = RedisProviderLimiter(self.limits_redis_url)
                stack.push_async_callback(limiter.close)
            else:
                log.warning("no Redis for provider limits: each worker applies them on its own")
            providers = await stack.enter_async_context(
                open_provider_runtime(self.settings, self.database, shared_limiter=limiter)
            )
            self.deps = runner_deps(self.settings, providers, self.database)
            self._leases = asyncio.create_task(
                keep_leases(
                    self.database,
                    worker=self.worker,
                    lease_seconds=self.config.lease_seconds,
                    heartbeat_timeout_seconds=self.config.heartbeat_timeout_seconds,
                    running=lambda: self._running,
                )
            )
            self._stack = stack.pop_all()
        log.info("worker %s started", self.worker)

    async def stop(self) -> None:
        """Once running steps are recorded: stop beating, close the database and the providers."""
        self._stopping = True
        while self._step_tasks:  # each ends once its outcome is recorded; a recording may start more
            await asyncio.gather(*self._step_tasks, return_exceptions=True)
        if self._leases is not None:
            self._leases.cancel()
            await asyncio.gather(self._leases, return_exceptions=True)
            await stop_beating(self.database, self.worker)
        await self._stack.aclose()

    async def take(self, step_ids: Sequence[uuid.UUID]) -> None:
        """Claim the steps of ``step_ids`` that are still ready, each as a slot frees up, and start running
        them; return once each is running here or found taken."""
        await asyncio.gather(*(self._take(step_id) for step_id in step_ids))

    async def _take(self, step_id: uuid.UUID) -> None:
        await self._slots.acquire()
        await self._claim_in_slot(step_id)

    async def _claim_in_slot(self, step_id: uuid.UUID, org_id: uuid.UUID | None = None) -> None:
        """Claim ``step_id`` (if still ready) into a slot taken for it — a slot of ``org_id``'s, when it
        is one of the org's own steps — and run it; the slot is freed if nothing runs."""
        claimed: ClaimedStep | None = None
        try:
            claimed = await self._claims.submit(step_id)
        except (DBAPIError, OSError) as exc:
            # The step stays waiting: published, or due once its first claim lapses; the sweeper resends.
            log.warning("could not claim step %s: %s", step_id, exc)
        finally:
            if claimed is None:
                self._free_slot(org_id)
        if claimed is not None:
            self._start(claimed)

    def _free_slot(self, org_id: uuid.UUID | None) -> None:
        """A slot of ``org_id``'s is free: it goes to a step the org's runs made ready here beyond the
        slots (claimed without a trip through the broker), as the continuation hands an org's slots to its
        own next steps — the org holds no more of the worker than it did — and else to the messages'
        steps, in arrival order."""
        if org_id is not None and (own := self._own.get(org_id)) and not self._stopping:
            self._spawn(self._claim_in_slot(own.popleft(), org_id))
            if not own:
                del self._own[org_id]
            return
        self._slots.release()
        if self._own:  # no message's step may want the slot: then another org's own step takes it
            self._spawn(self._claim_own_in_idle_slots())

    def _start(self, claimed: ClaimedStep) -> None:
        """Run a step claimed here, in a slot already taken for it."""
        self._running.add(claimed.step_id)
        self._spawn(self._run(claimed))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._step_tasks.add(task)
        task.add_done_callback(self._step_tasks.discard)

    async def _run(self, claimed: ClaimedStep) -> None:
        try:
            outcome = await run_claimed_step(claimed, self.plans, self.deps)
        except Exception:
            # Nothing is recorded: the lease expires, the step is re-queued and published again.
            log.exception("step %s crashed before completing", claimed.step_id)
            self._free_slot(claimed.org_id)
            self._running.discard(claimed.step_id)
            return
        try:
            await self._writes.submit(outcome)  # which hands the step's slot on (``_record``)
        finally:
            self._running.discard(claimed.step_id)

    async def _claim(self, step_ids: list[uuid.UUID]) -> list[ClaimedStep | None]:
        for failures in itertools.count(1):
            try:
                async with self.database.keyed_transaction() as session:
                    claimed = await claim_ids(
                        session,
                        self.plans,
                        worker=self.worker,
                        lease_seconds=self.config.lease_seconds,
                        step_ids=step_ids,
                    )
                break
            except DBAPIError as exc:
                # Tried again at once: these steps' messages are spent, and a step left unclaimed now
                # waits for the sweeper.
                if failures >= CLAIM_ATTEMPTS or not retryable(exc):
                    raise
                log.warning("claiming %d steps failed (%s); retrying", len(step_ids), exc)
        by_id = {step.step_id: step for step in claimed}
        # Two messages for one step in a batch: the first gets the claim, the duplicate nothing.
        return [by_id.pop(step_id, None) for step_id in step_ids]

    async def _record(self, outcomes: list[StepOutcome]) -> list[None]:
        """Record a batch; the slots of its steps go to the steps it makes ready (``Continuation``), and
        what is left to the orgs' own waiting steps (``_free_slot``) or back to the messages' steps."""
        recorded = None
        try:
            recorded = await record_outcomes(
                self.database,
                outcomes,
                worker=self.worker,
                plans=self.plans,
                retry_base_seconds=self.config.retry_base_seconds,
                continuation=continuation_for(self.worker, self.config, outcomes, stopping=self._stopping),
            )
        finally:
            continued = recorded.continued if recorded is not None else []
            if recorded is not None:
                # A step published meanwhile (its first claim lapsed) is claimed once, by whoever is first.
                for org_id, step_id in recorded.unslotted:
                    self._own[org_id].append(step_id)
            freed = Counter(outcome.claimed.org_id for outcome in outcomes)
            freed.subtract(claimed.org_id for claimed in continued)
            for org_id in freed.elements():
                self._free_slot(org_id)
        for claimed in continued:
            self._start(claimed)
        await self._claim_own_in_idle_slots()
        return [None] * len(outcomes)

    async def _claim_own_in_idle_slots(self) -> None:
        """Slots no message's step waits for take this worker's own waiting steps, an org at a time in
        turn: a fan-out on an idle worker runs at its concurrency, not one child at a time."""
        while self._own and not self._stopping and not self._slots.locked():
            await self._slots.acquire()  # at once: a slot is free and nobody waits
            org_id, own = next(iter(self._own.items()))
            step_id = own.popleft()
            del self._own[org_id]
            if own:  # the org goes to the back of the turn
                self._own[org_id] = own
            self._spawn(self._claim_in_slot(step_id, org_id))


def declare_step_actor(broker: dramatiq.Broker, step_worker: StepWorker, step_timeout_seconds: float) -> None:
    async def run_steps_message(step_ids: list[str]) -> None:
        await step_worker.take([uuid.UUID(step_id) for step_id in step_ids])

    dramatiq.actor(
        broker=broker,
        actor_name=STEP_ACTOR,
        queue_name=STEP_QUEUE,
        # Recovery is the database's (leases, the sweeper), never a blind re-run of the message.
        max_retries=0,
        # The actor waits for room, then for a claim: both far shorter than a step, which may take its
        # whole timeout and so free the room late.
        time_limit=int((step_timeout_seconds + 60) * 1000),
    )(run_steps_message)


def run_worker(
    settings: Settings,
    database_url: str,
    broker_url: str,
    config: ExecutorConfig,
    *,
    limits_redis_url: str | None,
) -> None:
    """Run a worker process until SIGINT or SIGTERM; it stops after its running steps are recorded."""
    broker = connect_broker(broker_url)
    step_worker = StepWorker(settings, database_url, config, limits_redis_url=limits_redis_url)
    declare_step_actor(broker, step_worker, settings.dex_step_timeout_seconds)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # Dramatiq runs async actors on this loop; the step worker's database and HTTP clients live on it too.
    # uvloop's, as under `dex serve` (uvicorn takes it): the worker's CPU per step is the executor's.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop_thread = EventLoopThread(log)
    loop_thread.start(timeout=5.0)
    set_event_loop_thread(loop_thread)
    try:
        loop_thread.run_coroutine(step_worker.start())
        # A thread per message waiting for room; the steps themselves run on the loop.
        worker = dramatiq.Worker(broker, worker_threads=-(-config.concurrency // STEPS_PER_MESSAGE))
        worker.start()
        while not stop.wait(0.5):
            pass
        worker.stop()
        loop_thread.run_coroutine(step_worker.stop())
    finally:
        loop_thread.stop()
        set_event_loop_thread(None)
        broker.close()
