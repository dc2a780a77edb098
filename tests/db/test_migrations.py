from __future__ import annotations

import asyncio
import json
import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.engine import Database
from dex.db.migrate import current_revision, head_revision, upgrade
from dex.entities import timeline
from dex.providers.models import JOURNAL_SLOTS, journal_partition
from dex.tables import Base
from tests.conftest import PipelineHarness


async def new_org(session: AsyncSession, slug: str) -> uuid.UUID:
    return (
        await session.execute(text("INSERT INTO orgs (name, slug) VALUES (:n, :n) RETURNING id"), {"n": slug})
    ).scalar_one()


async def test_database_is_at_head(database_url: str) -> None:
    assert await current_revision(database_url) == head_revision()


async def test_upgrade_is_idempotent(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(upgrade, database_url)
    assert await current_revision(database_url) == head_revision()


def _not_a_journal_partition(name: str | None, type_: str, _parents: object) -> bool:
    """The journal's partitions are the migration's (0019); the model is their partitioned table."""
    return not (type_ == "table" and name in {journal_partition(slot) for slot in range(JOURNAL_SLOTS)})


async def test_migrations_match_the_models(database: Database) -> None:
    """A model change without a migration (or the reverse) fails here."""
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync_conn: compare_metadata(
                MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "include_name": _not_a_journal_partition}
                ),
                Base.metadata,
            )
        )
    assert diff == []


async def test_updated_at_is_maintained_by_trigger(database: Database) -> None:
    async with database.transaction() as session:
        org_id = (
            await session.execute(text("INSERT INTO orgs (name, slug) VALUES ('A', 'a') RETURNING id"))
        ).scalar_one()
    async with database.transaction() as session:
        await session.execute(text("SELECT pg_sleep(0.01)"))
        before = (
            await session.execute(text("SELECT updated_at FROM orgs WHERE id = :id"), {"id": org_id})
        ).scalar_one()
    async with database.transaction() as session:
        await session.execute(text("UPDATE orgs SET name = 'B' WHERE id = :id"), {"id": org_id})
    async with database.transaction() as session:
        after = (
            await session.execute(text("SELECT updated_at FROM orgs WHERE id = :id"), {"id": org_id})
        ).scalar_one()
    assert after > before


