"""Writes of operation history: one operation_runs row with its attempts, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import RowMapping, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import Writes, dumps, insert_recordset
from dex.operations.engine import OperationResult
from dex.operations.models import OperationRun
from dex.providers.base import Attempt
from dex.providers.models import (
    JOURNAL_SLOT_OF_NOW,
    JOURNAL_SLOT_SECONDS,
    JOURNAL_SLOTS,
    OLD_JOURNAL_SLOT,
    JournaledCall,
    journal_partition,
)
from dex.tenancy.context import AuthContext


class OperationRunRow(TypedDict):
    """An ``operation_runs`` row as the set-based insert writes it (every column but ``created_at``)."""

    run_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    role: str
    auth_method: str
    operation_id: str
    entity_type: str
    status: str
    missing_inputs: list[str]
    # None for a pipeline step's run: its input is the step's input context (a context runs to kilobytes;
    # it is stored once).
    input_payload: dict[str, Any] | None
    output_payload: dict[str, Any] | None
    pipeline_run_id: uuid.UUID | None
    step_result_id: uuid.UUID | None
    submission_id: uuid.UUID | None
    cost_credits: Decimal
    duration_ms: int | None
    attempts: list[OperationAttemptRow]


class OperationAttemptRow(TypedDict):
    """A provider attempt as its operation run stores it (``operation_runs.attempts``), which the view
    ``operation_attempts`` lists with its run's id, org and creation time."""

    id: uuid.UUID
    sequence: int
    provider: str
    action: str
    status: str
    skip_reason: str | None
    http_status: int | None
    provider_status: str | None
    duration_ms: int | None
    raw_response: Any
    http_attempts: int
    cached: bool
    sandbox: bool
    cost_credits: Decimal
    saved_credits: Decimal
    call_ids: list[uuid.UUID]
    call_costs: list[Decimal]


def operation_run_row(
    result: OperationResult,
    *,
    auth: AuthContext,
    input_payload: dict[str, Any] | None,
    pipeline_run_id: uuid.UUID | None = None,
    step_result_id: uuid.UUID | None = None,
    submission_id: uuid.UUID | None = None,
) -> OperationRunRow:
    return {
        "run_id": result.run_id,
        "org_id": auth.org_id,
        "company_id": auth.company_id,
        "user_id": auth.user_id,
        "role": auth.role,
        "auth_method": auth.auth_method,
        "operation_id": result.operation_id,
        "entity_type": result.entity_type,
        "status": result.status,
        "missing_inputs": result.missing_inputs,
        "input_payload": input_payload,
        "output_payload": result.output,
        "pipeline_run_id": pipeline_run_id,
        "step_result_id": step_result_id,
        "submission_id": submission_id,
        "cost_credits": result.cost_credits,
        "duration_ms": result.duration_ms,
        "attempts": attempt_rows(result),
    }


def attempt_rows(result: OperationResult, first_sequence: int = 0) -> list[OperationAttemptRow]:
    return [
        {
            "id": uuid.uuid4(),
            "sequence": first_sequence + index,
            "provider": attempt.provider,
            "action": result.action_name(attempt),
            "status": attempt.status,
            "skip_reason": attempt.skip_reason,
            "http_status": attempt.http_status,
            "provider_status": attempt.provider_status,
            "duration_ms": attempt.duration_ms,
            "raw_response": attempt.raw_response,
            "http_attempts": attempt.http_attempts,
            "cached": attempt.cached,
            "sandbox": attempt.sandbox,
            "cost_credits": attempt.cost_credits,
            "saved_credits": attempt.saved_credits,
            "call_ids": attempt.call_ids,
            "call_costs": attempt.call_costs,
        }
        for index, attempt in enumerate(result.attempts)
    ]


