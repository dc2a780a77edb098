"""The journal keeps recorded rows until their hour's partition is emptied, and settles each row once:
by the recording, by recovery's claim of an execution nobody recorded, or when its partition is emptied."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.engine import Database, error_causes
from dex.operations import repository
from dex.operations.engine import OperationResult
from dex.operations.repository import (
    UNSETTLED_CALLS,
    empty_old_journal_slot,
    journal_owners,
    operation_run_row,
    record_operation_runs,
    settle_orphaned_calls,
)
from dex.pipeline import heartbeats
from dex.pipeline.executor import LOCK_NOT_AVAILABLE, empty_old_journal, requeue_abandoned
from dex.providers.base import Attempt
from dex.providers.journal import CallJournal, CallOrigin, ReusedAnswer
from dex.providers.models import JOURNAL_SLOT_OF_NOW, OLD_JOURNAL_SLOT, journal_partition
from dex.tenancy.context import AuthContext
from tests.conftest import Tenant, scalar
from tests.providers.test_journal import origin_for


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


def verified(call_ids: list[uuid.UUID], cost: str = "1") -> Attempt:
    return Attempt("millionverifier", "verify", "verified", cost_credits=Decimal(cost), call_ids=call_ids)


async def record(
    database: Database,
    tenant: Tenant,
    run_id: uuid.UUID,
    call_ids: list[uuid.UUID],
    attempts: list[Attempt] | None = None,
) -> None:
    """The execution ``run_id`` recorded with one attempt of ``call_ids`` (or with ``attempts``)."""
    attempts = attempts or [verified(call_ids)]
    result = OperationResult(run_id, "person.contact.verify_email", "person", "verified", attempts=attempts)
    auth = AuthContext(tenant.org_id, None, None, "org_admin", "api_token")
    async with database.transaction() as session:
        await record_operation_runs(session, [operation_run_row(result, auth=auth, input_payload={})])


async def move_to_old_slot(database: Database, *call_ids: uuid.UUID) -> None:
    """Rows as if written two hours ago, in the partition emptied next."""
    async with database.transaction() as session:
        await session.execute(
            text(f"UPDATE provider_call_journal SET slot = {OLD_JOURNAL_SLOT} WHERE call_id = ANY(:ids)"),
            {"ids": list(call_ids)},
        )


QUESTION = "the step's paid question"


async def kept_answer(journal: CallJournal, tenant: Tenant, step: uuid.UUID) -> uuid.UUID:
    """The paid answer to the step's question that ``journal``'s process kept: its call id."""
    call_id = uuid.uuid4()
    await journal.before_send(
        origin_for(tenant, step),
        call_id,
        "millionverifier",
        "verify",
        price=Decimal("1"),
        sandbox=True,
        request_hash=QUESTION,
    )
    await journal.answered(call_id, 200, Decimal("1"), {"result": "ok"})
    return call_id


async def asked_again(database: Database, tenant: Tenant, step: uuid.UUID, kept: uuid.UUID) -> CallOrigin:
    """The step's next run asks its question again, and is answered with the kept answer ``kept``."""
    origin = origin_for(tenant, step)
    answer = await CallJournal(database).before_send(
        origin,
        uuid.uuid4(),
        "millionverifier",
        "verify",
        price=Decimal("1"),
        sandbox=True,
        request_hash=QUESTION,
    )
    assert isinstance(answer, ReusedAnswer) and answer.call_id == kept
    return origin


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
    old = journal_partition(await scalar(database, f"SELECT {OLD_JOURNAL_SLOT}"))
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
    old = journal_partition(await scalar(database, f"SELECT {OLD_JOURNAL_SLOT}"))
    async with database.engine.connect() as reader:
        transaction = await reader.begin()
        await reader.execute(text(f"SELECT count(*) FROM {old}"))
        # Refused after its lock timeout (never waiting for the reader), and left for later.
        with pytest.raises(DBAPIError) as refused:
            async with database.transaction() as session:
                await asyncio.wait_for(empty_old_journal_slot(session), 30)
        assert LOCK_NOT_AVAILABLE in {
            getattr(cause, "sqlstate", None) for cause in error_causes(refused.value)
        }
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


