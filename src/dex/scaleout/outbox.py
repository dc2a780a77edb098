"""Ready steps reach the broker after commit, through the ``step_outbox`` table.

Processes of a scale-out deployment (the API, the workers) write with ``dex.step_outbox`` on
(:func:`enable_outbox`); migration 0003's triggers then keep one outbox row per waiting step, written in the
transaction that makes the step ready and deleted in the one that claims or skips it. A crash between
commit and publish loses nothing: the row is there. The :class:`OutboxPublisher`

- **publishes** due rows and marks them published — round-robin across orgs, and never more than
  ``window`` steps in flight (published, not yet claimed). The broker's queue is first-in first-out:
  without the bound, a 100k-step batch would all be queued ahead of a small org's next step; with it, the
  small org waits behind at most ``window`` steps;
- **sweeps**: puts back the steps of workers that are gone (expired leases, dead processes of this host),
  sends again rows published ``stale_seconds`` ago whose step still waits (the message was lost, or sits
  in a dead consumer's prefetch), and adopts ready steps that have no row (made ready by a process without
  the outbox on).

Publishing is at least once; a message whose step is no longer ready claims nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.engine import Database
from dex.pipeline.executor import listen_for_ready_steps, requeue_abandoned
from dex.pipeline.repository import ready
from dex.scaleout.broker import connect_broker, step_messages

log = logging.getLogger(__name__)

OUTBOX_SETTING = "dex.step_outbox"
OUTBOX_GRACE_SETTING = "dex.step_outbox_grace"


def enable_outbox(database: Database, *, first_claim_seconds: float = 0.0) -> None:
    """Make every connection of ``database`` keep the step outbox (call before its first use).
    ``first_claim_seconds``: the waiting steps these connections insert are published that much later, so
    the process that made them ready may claim them itself first (migration 0017)."""
    settings = f"SET {OUTBOX_SETTING} = on; SET {OUTBOX_GRACE_SETTING} = '{float(first_claim_seconds)}'"

    @event.listens_for(database.engine.sync_engine, "connect")
    def outbox_on(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda connection: connection.execute(settings))


# Every org with unpublished rows (a loose index scan), an equal share of the batch for each, taken in
# turns: the first row of every org, then the second of every org, and so on.
TAKE_DUE = text(
    """
    WITH RECURSIVE orgs(org_id) AS (
        (SELECT o.org_id FROM step_outbox o WHERE o.published_at IS NULL ORDER BY o.org_id LIMIT 1)
        UNION ALL
        SELECT (SELECT o.org_id FROM step_outbox o
                WHERE o.published_at IS NULL AND o.org_id > orgs.org_id ORDER BY o.org_id LIMIT 1)
        FROM orgs WHERE orgs.org_id IS NOT NULL
    ),
    share AS (SELECT CAST(ceil(CAST(:limit AS numeric) / greatest(count(*), 1)) AS int) AS per_org
              FROM orgs WHERE org_id IS NOT NULL),
    due AS MATERIALIZED (
        SELECT d.step_id, d.org_id, d.available_at
        FROM orgs CROSS JOIN share CROSS JOIN LATERAL (
            SELECT o.step_id, o.org_id, o.available_at FROM step_outbox o
            WHERE o.org_id = orgs.org_id AND o.published_at IS NULL AND o.available_at <= now()
            ORDER BY o.available_at
            LIMIT share.per_org
            FOR UPDATE SKIP LOCKED
        ) d
    ),
    chosen AS (
        SELECT step_id, org_id, row_number() OVER (PARTITION BY org_id ORDER BY available_at) AS turn
        FROM due ORDER BY turn, org_id LIMIT :limit
    )
    UPDATE step_outbox o SET published_at = now()
    FROM chosen WHERE o.step_id = chosen.step_id
    RETURNING o.step_id, o.org_id, chosen.turn
    """
)

IN_FLIGHT = text("SELECT count(*) FROM step_outbox WHERE published_at IS NOT NULL")

# Published long ago and not claimed: send again if the step still waits, else the row is stale.
SWEEP_LOST = text(
    """
    WITH lost AS MATERIALIZED (
        SELECT o.step_id, s.status IN ('queued', 'retrying') AS waiting
        FROM step_outbox o JOIN step_results s ON s.id = o.step_id
        WHERE o.published_at < now() - make_interval(secs => :stale_seconds)
        FOR UPDATE OF o SKIP LOCKED
    ),
    resend AS (
        UPDATE step_outbox o SET published_at = NULL FROM lost WHERE o.step_id = lost.step_id AND lost.waiting
    )
    DELETE FROM step_outbox o USING lost WHERE o.step_id = lost.step_id AND NOT lost.waiting
    """
)

ADOPT_ORPHANS = text(
    f"""
    INSERT INTO step_outbox (step_id, org_id, available_at)
    SELECT s.id, s.org_id, s.available_at FROM step_results s
    WHERE {ready("s")} AND s.available_at < now() - make_interval(secs => :stale_seconds)
      AND NOT EXISTS (SELECT 1 FROM step_outbox o WHERE o.step_id = s.id)
    LIMIT :limit
    ON CONFLICT (step_id) DO NOTHING
    """
)


async def take_due(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Mark up to ``limit`` due rows published and return their steps in sending order (org turns)."""
    rows = (await session.execute(TAKE_DUE, {"limit": limit})).all()
    return [row.step_id for row in sorted(rows, key=lambda row: (row.turn, row.org_id))]