# Every column but the kept answer: a settled request's history needs its outcome, never its body (which
# is the provider's whole answer, and read back for every recorded request it would cost dex's CPU).
CALL_COLUMNS = ", ".join(c.name for c in JournaledCall.__table__.c if c.name != "response")
# The journal rows of the operation runs being recorded (``:run_ids``), as ``seen``. They stay in the
# journal — the operation run of their ``run_id`` records them — except those that reserved budget, whose
# deletion gives the reservation back (migration 0006) once the run is in (:func:`give_back_reservations`).
RECORDED_CALLS = "run_id = ANY(:run_ids)"
SEEN_CTE = f"seen AS (SELECT {CALL_COLUMNS} FROM provider_call_journal WHERE {RECORDED_CALLS})"


def gone_cte(steps: str) -> str:
    """The ``WITH`` query ``gone``: the released rows of the steps ``steps`` (an SQL array) taken out of the
    journal — kept answers of an interrupted execution that no run of the step took over, settled with
    the step now that none will (:func:`add_recorded_history`)."""
    return (
        "gone AS (DELETE FROM provider_call_journal "
        f"WHERE released AND step_result_id = ANY({steps}) RETURNING {CALL_COLUMNS})"
    )


# What a recording of finished steps reads: its runs' rows and its steps' released ones.
JOURNAL_ROWS = "(SELECT * FROM seen UNION ALL SELECT * FROM gone)"
_READ_RECORDED = text(f"WITH {SEEN_CTE} SELECT * FROM seen")
_TAKE_RELEASED = text(f"WITH {gone_cte('CAST(:step_ids AS uuid[])')} SELECT * FROM gone")