@pytest.mark.parametrize("later_claim", ["recovery", "emptying"])
async def test_a_claim_stands_against_the_late_recording_and_what_came_after_it_is_the_next_claims(
    tenant: Tenant, database: Database, later_claim: str
) -> None:
    """A process taken for dead that carried on: the claim recorded the request it had journaled, and its
    late recording (of a step taken from it) records nothing; the request it made after the claim is
    recorded once, by recovery when the process falls silent again, or when its hour's partition is
    emptied."""
    frozen = CallJournal(database, owner="localhost-that-died:999999999:frozen")
    origin = origin_for(tenant)
    run_id, before = await journaled(frozen, tenant, price="1", origin=origin)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[frozen.owner]) == 1
    _, after = await journaled(frozen, tenant, price="2", origin=origin)
    await frozen.answered(after, 200, Decimal("2"), None)
    await record(database, tenant, run_id, [], [verified([before]), verified([after], cost="2")])
    claimed = await _all(database, "SELECT run_id, status, cost_credits FROM operation_runs")
    assert claimed == [(run_id, "failed", 1)]
    assert await scalar(database, UNSETTLED_CALLS) == 1

    async with database.transaction() as session:
        if later_claim == "recovery":
            assert await settle_orphaned_calls(session, dead_owners=[frozen.owner]) == 1
        else:
            await move_to_old_slot(database, after)
            assert await empty_old_journal_slot(session) == 1
    runs = await _all(
        database, "SELECT run_id, status, cost_credits FROM operation_runs ORDER BY cost_credits"
    )
    assert [(status, cost) for _, status, cost in runs] == [("failed", 1), ("failed", 2)]
    assert runs[1][0] != run_id
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 3
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def waiting_for_a_lock(database: Database) -> None:
    """Returns once some other session of the test's database waits for a lock."""
    for _ in range(600):
        waiting = await scalar(
            database,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for the lock")


async def test_two_claims_of_an_execution_at_once_record_each_request_once(
    tenant: Tenant, database: Database
) -> None:
    """The second claim finds the execution claimed by the first, and records what the first did not read:
    the request the process sent between their reads."""
    frozen = CallJournal(database, owner="localhost-that-died:999999999:two")
    origin = origin_for(tenant)
    await journaled(frozen, tenant, price="1", origin=origin)
    async with database.transaction() as first:
        assert await settle_orphaned_calls(first, dead_owners=[frozen.owner]) == 1
        _, after = await journaled(frozen, tenant, price="2", origin=origin)

        async def second_claim() -> int:
            async with database.transaction() as session:
                return await settle_orphaned_calls(session, dead_owners=[frozen.owner])

        second = asyncio.create_task(second_claim())
        await waiting_for_a_lock(database)
    assert await second == 1
    assert await scalar(database, "SELECT sum(cost_credits) FROM operation_runs") == 3
    assert (
        await scalar(database, f"SELECT count(*) FROM operation_attempts WHERE '{after}' = ANY(call_ids)")
        == 1
    )
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_a_kept_answer_released_while_its_process_records_it_is_recorded_once(
    tenant: Tenant, database: Database
) -> None:
    """Recovery releases the kept answer of a process it takes for dead while that process is recording
    it: the recording, which read the row first, records nothing, and the step's next run takes it over."""
    step = uuid.uuid4()
    frozen = CallJournal(database, owner="localhost-that-died:999999999:rel")
    kept = await kept_answer(frozen, tenant, step)
    run_id = await scalar(database, "SELECT run_id FROM provider_call_journal")
    async with database.transaction() as recovery:
        assert await settle_orphaned_calls(recovery, dead_owners=[frozen.owner]) == 0
        recording = asyncio.create_task(record(database, tenant, run_id, [kept]))
        await waiting_for_a_lock(database)
    await recording

    again = await asked_again(database, tenant, step, kept)
    await record(database, tenant, again.run_id, [kept])
    assert (
        await scalar(database, f"SELECT count(*) FROM operation_attempts WHERE '{kept}' = ANY(call_ids)") == 1
    )
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1


async def test_a_recording_committed_twice_records_its_run_once_and_gives_reservations_back_once(
    tenant: Tenant, database: Database
) -> None:
    """The executor runs a recording again when its commit's acknowledgement was lost: it may have
    committed."""
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE orgs SET budget_credits = 100 WHERE id = :o"), {"o": tenant.org_id}
        )
    journal, origin = CallJournal(database), origin_for(tenant)
    paid, free = uuid.uuid4(), uuid.uuid4()
    for call_id, price in ((paid, "5"), (free, "0")):
        await journal.before_send(
            origin, call_id, "millionverifier", "verify", price=Decimal(price), sandbox=True, reserve=True
        )
    attempts = [verified([paid], cost="5"), verified([free], cost="0")]
    await record(database, tenant, origin.run_id, [], attempts)
    await record(database, tenant, origin.run_id, [], attempts)
    assert await scalar(database, "SELECT count(*) FROM operation_attempts") == 2
    assert await _all(database, "SELECT spent_credits, reserved_credits FROM org_spend") == [(5, 0)]