async def test_rows_cannot_point_across_orgs(database: Database) -> None:
    """The composite (id, org_id) foreign keys keep a user inside the org of its company."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    async with database.transaction() as session:
        org_a, org_b = [await new_org(session, n) for n in ("a", "b")]
        company_b = (
            await session.execute(
                text("INSERT INTO companies (org_id, name) VALUES (:org, 'B co') RETURNING id"),
                {"org": org_b},
            )
        ).scalar_one()
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO users (org_id, company_id, email, role) "
                    "VALUES (:org, :co, 'x@a.io', 'member')"
                ),
                {"org": org_a, "co": company_b},
            )


async def test_provenance_migration_stores_each_source_once_and_back(
    database_url: str, database: Database
) -> None:
    """0014 turns field → source objects into a list of sources with their fields; its downgrade back."""
    from alembic import command

    from dex.db.migrate import alembic_config
    from dex.entities.provenance import expand

    search = {"operation_id": "person.search", "provider": "prospeo", "run_id": None, "at": "2026-12-04"}
    email = {**search, "operation_id": "person.contact.resolve_email", "provider": "leadmagic"}
    by_field = {"full_name": search, "title": search, "work_email": email}
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0013")
    try:
        async with database.transaction() as session:
            org_id = await new_org(session, "p")
            await session.execute(
                text(
                    "INSERT INTO person_entities (org_id, entity_id, field_provenance) "
                    "VALUES (:org, gen_random_uuid(), CAST(:provenance AS jsonb))"
                ),
                {"org": org_id, "provenance": json.dumps(by_field)},
            )
    finally:
        await asyncio.to_thread(upgrade, database_url)
    read = "SELECT field_provenance FROM person_entities WHERE org_id = :org"
    async with database.transaction() as session:
        stored = await session.scalar(text(read), {"org": org_id})
    assert stored == [
        {**search, "fields": ["full_name", "title"]},
        {**email, "fields": ["work_email"]},
    ]
    assert expand(stored) == by_field
    await asyncio.to_thread(command.downgrade, config, "0013")
    try:
        async with database.transaction() as session:
            assert await session.scalar(text(read), {"org": org_id}) == by_field
    finally:
        await asyncio.to_thread(upgrade, database_url)


async def test_attempts_migration_moves_them_into_their_runs_and_back(
    database_url: str, database: Database
) -> None:
    """0015 stores each run's attempts on the run, in order, read back one per row by the view
    ``operation_attempts``; its downgrade puts them back in the table."""
    from alembic import command

    from dex.db.migrate import alembic_config

    config = alembic_config(database_url)
    read = (
        "SELECT sequence, provider, cost_credits, call_ids FROM operation_attempts "
        "WHERE org_id = :org ORDER BY sequence"
    )
    await asyncio.to_thread(command.downgrade, config, "0014")
    try:
        async with database.transaction() as session:
            org_id = await new_org(session, "attempts")
            run_id = await session.scalar(
                text(
                    "INSERT INTO operation_runs (run_id, org_id, role, auth_method, operation_id, "
                    "entity_type, status) VALUES (gen_random_uuid(), :org, 'org_admin', 'api_token', "
                    "'person.email', 'person', 'found') RETURNING run_id"
                ),
                {"org": org_id},
            )
            for sequence, provider in ((1, "leadmagic"), (0, "prospeo")):
                await session.execute(
                    text(
                        "INSERT INTO operation_attempts (run_id, org_id, sequence, provider, action, status, "
                        "cost_credits, call_ids) VALUES (:run, :org, :sequence, :provider, 'find', 'found', "
                        "1.5, ARRAY[gen_random_uuid()])"
                    ),
                    {"run": run_id, "org": org_id, "sequence": sequence, "provider": provider},
                )
            before = [tuple(row) for row in await session.execute(text(read), {"org": org_id})]
    finally:
        await asyncio.to_thread(upgrade, database_url)
    async with database.transaction() as session:
        stored = await session.scalar(
            text("SELECT attempts FROM operation_runs WHERE run_id = :run"), {"run": run_id}
        )
        assert [attempt["provider"] for attempt in stored] == ["prospeo", "leadmagic"]
        assert [tuple(row) for row in await session.execute(text(read), {"org": org_id})] == before
    await asyncio.to_thread(command.downgrade, config, "0014")
    try:
        async with database.transaction() as session:
            assert [tuple(row) for row in await session.execute(text(read), {"org": org_id})] == before
    finally:
        await asyncio.to_thread(upgrade, database_url)


async def test_answers_in_cache_migration_gives_held_answers_their_notes_back(
    database_url: str, database: Database
) -> None:
    """After 0016 a journal row whose answer a cache entry holds has no note; the downgrade writes it."""
    from alembic import command

    from dex.db.migrate import alembic_config

    async with database.transaction() as session:
        org_id = await new_org(session, "notes")
        call_id = await session.scalar(
            text(
                "INSERT INTO provider_call_journal (call_id, run_id, org_id, role, auth_method, "
                "operation_id, entity_type, provider, action, owner, price_credits, sandbox) "
                "VALUES (gen_random_uuid(), gen_random_uuid(), :org, 'org_admin', 'api_token', "
                "'person.email', 'person', 'prospeo', 'enrich', 'gone:1:a', 2.5, true) RETURNING call_id"
            ),
            {"org": org_id},
        )
        await session.execute(
            text(
                "INSERT INTO enrichment_cache (org_id, provider, action, request_hash, status, http_status, "
                "response, expires_at, answers_of) VALUES (:org, 'prospeo', 'enrich', 'k', 'found', 201, "
                "'{}', now() + interval '1 day', ARRAY[CAST(:call AS uuid)])"
            ),
            {"org": org_id, "call": call_id},
        )
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0015")
    try:
        async with database.transaction() as session:
            noted = (
                await session.execute(
                    text(
                        "SELECT answered, http_status, cost_credits FROM provider_call_journal "
                        "WHERE call_id = :call"
                    ),
                    {"call": call_id},
                )
            ).one()
        assert tuple(noted) == (True, 201, 2.5)
    finally:
        await asyncio.to_thread(upgrade, database_url)


async def test_events_read_from_rows_are_written_back_by_the_downgrade(
    pipeline: PipelineHarness, database_url: str, database: Database
) -> None:
    """Before 0021–0023 every timeline event was a row of its own: the downgrade writes the events read
    from steps and runs back as rows, the same ones."""
    from alembic import command

    from dex.db.migrate import alembic_config

    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
        {"position": 3, "operation_id": "person.contact.resolve_email"},
    ]
    await pipeline.submit(await pipeline.blueprint("events", steps), [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    await pipeline.executor.stop()
    columns = (
        "metadata, entity_type, entity_id, pipeline_run_id, step_result_id, status, summary, fields_updated"
    )
    read = f"SELECT {columns}, provider, created_at FROM {{events}} e ORDER BY created_at, summary"
    async with database.transaction() as session:
        before = [tuple(row) for row in await session.execute(text(read.format(events=timeline.EVENTS)))]
        written = await session.scalar(text("SELECT count(*) FROM entity_timeline"))
    assert len(before) > written > 0
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0020")
    try:
        async with database.transaction() as session:
            after = [tuple(row) for row in await session.execute(text(read.format(events="entity_timeline")))]
        assert after == before
    finally:
        await asyncio.to_thread(upgrade, database_url)