async def take_released_answers(session: AsyncSession, step_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The kept answers released for the steps ``step_ids``, which will not run again (canceled), taken out
    of the journal to be settled with them (:func:`add_recorded_history`)."""
    if not step_ids:
        return []
    return list(await session.execute(_TAKE_RELEASED, {"step_ids": list(step_ids)}))


# Whether a journal row ``j``'s execution was claimed: NULL while no operation run has its id, true when
# one has and it is a claim (:func:`claim_interrupted`; its duration unknown) — the row was sent after the
# claim, by a process taken for dead that carried on, and the claim does not record it — false when the
# execution was recorded, and the row with it. A row is unrecorded unless this is false.
_CLAIMED = "(SELECT r.duration_ms IS NULL FROM operation_runs r WHERE r.run_id = j.run_id)"
_UNRECORDED_OF_OWNERS = text(
    f"SELECT {CALL_COLUMNS}, response IS NOT NULL AS kept, {_CLAIMED} AS claimed "
    "FROM provider_call_journal j WHERE j.owner = ANY(:owners) AND NOT j.released "
    f"AND {_CLAIMED} IS NOT false"
)
_SETTLE_OWNERS = text(
    "INSERT INTO provider_call_settled_owners (owner) SELECT unnest(CAST(:owners AS text[])) "
    "ON CONFLICT DO NOTHING"
)
# Rows as a claim read them (``:call_ids`` with their ``:run_ids``): a row released or taken over since
# has another execution's id, and is not this claim's any more.
_AS_READ = (
    "unnest(CAST(:call_ids AS uuid[]), CAST(:run_ids AS uuid[])) AS v(call_id, run_id) "
    "WHERE j.call_id = v.call_id AND j.run_id = v.run_id"
)
_TAKE_OUT = text(f"DELETE FROM provider_call_journal j USING {_AS_READ} RETURNING j.call_id")
# A dead process's kept answers to a pipeline step's paid requests wait for the step's next run, which
# takes them over instead of paying again (dex.providers.journal); those no run took are settled when the
# step is done for good (:func:`gone_cte`) or canceled. Each becomes an execution of its own until then.
_RELEASE = text(
    f"UPDATE provider_call_journal j SET released = true, run_id = gen_random_uuid() FROM {_AS_READ}"
)


async def record_operation_runs(session: AsyncSession, runs: list[OperationRunRow]) -> None:
    """Insert operation runs with their attempts (a pipeline's recording reads their journal rows with its
    finished steps: ``dex.pipeline.states``)."""
    writes = Writes()
    seen = list(await session.execute(_READ_RECORDED, journal_params(runs))) if runs else []
    await add_recorded_history(writes, session, runs, seen)
    await writes.execute(session)
    await give_back_reservations(session, seen)


def journaled(runs: Sequence[OperationRunRow]) -> list[tuple[OperationRunRow, OperationAttemptRow]]:
    """The runs' attempts that made journaled requests."""
    return [(run, attempt) for run in runs for attempt in run["attempts"] if attempt["call_ids"]]


def journal_params(runs: Sequence[OperationRunRow]) -> dict[str, list[uuid.UUID]]:
    """The parameters of :data:`RECORDED_CALLS`: every run's, journaled attempts or not — a request whose
    attempt lost its id (the adapter failed after journaling it) is still the run's."""
    return {"run_ids": [run["run_id"] for run in runs]}


async def add_recorded_history(
    writes: Writes, session: AsyncSession, runs: list[OperationRunRow], seen: Sequence[Any]
) -> None:
    """Write operation runs ``runs`` with the caller's statement (:func:`add_history`), given the journal
    rows their transaction read or took (``CALL_COLUMNS``). A row no recorded attempt names is settled
    with them: a request of a run it lost track of (its adapter failed after journaling it) as an attempt
    of that run, a released answer no run took over as an interrupted run of its own. Each run goes in
    under its execution's id, once: if recovery claimed the execution meanwhile (its process was taken for
    dead but carried on) the claim stands, and the rows it did not take are a later claim's."""
    referenced = {call_id for _, attempt in journaled(runs) for call_id in attempt["call_ids"]}
    orphans = [call for call in {row.call_id: row for row in seen}.values() if call.call_id not in referenced]
    answered = await answers_in_cache(session, orphans)
    lost: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for call in orphans:
        lost[call.run_id].append(call)
    runs = [_with_lost_requests(run, lost.pop(run["run_id"], []), answered) for run in runs]
    released = [call for calls in lost.values() for call in calls]
    add_history(writes, [*runs, *interrupted_history(released, answered, own_ids=set(lost))])


def _with_lost_requests(
    run: OperationRunRow, lost: list[Any], answered_in_cache: Mapping[uuid.UUID, int | None]
) -> OperationRunRow:
    """``run`` with its journaled requests ``lost`` as failed attempts, at what they cost."""
    if not lost:
        return run
    attempts = [_interrupted_attempt(call, answered_in_cache) for call in lost]
    result = OperationResult(
        run["run_id"], run["operation_id"], run["entity_type"], "failed", attempts=attempts
    )
    added = attempt_rows(result, first_sequence=len(run["attempts"]))
    cost = run["cost_credits"] + sum(attempt.cost_credits for attempt in attempts)
    return {**run, "attempts": [*run["attempts"], *added], "cost_credits": cost}


# The rows that reserved budget of runs recorded, not claimed: their reservations are given back.
_GIVE_BACK_RESERVATIONS = text(
    "DELETE FROM provider_call_journal j WHERE j.call_id = ANY(:call_ids) "
    "AND EXISTS (SELECT FROM operation_runs r WHERE r.run_id = j.run_id AND r.duration_ms IS NOT NULL)"
)


async def give_back_reservations(session: AsyncSession, seen: Sequence[Any]) -> None:
    """Once the runs of the journal rows ``seen`` are in (:func:`add_recorded_history`), the rows that
    reserved budget leave the journal, which gives their reservations back (migration 0006) — those of
    the runs recorded: a run recovery claimed first is recovery's to settle."""
    reserved = [row.call_id for row in seen if row.reserved_credits > 0 and not row.released]
    if reserved:
        await session.execute(_GIVE_BACK_RESERVATIONS, {"call_ids": reserved})


async def org_has_budget(session: AsyncSession, org_id: uuid.UUID) -> bool:
    """Whether the org has a budget, so its provider requests reserve their prices first."""
    found = await session.scalar(
        text("SELECT budget_credits IS NOT NULL FROM orgs WHERE id = :org_id"), {"org_id": org_id}
    )
    return bool(found)


# The journal rows no operation run records (or, released, awaiting the next run of their step): after a
# batch, and recovery from whatever killed its processes, there are none.
UNSETTLED_CALLS = (
    "SELECT count(*) FROM provider_call_journal "
    "WHERE released OR call_id NOT IN (SELECT unnest(a.call_ids) FROM operation_attempts a)"
)


# The owners of journal rows, found by walking the owner index from one owner to the next (a few
# processes own millions of rows), and whether recovery has settled each.
_JOURNAL_OWNERS = text(
    """
    WITH RECURSIVE owners(owner) AS (
        (SELECT owner FROM provider_call_journal ORDER BY owner LIMIT 1)
        UNION ALL
        SELECT (SELECT j.owner FROM provider_call_journal j WHERE j.owner > o.owner ORDER BY j.owner LIMIT 1)
        FROM owners o WHERE o.owner IS NOT NULL
    )
    SELECT owner, EXISTS (SELECT FROM provider_call_settled_owners s WHERE s.owner = o.owner) AS settled
    FROM owners o WHERE owner IS NOT NULL
    """
)


async def journal_owners(session: AsyncSession, *, settled: bool = False) -> list[str]:
    """The owners of journal rows recovery has not settled — with ``settled``, every owner."""
    rows = await session.execute(_JOURNAL_OWNERS)
    return [row.owner for row in rows if settled or not row.settled]


async def settle_orphaned_calls(session: AsyncSession, *, dead_owners: Sequence[str]) -> int:
    """Record the journaled requests of processes that are gone that nobody recorded, as attempts of their
    interrupted operation runs, and return how many there were. The kept answers of a dead process's
    pipeline steps are released for the steps' next runs instead."""
    if not dead_owners:
        return 0
    calls = list(await session.execute(_UNRECORDED_OF_OWNERS, {"owners": list(dead_owners)}))
    # Only a pipeline step runs again, and only a paid answer kept on its row can be taken over.
    released = {call.call_id for call in calls if call.kept and call.answered and call.step_result_id}
    settled = await claim_interrupted(session, calls, released=released)
    await session.execute(_SETTLE_OWNERS, {"owners": list(dead_owners)})
    return settled


async def claim_interrupted(session: AsyncSession, calls: Sequence[Any], *, released: set[uuid.UUID]) -> int:
    """Record unrecorded journal rows ``calls`` (with ``claimed``: :data:`_CLAIMED`) as the interrupted
    operation runs of their executions, but release the rows ``released`` for their steps' next runs.
    Returns how many rows were recorded.

    An execution nobody recorded or claimed yet is claimed under its own id, with every row read (an
    execution of released rows only by a run without attempts), and only then do its rows leave the
    journal: whichever of this claim, another claim and the execution's own late recording inserts that
    run first settles what it read, and the others settle nothing of it. Rows of an execution claimed
    before — sent after that claim, by a process taken for dead that carried on — are recorded under a
    new id by whichever claim takes them out of the journal."""
    if not calls:
        return 0
    unclaimed = [call for call in calls if call.claimed is None]
    first = interrupted_history(
        unclaimed,
        await answers_in_cache(session, [call for call in unclaimed if call.call_id not in released]),
        own_ids={call.run_id for call in unclaimed},
        released=released,
    )
    won = set(await session.scalars(INSERT_RUNS_RETURNING, {"rows": dumps(first)})) if first else set()
    lost = {run["run_id"] for run in first} - won
    claimed_by_others = set(await session.scalars(_CLAIMS, {"run_ids": list(lost)})) if lost else set()
    await _settle(session, [call for call in unclaimed if call.run_id in won], released)
    later = [call for call in calls if call.claimed or call.run_id in claimed_by_others]
    taken = await _settle(session, later, released) if later else []
    if taken:
        rest = interrupted_history(taken, await answers_in_cache(session, taken))
        await session.execute(INSERT_RUNS, {"rows": dumps(rest)})
    return sum(len(run["attempts"]) for run in first if run["run_id"] in won) + len(taken)


_CLAIMS = text("SELECT run_id FROM operation_runs WHERE run_id = ANY(:run_ids) AND duration_ms IS NULL")


async def _settle(session: AsyncSession, calls: Sequence[Any], released: set[uuid.UUID]) -> list[Any]:
    """Release the rows ``released`` among ``calls`` and take the others out of the journal; returns those
    this transaction took (rows another claim takes first are its to record)."""
    freed = [call for call in calls if call.call_id in released]
    if freed:
        await session.execute(_RELEASE, _as_read(freed))
    leaving = [call for call in calls if call.call_id not in released]
    taken = set(await session.scalars(_TAKE_OUT, _as_read(leaving))) if leaving else set()
    return [call for call in calls if call.call_id in taken]


def _as_read(calls: Sequence[Any]) -> dict[str, list[uuid.UUID]]:
    return {"call_ids": [call.call_id for call in calls], "run_ids": [call.run_id for call in calls]}


# The unsettled rows of a partition about to be emptied: released answers nobody took over, and rows of
# executions nobody recorded (interrupted ones of live processes: a lost API request). Found without a lock
# (a scan of an hour's rows), then read again by key under the lock, which is held for no more than that.
_UNSETTLED_IN = (
    "SELECT {columns} FROM {partition} j WHERE ({among}) AND (j.released OR " + _CLAIMED + " IS NOT false)"
)
# Their executions' rows in the other partitions (an execution that ran across an hour's end).
_REST_OF_EXECUTIONS = text(
    f"SELECT {CALL_COLUMNS}, {_CLAIMED} AS claimed FROM provider_call_journal j "
    "WHERE run_id = ANY(:run_ids) AND slot <> :slot AND NOT released"
)
# The partition written two hours ago (every row in it is older than an hour), and whether this process
# empties it: one does, the others, finding it taken, leave it.
_OLD_SLOT = text(
    f"SELECT {OLD_JOURNAL_SLOT} AS slot, "
    "pg_try_advisory_xact_lock(hashtext('dex.empty_old_journal_slot')) AS mine"
)
# A kept answer whose step is not done keeps waiting for the step's next run — parked for budget or behind
# a long queue, it may wait longer than the journal keeps an hour's rows — in this hour's partition (moved
# rows are not deleted: their reservations stay). Steps are read by name: the pipeline sits above the
# journal.
_CARRY_OVER = text(
    f"UPDATE provider_call_journal j SET slot = {JOURNAL_SLOT_OF_NOW} WHERE j.slot = :slot AND j.released "
    "AND EXISTS (SELECT FROM step_results s WHERE s.id = j.step_result_id "
    "AND s.status NOT IN ('succeeded', 'failed', 'skipped'))"
)
# Whether the partition ``:slot`` is, by the clock now, still the one written two hours ago: the hour may
# have turned since the transaction began (``now()``, which chose the partition).
_STILL_OLD = text(
    f"SELECT (CAST(floor(extract(epoch FROM clock_timestamp()) / {JOURNAL_SLOT_SECONDS}) AS bigint) + 1) "
    f"% {JOURNAL_SLOTS} = :slot"
)
# How long the emptying waits for the partition's lock; writes to the journal queue behind the wait.
EMPTYING_LOCK_TIMEOUT_MS = 200


async def empty_old_journal_slot(session: AsyncSession) -> int:
    """Settle what is unsettled in the journal's partition written two hours ago — every row in it is
    older than an hour, and no step runs for an hour, so a row nobody recorded is an interrupted request —
    and empty it at once (``TRUNCATE``: its rows are not deleted one by one) before its hour comes round
    again. Returns how many rows were settled; fails with PostgreSQL's ``lock_not_available`` when the
    partition stays in use, to be tried again later."""
    slot, mine = (await session.execute(_OLD_SLOT)).one()
    if not mine:
        return 0
    partition = journal_partition(slot)
    if not await session.scalar(text(f"SELECT EXISTS (SELECT FROM {partition})")):
        return 0
    found = await session.scalars(
        text(_UNSETTLED_IN.format(columns="call_id", partition=partition, among="true"))
    )
    candidates = list(found)
    await session.execute(text(f"SET LOCAL lock_timeout = '{EMPTYING_LOCK_TIMEOUT_MS}ms'"))
    await session.execute(text(f"LOCK TABLE {partition} IN ACCESS EXCLUSIVE MODE"))
    if not await session.scalar(_STILL_OLD, {"slot": slot}):
        # Begun in an hour's last moments: the partition is a newer hour's now, its rows not all old.
        return 0
    await session.execute(_CARRY_OVER, {"slot": slot})
    calls = []
    if candidates:
        unsettled = _UNSETTLED_IN.format(
            columns=f"{CALL_COLUMNS}, {_CLAIMED} AS claimed",
            partition=partition,
            among="j.call_id = ANY(:call_ids)",
        )
        calls = list(await session.execute(text(unsettled), {"call_ids": candidates}))
    interrupted = {call.run_id for call in calls if not call.released}
    if interrupted:
        rest = await session.execute(_REST_OF_EXECUTIONS, {"run_ids": list(interrupted), "slot": slot})
        calls += list(rest)
    settled = await claim_interrupted(session, calls, released=set())
    await session.execute(text(f"TRUNCATE {partition}"))
    await session.execute(_FORGET_SETTLED_OWNERS)
    return settled


# A settled owner's rows are all gone once every partition has been emptied since.
_FORGET_SETTLED_OWNERS = text(
    "DELETE FROM provider_call_settled_owners "
    f"WHERE settled_at < now() - make_interval(secs => {JOURNAL_SLOTS * JOURNAL_SLOT_SECONDS})"
)


# The journal rows without a note that a cache entry names: answered, their answer held by the entry
# (``dex.providers.groupcommit``). Only recovery asks, for a few rows; the org's entries are scanned by key.
_ANSWERED_IN_CACHE = text(
    "SELECT a.call_id, c.http_status FROM enrichment_cache c "
    "CROSS JOIN LATERAL unnest(c.answers_of) a(call_id) "
    "WHERE c.org_id = ANY(:org_ids) AND c.answers_of && CAST(:call_ids AS uuid[]) "
    "AND a.call_id = ANY(CAST(:call_ids AS uuid[]))"
)


async def answers_in_cache(session: AsyncSession, calls: Sequence[Any]) -> dict[uuid.UUID, int | None]:
    """Of journal rows ``calls``, those not noted as answered whose answer a cache entry holds, with the
    HTTP status of the entry."""
    unnoted = [call for call in calls if not call.answered]
    if not unnoted:
        return {}
    rows = await session.execute(
        _ANSWERED_IN_CACHE,
        {
            "org_ids": list({call.org_id for call in unnoted}),
            "call_ids": [call.call_id for call in unnoted],
        },
    )
    return {row.call_id: row.http_status for row in rows}


def interrupted_history(
    calls: Iterable[Any],
    answered_in_cache: Mapping[uuid.UUID, int | None],
    *,
    own_ids: Collection[uuid.UUID] = (),
    released: Collection[uuid.UUID] = (),
) -> list[OperationRunRow]:
    """Operation runs for journaled requests whose outcome was never recorded: one failed run per
    interrupted execution, an attempt per request (but those ``released`` for the step's next run). A
    request whose answer arrived (noted on its row, or held by a cache entry: ``answered_in_cache``) costs
    what it cost; one without an answer costs its price — the provider may have billed it, and dex never
    under-counts spend. The runs of executions ``own_ids`` take the execution's id
    (:func:`claim_interrupted`), the others a new one."""
    by_execution: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for call in calls:
        by_execution[call.run_id].append(call)
    return [
        _interrupted_run(
            execution[0],
            [
                _interrupted_attempt(call, answered_in_cache)
                for call in execution
                if call.call_id not in released
            ],
            run_id=run_id if run_id in own_ids else uuid.uuid4(),
        )
        for run_id, execution in by_execution.items()
    ]


def _interrupted_run(first: Any, attempts: list[Attempt], *, run_id: uuid.UUID) -> OperationRunRow:
    result = OperationResult(
        run_id=run_id,
        operation_id=first.operation_id,
        entity_type=first.entity_type,
        status="failed",
        attempts=attempts,
        sandbox=first.sandbox,
    )
    auth = AuthContext(first.org_id, first.user_id, first.company_id, first.role, first.auth_method)
    return {
        **operation_run_row(
            result,
            auth=auth,
            input_payload={},
            pipeline_run_id=first.pipeline_run_id,
            step_result_id=first.step_result_id,
            submission_id=first.submission_id,
        ),
        # Unknown; it is also what tells a claim from a recorded run (:data:`_CLAIMED`).
        "duration_ms": None,
    }


def _interrupted_attempt(call: Any, answered_in_cache: Mapping[uuid.UUID, int | None]) -> Attempt:
    # An answer the cache holds was paid for: it cost the request's price (``ProviderCall.request``).
    answered = call.answered or call.call_id in answered_in_cache
    cost = call.cost_credits if call.answered else call.price_credits
    return Attempt(
        provider=call.provider,
        action=call.action,
        status="failed",
        http_status=call.http_status if call.answered else answered_in_cache.get(call.call_id),
        provider_status="answer_not_recorded" if answered else "outcome_unknown",
        http_attempts=1,
        sandbox=call.sandbox,
        cost_credits=cost,
        call_ids=[call.call_id],
        call_costs=[cost],
    )


RUN_COLUMNS = tuple(OperationRunRow.__annotations__)
# A run already recorded is not recorded again: recovery may have claimed an execution by its id
# (:func:`claim_interrupted`) before the process it thought dead recorded it.
INSERT_RUNS = text(insert_recordset(OperationRun.__table__, RUN_COLUMNS) + " ON CONFLICT (run_id) DO NOTHING")
INSERT_RUNS_RETURNING = text(f"{INSERT_RUNS.text} RETURNING run_id")


def add_history(writes: Writes, runs: Sequence[OperationRunRow]) -> None:
    """Operation runs with their attempts, as a write of the caller's statement."""
    writes.add(INSERT_RUNS, runs)


_STEP_ATTEMPTS = text(
    "SELECT r.step_result_id, a.* FROM operation_runs r JOIN operation_attempts a ON a.run_id = r.run_id "
    "WHERE r.org_id = :org_id AND r.step_result_id = ANY(:step_ids) ORDER BY a.created_at, a.sequence"
)


async def step_attempts(
    session: AsyncSession, org_id: uuid.UUID, step_result_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RowMapping]]:
    """The provider attempts behind each pipeline step, in the order they were made (the console's step
    view: provider, outcome, HTTP status, cost, cached, duration)."""
    if not step_result_ids:
        return {}
    rows = await session.execute(_STEP_ATTEMPTS, {"org_id": org_id, "step_ids": list(step_result_ids)})
    attempts: dict[uuid.UUID, list[RowMapping]] = defaultdict(list)
    for row in rows.mappings():
        attempts[row["step_result_id"]].append(row)
    return attempts