async def test_an_answer_taken_over_moves_to_this_hours_partition_and_is_recorded_by_its_new_run(
    tenant: Tenant, database: Database
) -> None:
    """A step run again more than an hour after its process died: the kept answer it takes over was
    written in the partition emptied next, which must not take the live run for an interrupted one."""
    step = uuid.uuid4()
    dead = CallJournal(database, owner="localhost-that-died:999999999:kept")
    kept = await kept_answer(dead, tenant, step)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 0
    await move_to_old_slot(database, kept)

    origin = await asked_again(database, tenant, step, kept)
    async with database.transaction() as session:
        assert await empty_old_journal_slot(session) == 0
    await record(database, tenant, origin.run_id, [kept])
    runs = await _all(
        database, "SELECT run_id, status, cost_credits FROM operation_runs ORDER BY cost_credits"
    )
    # The dead process's execution, its answer passed on; the live run, which recorded it.
    assert [(status, cost) for _, status, cost in runs] == [("failed", 0), ("verified", 1)]
    assert runs[1][0] == origin.run_id
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_a_process_recovery_settled_that_carried_on_is_recovered_again_when_it_falls_silent(
    tenant: Tenant, database: Database
) -> None:
    """Taken for dead while only silent, then back: when it falls silent again, its kept answers go to the
    steps' next runs like any dead process's, instead of being paid for again."""
    frozen = CallJournal(database, owner="other-host:7:journal")
    await journaled(frozen, tenant)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[frozen.owner]) == 1
    step = uuid.uuid4()
    kept = await kept_answer(frozen, tenant, step)

    async with database.transaction() as session:
        await heartbeats.beat(session, worker="other-host:7:executor", timeout_seconds=0.01)
        await heartbeats.beat(session, worker="other-host:8:executor", timeout_seconds=60)
    released = False
    for _ in range(200):  # until the other process has beaten for longer than the silent one's timeout
        async with database.transaction() as session:
            await requeue_abandoned(session)
        released = await scalar(
            database, f"SELECT released FROM provider_call_journal WHERE call_id = '{kept}'"
        )
        if released:
            break
        await asyncio.sleep(0.05)
    assert released
    await asked_again(database, tenant, step, kept)


async def test_the_reservation_of_a_request_no_attempt_names_is_given_back_by_the_recording(
    tenant: Tenant, database: Database
) -> None:
    """The adapter failed after journaling the request, so its attempt lost the id: the recording still
    settles the row (at its price: it may have been sent) and gives its reservation back."""
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE orgs SET budget_credits = 100 WHERE id = :o"), {"o": tenant.org_id}
        )
    origin, lost = origin_for(tenant), uuid.uuid4()
    await CallJournal(database).before_send(
        origin, lost, "millionverifier", "verify", price=Decimal("5"), sandbox=True, reserve=True
    )
    assert await scalar(database, "SELECT reserved_credits FROM org_spend") == 5
    failed = Attempt("millionverifier", "verify", "failed", cost_credits=Decimal("0"))
    await record(database, tenant, origin.run_id, [], [failed])
    assert await scalar(database, "SELECT reserved_credits FROM org_spend") == 0
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 5
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_a_claim_that_lost_the_execution_leaves_alone_the_rows_that_moved_on(
    tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two recoveries read a dead process's kept answer; the first releases it and the step's next run
    takes it over before the second, which lost the execution, gets to it: the second must not release it
    again (it would be recorded twice)."""
    step = uuid.uuid4()
    dead = CallJournal(database, owner="localhost-that-died:999999999:both")
    kept = await kept_answer(dead, tenant, step)

    # The second recovery stops between reading the journal and claiming, until the take-over is done.
    read, go_on = asyncio.Event(), asyncio.Event()
    second: list[object] = []
    answers_in_cache = repository.answers_in_cache

    async def paused(session: Any, calls: Any) -> Any:
        if session in second and not go_on.is_set():
            read.set()
            await asyncio.wait_for(go_on.wait(), 30)
        return await answers_in_cache(session, calls)

    monkeypatch.setattr(repository, "answers_in_cache", paused)

    async def second_recovery() -> int:
        async with database.transaction() as session:
            second.append(session)
            return await settle_orphaned_calls(session, dead_owners=[dead.owner])

    late = asyncio.create_task(second_recovery())
    await asyncio.wait_for(read.wait(), 30)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 0
    again = await asked_again(database, tenant, step, kept)
    go_on.set()
    assert await late == 0
    await record(database, tenant, again.run_id, [kept])
    assert await scalar(database, UNSETTLED_CALLS) == 0
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1


async def test_an_emptying_begun_as_the_hour_turned_leaves_the_new_hours_rows(
    tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its transaction's clock says the partition to empty is two hours old; by the time it holds the
    partition, that partition is the one the new hour writes to (emulated: the current one)."""
    monkeypatch.setattr(
        repository,
        "_OLD_SLOT",
        text(f"SELECT {JOURNAL_SLOT_OF_NOW} AS slot, true AS mine"),
    )
    await journaled(CallJournal(database), tenant)
    async with database.transaction() as session:
        assert await empty_old_journal_slot(session) == 0
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal") == 1
