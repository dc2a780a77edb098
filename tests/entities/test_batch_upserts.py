"""A batch of upserts (what the executor writes for the runs it finished) lands exactly as the same
writes one after the other would: the same rows, versions, snapshots and results — including writes that
chain on one entity, reach one person by two keys, or move a unique key from one row to another."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.engine import Database
from dex.db.queries import Writes
from dex.entities import provenance
from dex.entities.repository import EntityWrite, Lineage, UpsertResult, upsert_entities
from tests.conftest import Tenant, create_tenant

# Few values, so that writes keep meeting the same rows by one key or another.
LINKEDINS = [f"https://linkedin.com/in/p{n}" for n in range(3)]
EMAILS = [f"p{n}@acme.io" for n in range(3)]
DOMAINS = ["acme.io", "globex.com"]

person_contexts = st.fixed_dictionaries(
    {},
    optional={
        "linkedin_url": st.sampled_from(LINKEDINS),
        "email": st.sampled_from(EMAILS),
        "full_name": st.sampled_from(["Ava Patel", "Ben Ode"]),
        "title": st.one_of(st.none(), st.sampled_from(["CTO", "CEO"])),
        "contact_confidence": st.sampled_from([0.5, 0.85]),
        "x_signal": st.integers(0, 3),
    },
)
company_contexts = st.fixed_dictionaries(
    {},
    optional={
        "domain": st.sampled_from(DOMAINS),
        "company_name": st.sampled_from(["Acme", "Globex"]),
        "industry": st.one_of(st.none(), st.sampled_from(["Software", "Retail"])),
        "employee_count": st.integers(1, 500),
        "source_providers": st.lists(st.sampled_from(["prospeo", "blitzapi"]), max_size=2),
    },
)
writes = st.lists(
    st.tuples(
        st.booleans(),  # the second org
        st.one_of(
            st.tuples(st.just("person"), person_contexts), st.tuples(st.just("company"), company_contexts)
        ),
    ),
    min_size=1,
    max_size=8,
)


async def _state(session: AsyncSession) -> dict[str, list[Any]]:
    """Every entity row and snapshot, without the clock's stamps."""
    state = {}
    for table in ("company_entities", "person_entities"):
        rows = await session.execute(text(f"SELECT * FROM {table} ORDER BY org_id, entity_id"))
        state[table] = [
            {
                **{k: v for k, v in row.items() if k not in ("created_at", "updated_at", "last_enriched_at")},
                "field_provenance": {
                    field: {**source, "at": None}
                    for field, source in provenance.expand(row["field_provenance"]).items()
                },
            }
            for row in rows.mappings()
        ]
    snapshots = await session.execute(
        text(
            "SELECT org_id, entity_type, entity_id, record_version, canonical_payload, source_run_id "
            "FROM entity_snapshots ORDER BY 1, 2, 3, 4"
        )
    )
    state["entity_snapshots"] = [tuple(row) for row in snapshots]
    return state


async def _apply(
    database: Database, batches: list[list[EntityWrite]], *, with_callers_writes: bool = False
) -> tuple[list[UpsertResult | None], dict[str, Any]]:
    """The results and the final state of ``batches`` applied in turn, in a transaction rolled back;
    ``with_callers_writes``: each batch's rows go with the caller's writes, as the executor records them."""
    async with database.sessionmaker() as session:
        await session.begin()
        try:
            results = []
            for batch in batches:
                writes = Writes() if with_callers_writes else None
                results += await upsert_entities(session, batch, into=writes)
                if writes is not None:
                    await writes.execute(session)
            return results, await _state(session)
        finally:
            await session.rollback()


@pytest.fixture
async def other_org(database: Database) -> uuid.UUID:
    return (await create_tenant(database, "batch-other")).org_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes)
async def test_a_batch_equals_its_writes_one_after_the_other(
    database: Database,
    tenant: Tenant,
    other_org: uuid.UUID,
    case: list[tuple[bool, tuple[str, dict[str, Any]]]],
) -> None:
    lineage = Lineage("test.batch", None, None)
    batch = [
        EntityWrite(other_org if second else tenant.org_id, entity_type, context, lineage)
        for second, (entity_type, context) in case
    ]
    one_after_the_other = await _apply(database, [[write] for write in batch])
    assert await _apply(database, [batch]) == one_after_the_other
    assert await _apply(database, [batch], with_callers_writes=True) == one_after_the_other


async def test_a_unique_key_moves_between_two_rows_of_one_batch(database: Database, tenant: Tenant) -> None:
    lineage = Lineage("test.batch", None, None)
    ava, ben = "https://linkedin.com/in/ava", "https://linkedin.com/in/ben"
    async with database.transaction() as session:
        await upsert_entities(
            session,
            [
                EntityWrite(tenant.org_id, "person", {"linkedin_url": ava, "email": "old@acme.io"}, lineage),
                EntityWrite(tenant.org_id, "person", {"linkedin_url": ben}, lineage),
            ],
        )
    # Ava gives up her address and Ben takes it, in one batch: one UPDATE alone would collide.
    moves = [
        EntityWrite(tenant.org_id, "person", {"linkedin_url": ava, "email": "new@acme.io"}, lineage),
        EntityWrite(tenant.org_id, "person", {"linkedin_url": ben, "email": "old@acme.io"}, lineage),
    ]
    async with database.transaction() as session:
        results = await upsert_entities(session, moves)
        rows = await session.execute(
            text("SELECT linkedin_url, work_email, record_version FROM person_entities ORDER BY 1")
        )
        assert [tuple(row) for row in rows] == [(ava, "new@acme.io", 2), (ben, "old@acme.io", 2)]
    assert [(result.record_version, result.created) for result in results if result] == [(2, False)] * 2


@pytest.mark.parametrize("with_callers_writes", [False, True])
async def test_a_new_entity_takes_the_key_another_gives_up(
    database: Database, tenant: Tenant, with_callers_writes: bool
) -> None:
    """The key is free before the new row is written, also when the rows go with the caller's writes
    (which PostgreSQL may run in any order)."""
    lineage = Lineage("test.batch", None, None)
    ava, cy = "https://linkedin.com/in/ava", "https://linkedin.com/in/cy"
    async with database.transaction() as session:
        await upsert_entities(
            session,
            [EntityWrite(tenant.org_id, "person", {"linkedin_url": ava, "email": "old@acme.io"}, lineage)],
        )
    moves = [
        EntityWrite(tenant.org_id, "person", {"linkedin_url": ava, "email": "new@acme.io"}, lineage),
        EntityWrite(tenant.org_id, "person", {"linkedin_url": cy, "email": "old@acme.io"}, lineage),
    ]
    async with database.transaction() as session:
        writes = Writes() if with_callers_writes else None
        results = await upsert_entities(session, moves, into=writes)
        if writes is not None:
            await writes.execute(session)
        rows = await session.execute(text("SELECT linkedin_url, work_email FROM person_entities ORDER BY 1"))
        assert [tuple(row) for row in rows] == [(ava, "new@acme.io"), (cy, "old@acme.io")]
    assert [(result.record_version, result.created) for result in results if result] == [
        (2, False),
        (1, True),
    ]