async def run_operation_costs(
    session: AsyncSession, org_id: uuid.UUID, run_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], Decimal]:
    """Credits each (pipeline run, operation) cost: what a field's provenance points at."""
    if not run_ids:
        return {}
    rows = await session.execute(
        select(OperationRun.pipeline_run_id, OperationRun.operation_id, func.sum(OperationRun.cost_credits))
        .where(OperationRun.org_id == org_id, OperationRun.pipeline_run_id.in_(run_ids))
        .group_by(OperationRun.pipeline_run_id, OperationRun.operation_id)
    )
    return {(run_id, operation_id): cost for run_id, operation_id, cost in rows.all() if run_id is not None}


# A provider's answer is stored once, with its attempt in its run (read through the view,
# ``operation_attempts.raw_response``), and an operation's output once, with its run
# (``operation_runs.output_payload``). A document that lists the attempts of an operation run dex recorded
# (a timeline event, a step's operation result) names the run under ANSWERS_OF instead of copying the
# answers, and under OUTPUT_OF instead of copying the output; :func:`with_answers` puts them back.
ANSWERS_OF = "provider_answers_of"
OUTPUT_OF = "operation_output_of"


def attempts_without_answers(operation_result: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """An operation result's attempts without their answers, and the key that names where they are."""
    attempts = [
        {key: value for key, value in attempt.items() if key != "raw_response"}
        for attempt in operation_result.get("provider_attempts", [])
    ]
    return attempts, {ANSWERS_OF: operation_result["run_id"]}


def result_by_reference(operation_result: dict[str, Any]) -> dict[str, Any]:
    """An operation result (``OperationResult.to_dict``) whose run is recorded with it, without what the
    run's rows hold: the providers' answers and the output."""
    attempts, reference = attempts_without_answers(operation_result)
    stored = {key: value for key, value in operation_result.items() if key != "output"}
    return {**stored, "provider_attempts": attempts, **reference, OUTPUT_OF: operation_result["run_id"]}


_ANSWERS = text(
    "SELECT run_id, sequence, raw_response FROM operation_attempts "
    "WHERE org_id = :org_id AND run_id = ANY(:run_ids) AND raw_response IS NOT NULL"
)
_OUTPUTS = text(
    "SELECT run_id, output_payload FROM operation_runs "
    "WHERE org_id = :org_id AND run_id = ANY(:run_ids) AND output_payload IS NOT NULL"
)


async def with_answers(
    session: AsyncSession, org_id: uuid.UUID, documents: Sequence[dict[str, Any] | None]
) -> list[dict[str, Any] | None]:
    """``documents`` as they read before their answers and outputs left them: each one that names an
    operation run (:data:`ANSWERS_OF`, :data:`OUTPUT_OF`) comes back as a copy with them in place, the
    others as they are."""

    def named(key: str) -> list[uuid.UUID]:
        return list({uuid.UUID(doc[key]) for doc in documents if doc and key in doc})

    answered, output_runs = named(ANSWERS_OF), named(OUTPUT_OF)
    if not answered and not output_runs:
        return list(documents)
    answers, outputs = {}, {}
    if answered:
        rows = await session.execute(_ANSWERS, {"org_id": org_id, "run_ids": answered})
        answers = {(str(row.run_id), row.sequence): row.raw_response for row in rows}
    if output_runs:
        rows = await session.execute(_OUTPUTS, {"org_id": org_id, "run_ids": output_runs})
        outputs = {str(row.run_id): row.output_payload for row in rows}
    restored: list[dict[str, Any] | None] = []
    for doc in documents:
        if not doc or (ANSWERS_OF not in doc and OUTPUT_OF not in doc):
            restored.append(doc)
            continue
        copy = dict(doc)
        if (run_id := copy.pop(OUTPUT_OF, None)) in outputs:
            copy["output"] = outputs[run_id]
        if (run_id := copy.pop(ANSWERS_OF, None)) is not None:
            copy["provider_attempts"] = [
                {**attempt, "raw_response": answers[(run_id, sequence)]}
                if (run_id, sequence) in answers
                else attempt
                for sequence, attempt in enumerate(copy.get("provider_attempts") or [])
            ]
        restored.append(copy)
    return restored
