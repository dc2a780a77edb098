"""``dex worker``: the step actor of the scale-out executor.

A Dramatiq worker process. Its actor receives a step id, claims that step if it is still ready, runs the
embedded executor's step function and records the outcome — the same claim (lease, attempt, runs moved
to running), runner and state changes (``pipeline.progress``) as ``dex.pipeline.executor``; only what
wakes a worker differs: a broker message instead of a poll. The actor returns once the outcome is
committed, so a message is acknowledged only for a recorded step; a crash before that leaves the step
running with a lease that expires, and the sweeper sends it again.

Within a process, concurrent actors share round trips: claims and outcomes go to PostgreSQL in batches.
The actors run as coroutines on one event loop (Dramatiq's event-loop thread); ``concurrency`` worker
threads wait on them, so that is how many steps a process runs at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import uuid
from contextlib import AsyncExitStack

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
    keep_leases,
    new_worker_id,
    record_outcomes,
    run_claimed_step,
    runner_deps,
    stop_beating,
)
from dex.pipeline.progress import PlanCache
from dex.pipeline.runner import ClaimedStep, RunnerDeps, StepOutcome
from dex.runtime import open_provider_runtime
from dex.scaleout.broker import STEP_ACTOR, STEP_QUEUE, connect_broker
from dex.scaleout.limits import RedisProviderLimiter
from dex.scaleout.outbox import enable_outbox

log = logging.getLogger(__name__)


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
            self._record, "outcomes", max_batch=config.write_batch
        )
        self._running: set[uuid.UUID] = set()
        self._stack = AsyncExitStack()
        self._leases: asyncio.Task[None] | None = None
        self.database: Database
        self.deps: RunnerDeps

    async def start(self) -> None:
        async with AsyncExitStack() as stack:
            self.database = Database(self.database_url, pool_size=self.settings.database_pool_size)
            enable_outbox(self.database)
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
        if self._leases is not None:
            self._leases.cancel()
            await asyncio.gather(self._leases, return_exceptions=True)
            await stop_beating(self.database, self.worker)
        await self._stack.aclose()

    async def handle(self, step_id: uuid.UUID) -> None:
        """Run the step ``step_id`` if it is still ready; return once its outcome is recorded."""
        try:
            claimed = await self._claims.submit(step_id)
        except (DBAPIError, OSError) as exc:
            # The step stays published and unclaimed: the sweeper sends it again.
            log.warning("could not claim step %s: %s", step_id, exc)
            return
        if claimed is None:
            return
        self._running.add(step_id)
        try:
            outcome = await run_claimed_step(claimed, self.plans, self.deps)
            await self._writes.submit(outcome)
        except Exception:
            # Nothing is recorded: the lease expires, the step is re-queued and published again.
            log.exception("step %s crashed before completing", step_id)
        finally:
            self._running.discard(step_id)

    async def _claim(self, step_ids: list[uuid.UUID]) -> list[ClaimedStep | None]:
        async with self.database.transaction() as session:
            claimed = await claim_ids(
                session,
                self.plans,
                worker=self.worker,
                lease_seconds=self.config.lease_seconds,
                step_ids=step_ids,
            )
        by_id = {step.step_id: step for step in claimed}
        # Two messages for one step in a batch: the first gets the claim, the duplicate nothing.
        return [by_id.pop(step_id, None) for step_id in step_ids]

    async def _record(self, outcomes: list[StepOutcome]) -> list[None]:
        await record_outcomes(
            self.database,
            outcomes,
            worker=self.worker,
            plans=self.plans,
            retry_base_seconds=self.config.retry_base_seconds,
        )
        return [None] * len(outcomes)


def declare_step_actor(broker: dramatiq.Broker, step_worker: StepWorker, step_timeout_seconds: float) -> None:
    async def run_step_message(step_id: str) -> None:
        await step_worker.handle(uuid.UUID(step_id))

    dramatiq.actor(
        broker=broker,
        actor_name=STEP_ACTOR,
        queue_name=STEP_QUEUE,
        # Recovery is the database's (leases, the sweeper), never a blind re-run of the message.
        max_retries=0,
        # Past the step's own timeout, with time to record it.
        time_limit=int((step_timeout_seconds + 60) * 1000),
    )(run_step_message)


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
        worker = dramatiq.Worker(broker, worker_threads=config.concurrency)
        worker.start()
        while not stop.wait(0.5):
            pass
        worker.stop()
        loop_thread.run_coroutine(step_worker.stop())
    finally:
        loop_thread.stop()
        set_event_loop_thread(None)
        broker.close()
