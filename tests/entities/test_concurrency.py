"""Concurrent writers of one entity: upserts straight against the database, and two batches enriching the
same companies at once through the pipeline (two executors, as two dex processes would)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
from sqlalchemy import text

from dex.db.engine import Database
from dex.entities import timeline
from dex.entities.repository import EntityRepository, Lineage
from dex.pipeline.executor import Executor
from tests.conftest import PipelineHarness, Tenant

WRITERS = 8
# About 3 minutes on a busy 2-core machine: run with DEX_SLOW_TESTS=1.
SLOW = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("DEX_SLOW_TESTS"), reason="DEX_SLOW_TESTS unset"),
]


async def test_concurrent_upserts_of_one_new_entity_all_land(database: Database, tenant: Tenant) -> None:
    start = asyncio.Event()

    async def write(index: int) -> int:
        async with database.transaction() as session:
            repo = EntityRepository(session, tenant.org_id)
            # Every writer holds an open transaction before any of them inserts: they race for the row.
            await session.execute(text("SELECT 1"))
            await start.wait()
            result = await repo.upsert(
                "company",
                {
                    "domain": "https://www.Acme.io/",
                    f"signal_{index}": index,
                    "source_providers": [f"p{index}"],
                },
                Lineage("test.race", None, tenant.company_id),
            )
        assert result is not None
        return result.record_version

    writers = [asyncio.create_task(write(index)) for index in range(WRITERS)]
    await asyncio.sleep(0.2)
    start.set()
    versions = await asyncio.gather(*writers)
    assert sorted(versions) == list(range(1, WRITERS + 1))
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT record_version, canonical_payload, source_providers FROM company_entities")
            )
        ).all()
        snapshots = (
            await session.execute(text("SELECT record_version FROM entity_snapshots ORDER BY 1"))
        ).scalars()
        snapshot_versions = list(snapshots)
    assert len(rows) == 1
    version, payload, providers = rows[0]
    assert version == WRITERS
    assert {f"signal_{index}" for index in range(WRITERS)} <= payload.keys()
    assert sorted(providers) == sorted(f"p{index}" for index in range(WRITERS))
    assert snapshot_versions == list(range(1, WRITERS))


async def test_a_person_found_by_email_and_by_linkedin_at_once_is_one_row(
    database: Database, tenant: Tenant
) -> None:
    linkedin = "https://www.linkedin.com/in/ava"
    contexts = [
        {"linkedin_url": linkedin, "email": "ava@acme.io", "title": "CTO"},
        {"email": "AVA@acme.io", "full_name": "Ava Patel"},
        {"linkedin_url": linkedin + "/", "seniority": "c_suite"},
    ]

    async def write(context: dict) -> uuid.UUID:
        async with database.transaction() as session:
            result = await EntityRepository(session, tenant.org_id).upsert(
                "person", context, Lineage("test.race", None, None)
            )
        assert result is not None
        return result.entity_id

    # The full-key context lands first so that the others have a row to find by either key.
    first = await write(contexts[0])
    ids = await asyncio.gather(*(write(context) for context in contexts[1:] * 3))
    assert set(ids) == {first}
    async with database.transaction() as session:
        row = (await session.execute(text("SELECT count(*), max(record_version) FROM person_entities"))).one()
    assert tuple(row) == (1, 7)


async def _count(database: Database, sql: str) -> int:
    async with database.transaction() as session:
        return (await session.execute(text(sql))).scalar_one()


@pytest.mark.parametrize("companies", [200, pytest.param(1000, marks=SLOW)])
async def test_two_batches_enriching_the_same_companies_concurrently(
    pipeline: PipelineHarness, database: Database, companies: int
) -> None:
    blueprint = await pipeline.blueprint(
        "profiles", [{"position": 1, "operation_id": "company.enrich.profile"}]
    )
    domains = [f"company{n:04d}.example" for n in range(companies)]
    second_executor = Executor(
        database, pipeline.executor.deps, pipeline.executor.config, plans=pipeline.executor.plans
    )
    await second_executor.start()
    started = time.monotonic()
    try:
        # The same companies, spelled differently and in the opposite order by the second batch.
        submissions = await asyncio.gather(
            pipeline.submit(blueprint, [{"domain": domain} for domain in domains]),
            pipeline.submit(blueprint, [{"company_domain": f"https://www.{d}/"} for d in reversed(domains)]),
        )
        await asyncio.gather(pipeline.run_until_idle(timeout=600), second_executor.wait_idle(timeout=600))
    finally:
        await second_executor.stop()
    elapsed = time.monotonic() - started
    print(f"\n{companies} companies × 2 batches enriched in {elapsed:.1f}s")

    for submission in submissions:
        status = await pipeline.status(submission)
        assert status["submission"]["status"] == "completed"
        assert status["summary"]["completed"] == companies and status["summary"]["failed"] == 0
    assert await _count(database, "SELECT count(*) FROM company_entities") == companies
    assert (
        await _count(database, "SELECT count(DISTINCT canonical_domain) FROM company_entities") == companies
    )
    # Each company was written once per batch, and every superseded version has its snapshot.
    assert await _count(database, "SELECT count(*) FROM company_entities WHERE record_version <> 2") == 0
    missing_snapshots = """
        SELECT count(*) FROM company_entities e
        WHERE (SELECT array_agg(s.record_version ORDER BY s.record_version) FROM entity_snapshots s
               WHERE s.org_id = e.org_id AND s.entity_type = 'company' AND s.entity_id = e.entity_id)
              IS DISTINCT FROM ARRAY(SELECT generate_series(1, e.record_version - 1))::bigint[]
    """
    assert await _count(database, missing_snapshots) == 0
    upserts = f"""
        SELECT count(*) FROM {timeline.EVENTS} e
        WHERE metadata->>'event_type' = 'entity_upsert' AND metadata->>'record_version' IN ('1', '2')
    """
    assert await _count(database, upserts) == 2 * companies