@dataclass(frozen=True)
class PublisherConfig:
    # Steps in flight at most; keep it above the workers' total concurrency so none sits idle.
    window: int = 2000
    batch: int = 500
    poll_interval_seconds: float = 0.2
    sweep_interval_seconds: float = 5.0
    # A message not consumed this long after it was sent is presumed lost and sent again.
    stale_seconds: float = 60.0


class OutboxPublisher:
    """Publishes and sweeps for ``database``, whose connections must have the outbox on."""

    def __init__(self, database: Database, broker_url: str, config: PublisherConfig | None = None):
        self.database = database
        self.broker = connect_broker(broker_url)
        self.config = config or PublisherConfig()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        # One thread sends: brokers' clients block, and RabbitMQ's keeps one connection per thread.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dex-publisher")

    async def start(self) -> None:
        self._listener = await listen_for_ready_steps(self.database, self._wake.set)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="dex-outbox-publisher"),
            asyncio.create_task(self._sweep_loop(), name="dex-outbox-sweeper"),
        ]

    async def stop(self) -> None:
        """Stop publishing (the outbox keeps what is unpublished); ``start`` may be called again."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def close(self) -> None:
        await self.stop()
        await asyncio.get_running_loop().run_in_executor(self._sender, self.broker.close)
        self._sender.shutdown()

    async def publish(self) -> int:
        """Send one batch of due steps; the rows are marked published only if the broker took them all."""
        async with self.database.transaction() as session:
            room = min(self.config.batch, self.config.window - await session.scalar(IN_FLIGHT))
            # Top the window up by a quarter at a time, not by the few steps each claim frees: full
            # messages cost the broker and the workers less.
            if room < max(1, min(self.config.batch, self.config.window // 4)):
                return 0
            step_ids = await take_due(session, room)
            if step_ids:
                await asyncio.get_running_loop().run_in_executor(self._sender, self._send, step_ids)
        return len(step_ids)

    def _send(self, step_ids: list[uuid.UUID]) -> None:
        for message in step_messages(step_ids):
            self.broker.enqueue(message)

    async def sweep(self) -> None:
        async with self.database.transaction() as session:
            if requeued := await requeue_abandoned(session):
                log.info("re-queued %d steps of workers that are gone", requeued)
            stale = {"stale_seconds": self.config.stale_seconds}
            await session.execute(SWEEP_LOST, stale)
            await session.execute(ADOPT_ORPHANS, {**stale, "limit": self.config.window})

    async def _publish_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.publish()
            except Exception:
                # Whatever failed (database, broker), the rows are still unpublished: try again shortly.
                log.exception("publishing ready steps failed")
                sent = 0
            if sent:
                continue  # an org's share may leave a batch short: more may be due at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_seconds)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("outbox sweep failed")


def publish_from(
    app: FastAPI, database: Database, broker_url: str, config: PublisherConfig | None = None
) -> FastAPI:
    """``dex serve --executor dramatiq``: a publisher for ``database`` that starts and stops with the
    API's lifespan (inside the app's own, so the database is open before and after it)."""
    app_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with app_lifespan(app):
            publisher = OutboxPublisher(database, broker_url, config)
            await publisher.start()
            try:
                yield
            finally:
                await publisher.close()

    app.router.lifespan_context = lifespan
    return app
