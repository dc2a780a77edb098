"""The journal keeps recorded rows until their hour's partition is emptied, and settles each row once:
by the recording, by recovery's claim of an execution nobody recorded, or when its partition is emptied."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from sqlalchemy import text

from dex.db.engine import Database
from dex.operations.engine import OperationResult
from dex.operations.repository import (
    UNSETTLED_CALLS,
    empty_old_journal_slot,
    journal_owners,
    operation_run_row,
    record_operation_runs,
    settle_orphaned_calls,
)
from dex.pipeline.executor import empty_old_journal
from dex.providers.base import Attempt
from dex.providers.journal import CallJournal, CallOrigin
from dex.providers.models import JOURNAL_HOUR, JOURNAL_SLOTS, journal_partition
from dex.tenancy.context import AuthContext
from tests.conftest import Tenant, scalar
from tests.providers.test_journal import origin_for

OLD_SLOT = f"({JOURNAL_HOUR} + 1) % {JOURNAL_SLOTS}"


async def journaled(
    journal: CallJournal, tenant: Tenant, price: str = "1", origin: CallOrigin | None = None
) -> tuple[uuid.UUID, uuid.UUID]:
    """One request journaled by ``journal`` (for a new execution unless ``origin``): its execution
    (operation run) id and its call id."""
    origin, call_id = origin or origin_for(tenant), uuid.uuid4()
    await journal.before_send(
        origin, call_id, "millionverifier", "verify", price=Decimal(price), sandbox=True
    )
    return origin.run_id, call_id


async def record(database: Database, tenant: Tenant, run_id: uuid.UUID, call_ids: list[uuid.UUID]) -> None:
    attempt = Attempt("millionverifier", "verify", "verified", cost_credits=Decimal("1"), call_ids=call_ids)
    result = OperationResult(run_id, "person.contact.verify_email", "person", "verified", attempts=[attempt])
    auth = AuthContext(tenant.org_id, None, None, "org_admin", "api_token")
    async with database.transaction() as session:
        await record_operation_runs(session, [operation_run_row(result, auth=auth, input_payload={})])


async def move_to_old_slot(database: Database, *call_ids: uuid.UUID) -> None:
    """Rows as if written two hours ago, in the partition emptied next."""
    async with database.transaction() as session:
        await session.execute(
            text(f"UPDATE provider_call_journal SET slot = {OLD_SLOT} WHERE call_id = ANY(:ids)"),
            {"ids": list(call_ids)},
        )


async def test_a_recorded_row_stays_settled_and_recovery_of_its_owner_finds_nothing(
    tenant: Tenant, database: Database
) -> None:
    journal = CallJournal(database, owner="localhost-that-died:999999999:rec")
    run_id, call_id = await journaled(journal, tenant)
    await record(database, tenant, run_id, [call_id])
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal") == 1
    assert await scalar(database, UNSETTLED_CALLS) == 0
    async with database.transaction() as session:
        assert await journal_owners(session) == [journal.owner]
        assert await settle_orphaned_calls(session, dead_owners=[journal.owner]) == 0
        # Settled once: its rows are not looked at again.
        assert await journal_owners(session) == []
    assert await scalar(database, "SELECT count(*) FROM operation_runs") == 1
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1


async def test_recovery_claims_an_unrecorded_execution_under_its_own_id_so_a_late_recording_does_nothing(
    tenant: Tenant, database: Database
) -> None:
    journal = CallJournal(database, owner="localhost-that-died:999999999:late")
    run_id, call_id = await journaled(journal, tenant, price="3")
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[journal.owner]) == 1
    await record(database, tenant, run_id, [call_id])
    runs = await _all(database, "SELECT run_id, status, cost_credits FROM operation_runs")
    assert runs == [(run_id, "failed", 3)]
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 3
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_recovery_and_a_recording_of_one_execution_at_once_record_it_once(
    tenant: Tenant, database: Database
) -> None:
    """Whichever commits first, the execution is in the history once (the other's insert does nothing)."""
    for _ in range(5):
        journal = CallJournal(database, owner=f"localhost-that-died:999999999:{uuid.uuid4().hex[:6]}")
        run_id, call_id = await journaled(journal, tenant)

        async def recover(owner: str = journal.owner) -> None:
            async with database.transaction() as session:
                await settle_orphaned_calls(session, dead_owners=[owner])

        await asyncio.gather(recover(), record(database, tenant, run_id, [call_id]))
        assert (
            await scalar(database, "SELECT count(*) FROM operation_runs WHERE run_id = :id", id=run_id) == 1
        )
    assert await scalar(database, "SELECT count(*) FROM operation_attempts") == 5
    assert await scalar(database, "SELECT sum(cost_credits) FROM operation_runs") == 5
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_emptying_the_old_partition_settles_what_nobody_recorded_and_empties_it(
    tenant: Tenant, database: Database
) -> None:
    live = CallJournal(database)
    recorded_run, recorded = await journaled(live, tenant)
    await record(database, tenant, recorded_run, [recorded])
    lost_run, lost = await journaled(live, tenant, price="2")
    # An execution that ran across the hour's end: one request in the old partition, one in the new.
    spanning = origin_for(tenant)
    spanning_run, early = await journaled(live, tenant, price="4", origin=spanning)
    await journaled(live, tenant, price="8", origin=spanning)
    current_run, current = await journaled(live, tenant, price="16")
    await move_to_old_slot(database, recorded, lost, early)

    async with database.transaction() as session:
        assert await empty_old_journal_slot(session) == 3
    old = journal_partition(await scalar(database, f"SELECT {OLD_SLOT}"))
    assert await scalar(database, f"SELECT count(*) FROM {old}") == 0
    # The interrupted executions are recorded under their own ids, at their prices; the row of the
    # execution still running in this hour's partition is untouched.
    runs = await _all(
        database, "SELECT run_id, status, cost_credits FROM operation_runs ORDER BY cost_credits"
    )
    assert runs == [(recorded_run, "verified", 1), (lost_run, "failed", 2), (spanning_run, "failed", 12)]
    remaining = await _all(database, "SELECT call_id FROM provider_call_journal")
    assert remaining == [(current,)]
    assert current_run not in {run for run, *_ in runs}

    async with database.transaction() as session:
        assert await empty_old_journal_slot(session) == 0


async def test_the_old_partition_in_use_is_emptied_later_without_waiting_long(
    tenant: Tenant, database: Database
) -> None:
    _, call_id = await journaled(CallJournal(database), tenant)
    await move_to_old_slot(database, call_id)
    old = journal_partition(await scalar(database, f"SELECT {OLD_SLOT}"))
    async with database.engine.connect() as reader:
        transaction = await reader.begin()
        await reader.execute(text(f"SELECT count(*) FROM {old}"))
        await empty_old_journal(database)
        assert await scalar(database, f"SELECT count(*) FROM {old}") == 1
        await transaction.rollback()
    await empty_old_journal(database)
    assert await scalar(database, f"SELECT count(*) FROM {old}") == 0
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_one_process_empties_the_old_partition_the_others_leave_it(
    tenant: Tenant, database: Database
) -> None:
    _, call_id = await journaled(CallJournal(database), tenant)
    await move_to_old_slot(database, call_id)
    async with database.transaction() as emptying:
        assert await emptying.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtext('dex.empty_old_journal_slot'))")
        )
        async with database.transaction() as other:
            assert await empty_old_journal_slot(other) == 0
        assert await empty_old_journal_slot(emptying) == 1
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal") == 0


async def _all(database: Database, sql: str) -> list[tuple[object, ...]]:
    async with database.transaction() as session:
        return [tuple(row) for row in await session.execute(text(sql))]
