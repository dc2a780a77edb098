"""The step outbox: kept by triggers in the transactions that change steps, published round-robin across
orgs within a bounded backlog, and swept for what was lost. PostgreSQL and a Redis broker no worker
consumes, so every message stays where the test can count it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis
from sqlalchemy import text

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.pipeline.claims import claim_ids
from dex.pipeline.progress import PlanCache
from dex.providers.runtime import ProviderRuntime
from dex.scaleout.broker import STEP_QUEUE
from dex.scaleout.outbox import OutboxPublisher, PublisherConfig, enable_outbox, take_due
from tests.conftest import PipelineHarness, Tenant, create_tenant
from tests.pipeline.test_batch_e2e import VERIFY

pytestmark = pytest.mark.xdist_group("scaleout")


@pytest.fixture
async def api(
    outbox_database: Database, sandbox_settings: Settings, providers: ProviderRuntime, tenant: Tenant
) -> AsyncIterator[PipelineHarness]:
    """The API with the outbox on and no executor: steps stay where submitting put them."""
    app = create_app(sandbox_settings, database=outbox_database, providers=providers, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield PipelineHarness(http, None, tenant)  # type: ignore[arg-type]


@pytest.fixture
def idle_broker_url(redis_url: str) -> str:
    """A Redis database of the test Redis that no worker consumes; emptied for each test."""
    url = redis_url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(url).flushdb()
    return url


def queued_messages(broker_url: str) -> int:
    return redis.Redis.from_url(broker_url).llen(f"dramatiq:{STEP_QUEUE}")


async def submit_people(harness: PipelineHarness, count: int, domain: str) -> str:
    blueprint = await harness.blueprint(f"verify-{domain}", [VERIFY], entity_type="person")
    return await harness.submit(blueprint, [{"email": f"p{i}@{domain}"} for i in range(count)], "person")


async def outbox(database: Database) -> list[tuple[uuid.UUID, bool]]:
    async with database.transaction() as session:
        rows = await session.execute(text("SELECT step_id, published_at IS NOT NULL FROM step_outbox"))
        return [tuple(row) for row in rows]


async def test_outbox_rows_follow_the_steps_that_wait(
    api: PipelineHarness, outbox_database: Database, database: Database
) -> None:
    submission = await submit_people(api, 3, "outbox.io")
    rows = await outbox(database)
    assert len(rows) == 3 and not any(published for _, published in rows)
    await claim(outbox_database, [rows[0][0]])
    assert len(await outbox(database)) == 2  # claimed: no longer waiting
    canceled = await api.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.status_code == 200, canceled.text
    assert await outbox(database) == []  # skipped by the cancel


async def test_a_worker_has_the_first_claim_on_the_waiting_steps_it_inserts(
    database_url: str,
    database: Database,
    sandbox_settings: Settings,
    providers: ProviderRuntime,
    tenant: Tenant,
) -> None:
    """Waiting steps inserted on a connection with a grace (a worker's) are due that much later; moved
    back to waiting (a retry, recovery), a step is due when it is due."""
    graced = Database(database_url, pool_size=2)
    enable_outbox(graced, first_claim_seconds=30)
    try:
        app = create_app(sandbox_settings, database=graced, providers=providers, run_executor=False)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
            await submit_people(PipelineHarness(http, None, tenant), 2, "graced.io")  # type: ignore[arg-type]
        async with database.transaction() as session:
            assert await take_due(session, 10) == []  # the inserting worker's, for 30 s
            held = (await session.execute(text("SELECT step_id FROM step_outbox"))).scalars().all()
            assert len(held) == 2
        async with graced.transaction() as session:
            await session.execute(
                text("UPDATE step_results SET available_at = now() - interval '1 s' WHERE id = :id"),
                {"id": held[0]},
            )
        async with database.transaction() as session:
            assert await take_due(session, 10) == [held[0]]
    finally:
        await graced.dispose()


async def test_without_the_outbox_setting_nothing_is_written(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    """The embedded executor's connections (no ``dex.step_outbox``) pay nothing for the scale-out mode."""
    await submit_people(PipelineHarness(client, None, tenant), 3, "embedded.io")  # type: ignore[arg-type]
    assert await outbox(database) == []


async def test_publishing_takes_orgs_in_turns(
    api: PipelineHarness, outbox_database: Database, database: Database
) -> None:
    await submit_people(api, 30, "big.io")
    small = await create_tenant(database, "small-org")
    await submit_people(PipelineHarness(api.client, None, small), 3, "small.io")  # type: ignore[arg-type]
    async with outbox_database.transaction() as session:
        first = await take_due(session, 8)
        owners = dict((await session.execute(text("SELECT step_id, org_id FROM step_outbox"))).all())
    orgs = [owners[step_id] for step_id in first]
    # An equal share each, sent in turns: the small org's 3 steps are among the first 6, not behind 30.
    assert orgs[:6].count(small.org_id) == 3 and orgs[6:] == [api.tenant.org_id]


async def test_the_publisher_keeps_at_most_a_window_in_flight(
    api: PipelineHarness, outbox_database: Database, database: Database, idle_broker_url: str
) -> None:
    await submit_people(api, 12, "window.io")
    publisher = OutboxPublisher(outbox_database, idle_broker_url, PublisherConfig(window=8, batch=100))
    try:
        assert await publisher.publish() == 8
        assert await publisher.publish() == 0  # nothing was claimed: the window is full
        assert queued_messages(idle_broker_url) == 8
        assert sum(published for _, published in await outbox(database)) == 8

        published = [step_id for step_id, sent in await outbox(database) if sent]
        await claim(outbox_database, published[:1])
        assert await publisher.publish() == 0  # the window is topped up a quarter at a time
        await claim(outbox_database, published[1:2])
        assert await publisher.publish() == 2
    finally:
        await publisher.close()


async def claim(database: Database, step_ids: list[uuid.UUID]) -> None:
    async with database.transaction() as session:
        await claim_ids(session, PlanCache(), worker="test", lease_seconds=30, step_ids=step_ids)


async def test_the_sweeper_resends_lost_messages_and_adopts_orphans(
    api: PipelineHarness, outbox_database: Database, database: Database, idle_broker_url: str
) -> None:
    await submit_people(api, 2, "sweep.io")
    publisher = OutboxPublisher(outbox_database, idle_broker_url, PublisherConfig(stale_seconds=0))
    try:
        assert await publisher.publish() == 2
        async with database.transaction() as session:
            # One message is lost in the broker; the other step's row vanished (made ready by a process
            # without the outbox on). This connection has it off: the triggers stay out of the way.
            await session.execute(
                text("DELETE FROM step_outbox WHERE step_id = (SELECT step_id FROM step_outbox LIMIT 1)")
            )
        await publisher.sweep()
        assert sorted(published for _, published in await outbox(database)) == [False, False]
        assert await publisher.publish() == 2
        assert queued_messages(idle_broker_url) == 4  # sent again: at least once
    finally:
        await publisher.close()
