"""The write-ahead journal of provider requests: journaled before sending, settled exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.operations.engine import OperationResult, execute_operation
from dex.operations.registry import get_operation
from dex.operations.repository import (
    UNSETTLED_CALLS,
    operation_run_row,
    record_operation_runs,
    settle_orphaned_calls,
)
from dex.pipeline.executor import requeue_abandoned
from dex.providers.base import Attempt, ProviderContext
from dex.providers.cache import EnrichmentCache
from dex.providers.groupcommit import ProviderGroupCommit
from dex.providers.journal import CallJournal, CallOrigin, Requester
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.context import AuthContext
from tests.conftest import SandboxHandle, Tenant, scalar
from tests.operations.test_execute import execute
from tests.operations.test_person_contact import MAYA_BY_NAME


def store_entry(
    cache: EnrichmentCache,
    tenant: Tenant,
    provider: str,
    action: str,
    key: str,
    cost: str,
    *,
    entry: dict[str, Any] | None = None,
    answers_of: Sequence[uuid.UUID] = (),
) -> Awaitable[None]:
    """What an adapter stores once it mapped a paid answer: a day's cache entry of ``tenant``'s org."""
    return cache.put(
        tenant.org_id,
        provider,
        action,
        key,
        entry or {"status": "found", "http_status": 200},
        cost=Decimal(cost),
        sandbox=True,
        ttl=timedelta(days=1),
        answers_of=answers_of,
    )


def origin_for(tenant: Tenant, step_result_id: uuid.UUID | None = None) -> CallOrigin:
    return CallOrigin(
        org_id=tenant.org_id,
        run_id=uuid.uuid4(),
        operation_id="person.contact.verify_email",
        entity_type="person",
        requester=Requester(role="org_admin", auth_method="api_token", step_result_id=step_result_id),
    )


async def test_every_request_carries_its_journal_id_and_no_row_is_left_unsettled(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("millionverifier", ["503"])  # a retried request keeps its id
    response = await execute(client, tenant, "person.contact.verify_email", "person", {"email": "a@b.io"})
    assert response.status_code == 200, response.text
    async with database.transaction() as session:
        call_ids = (await session.execute(text("SELECT call_ids FROM operation_attempts"))).scalars().all()
    ledger_ids = [entry.request_id for entry in sandbox.state.ledger]
    assert len(ledger_ids) == 2 and len(set(ledger_ids)) == 1
    assert [[str(call_id) for call_id in ids] for ids in call_ids] == [ledger_ids[:1]]
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def resolve_maya(providers: ProviderContext, settings: Settings) -> OperationResult:
    """Maya's work email: a finder's request, then a verifier's (two paid requests)."""
    spec = get_operation("person.contact.resolve_email")
    assert spec is not None
    return await execute_operation(spec, MAYA_BY_NAME, providers=providers, settings=settings)


async def test_an_operations_answers_are_kept_before_its_result_is_returned(
    tenant: Tenant,
    database: Database,
    sandbox: SandboxHandle,
    providers: ProviderRuntime,
    sandbox_settings: Settings,
) -> None:
    """An adapter call returns once its answer is mapped (its note and cache entry join the next call's
    journal row); the operation waits for them all before its result goes anywhere."""
    requester = Requester(role="org_admin", auth_method="pipeline", step_result_id=uuid.uuid4())
    result = await resolve_maya(providers.context(tenant.org_id, requester=requester), sandbox_settings)
    paid = [call_id for attempt in result.attempts for call_id in attempt.call_ids]
    assert result.status == "found" and len(paid) >= 2
    unkept = (
        "SELECT count(*) FROM provider_call_journal j WHERE NOT j.answered AND NOT EXISTS "
        "(SELECT 1 FROM enrichment_cache e WHERE j.call_id = ANY(e.answers_of))"
    )
    assert await scalar(database, unkept) == 0
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal") == len(paid)


async def test_a_call_made_without_a_journal_finds_the_cache_before_its_first_request(
    tenant: Tenant, sandbox: SandboxHandle, providers: ProviderRuntime, sandbox_settings: Settings
) -> None:
    """No requester, no journal: the call's lookup is a plain one, made when its first request would be
    sent."""
    first, second = [await resolve_maya(providers.context(tenant.org_id), sandbox_settings) for _ in range(2)]
    assert first.status == second.status == "found" and first.output == second.output
    assert not any(attempt.cached for attempt in first.attempts)
    assert all(attempt.cached and not attempt.call_ids for attempt in second.attempts)
    assert len(sandbox.state.ledger) == len(first.attempts)


async def test_requests_of_a_dead_process_are_recorded_as_interrupted_spend(
    tenant: Tenant, database: Database
) -> None:
    answers = ProviderGroupCommit(database)
    dead = CallJournal(database, answers, owner="localhost-that-died:999999999:abc")
    answered, unanswered, held = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    origin = origin_for(tenant)
    await dead.before_send(origin, answered, "millionverifier", "verify", price=Decimal("1"), sandbox=True)
    await dead.before_send(origin, unanswered, "leadmagic", "find", price=Decimal("2"), sandbox=True)
    await dead.answered(answered, 200, Decimal("1"), {"result": "ok"})
    await dead.before_send(
        origin_for(tenant), uuid.uuid4(), "icypeas", "find", price=Decimal("0"), sandbox=True
    )
    # Answered, and the answer's cache entry written with its note: the entry stands for the note.
    await dead.before_send(origin, held, "prospeo", "enrich", price=Decimal("4"), sandbox=True)
    note = dead.note_answer(held, 201, Decimal("4"), {"person": {}})
    stored = store_entry(
        EnrichmentCache(database, answers),
        tenant,
        "prospeo",
        "enrich",
        "key",
        "4",
        entry={"status": "found", "http_status": 201},
        answers_of=[held],
    )
    await asyncio.gather(CallJournal.kept([note] if note else []), stored)
    assert not await scalar(database, f"SELECT answered FROM provider_call_journal WHERE call_id = '{held}'")

    # Only processes of this host can be known dead; the owner's host is not this one.
    async with database.transaction() as session:
        assert await requeue_abandoned(session) == 0
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal") == 4

    async with database.transaction() as session:
        settled = await settle_orphaned_calls(session, dead_owners=[dead.owner])
    assert settled == 4
    async with database.transaction() as session:
        runs = (await session.execute(text("SELECT * FROM operation_runs ORDER BY cost_credits"))).all()
        attempts = (
            await session.execute(
                text(
                    "SELECT provider, status, provider_status, http_status, cost_credits "
                    "FROM operation_attempts"
                )
            )
        ).all()
        spent = (await session.execute(text("SELECT spent_credits FROM org_spend"))).scalar_one()
    assert [(run.status, run.cost_credits) for run in runs] == [("failed", 0), ("failed", 7)]
    assert sorted(attempts) == [
        ("icypeas", "failed", "outcome_unknown", None, 0),
        ("leadmagic", "failed", "outcome_unknown", None, 2),
        ("millionverifier", "failed", "answer_not_recorded", 200, 1),
        ("prospeo", "failed", "answer_not_recorded", 201, 4),
    ]
    assert spent == 7
    assert await scalar(database, UNSETTLED_CALLS) == 0


async def test_a_late_record_does_not_count_requests_recovery_already_settled(
    tenant: Tenant, database: Database
) -> None:
    """A process cut off from the database long enough for recovery to settle its requests must not
    record them a second time when it comes back."""
    journal = CallJournal(database)
    origin, call_id = origin_for(tenant), uuid.uuid4()
    await journal.before_send(origin, call_id, "millionverifier", "verify", price=Decimal("1"), sandbox=True)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[journal.owner]) == 1
    attempt = Attempt("millionverifier", "verify", "verified", cost_credits=Decimal("1"), call_ids=[call_id])
    result = OperationResult(origin.run_id, origin.operation_id, "person", "verified", attempts=[attempt])
    auth = AuthContext(tenant.org_id, None, None, "org_admin", "api_token")
    async with database.transaction() as session:
        await record_operation_runs(
            session,
            [operation_run_row(result, auth=auth, input_payload={})],
        )
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1
    assert await scalar(database, "SELECT sum(cost_credits) FROM operation_runs") == 1
    assert await scalar(database, "SELECT count(*) FROM operation_attempts") == 1


async def test_no_request_is_sent_when_the_journal_cannot_be_written(
    tenant: Tenant, sandbox: SandboxHandle, providers: ProviderRuntime, sandbox_settings: Settings
) -> None:
    unreachable = Database("postgresql+asyncpg://dex@127.0.0.1:9/none", pool_size=1)
    providers.journal = CallJournal(unreachable)
    spec = get_operation("person.contact.verify_email")
    assert spec is not None
    try:
        result = await execute_operation(
            spec,
            {"email": "e@f.io"},
            providers=providers.context(
                tenant.org_id, requester=Requester(role="org_admin", auth_method="api_token")
            ),
            settings=sandbox_settings,
        )
    finally:
        await unreachable.dispose()
    assert result.status == "failed"
    assert {attempt.error for attempt in result.attempts if attempt.status != "skipped"} == {
        "journal_unavailable"
    }
    # Never sent: no HTTP try was made (the shared sandbox's ledger may still receive a hang a previous
    # test left behind, so the attempts themselves are the evidence).
    tried = [attempt for attempt in result.attempts if attempt.status != "skipped"]
    assert tried and all(attempt.http_attempts == 0 and not attempt.call_ids for attempt in tried)


async def verify_for_step(
    providers: ProviderRuntime,
    journal: CallJournal,
    tenant: Tenant,
    step_result_id: uuid.UUID,
    settings: Settings,
) -> OperationResult:
    """One execution of a pipeline step's email verification, journaled by ``journal``, cache off (so
    only the journal can spare a request)."""
    providers.journal = journal
    spec = get_operation("person.contact.verify_email")
    assert spec is not None
    requester = Requester(role="org_admin", auth_method="pipeline", step_result_id=step_result_id)
    return await execute_operation(
        spec,
        {"email": "kept@answer.io"},
        providers=providers.context(tenant.org_id, use_cache=False, requester=requester),
        settings=settings,
    )


async def kept_by_a_dead_process(
    providers: ProviderRuntime, database: Database, tenant: Tenant, step: uuid.UUID, settings: Settings
) -> OperationResult:
    """The step's verification by a process that dies before recording it; recovery keeps its answers."""
    dead = CallJournal(database, owner="localhost-that-died:999999999:abc")
    result = await verify_for_step(providers, dead, tenant, step, settings)
    async with database.transaction() as session:
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 0
    return result


async def test_an_answer_a_dead_process_kept_is_taken_over_by_the_steps_next_run_not_paid_again(
    tenant: Tenant,
    database: Database,
    sandbox: SandboxHandle,
    providers: ProviderRuntime,
    sandbox_settings: Settings,
) -> None:
    step_result_id = uuid.uuid4()
    # The process dies before recording the step: recovery keeps the answer for the step's next run.
    first = await kept_by_a_dead_process(providers, database, tenant, step_result_id, sandbox_settings)
    [paid] = [attempt for attempt in first.attempts if attempt.call_ids]
    assert [entry.request_id for entry in sandbox.state.ledger if entry.billable] == [str(paid.call_ids[0])]
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal WHERE released") == 1

    again = await verify_for_step(providers, CallJournal(database), tenant, step_result_id, sandbox_settings)
    # Not sent: the kept answer was used, with the same outcome and the one request it came from.
    assert len([entry for entry in sandbox.state.ledger if entry.billable]) == 1
    assert (again.status, again.output) == (first.status, first.output)
    [reused] = [attempt for attempt in again.attempts if attempt.call_ids]
    assert (reused.call_ids, reused.cost_credits) == (paid.call_ids, paid.cost_credits)
    assert paid.cost_credits > 0

    auth = AuthContext(tenant.org_id, None, None, "org_admin", "pipeline")
    async with database.transaction() as session:
        await record_operation_runs(
            session,
            [operation_run_row(again, auth=auth, input_payload={})],
        )
    # Recorded once, at what it cost.
    assert await scalar(database, UNSETTLED_CALLS) == 0
    assert (
        await scalar(database, "SELECT count(*) FROM operation_attempts WHERE cardinality(call_ids) > 0") == 1
    )
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == paid.cost_credits


async def test_a_kept_answer_is_taken_over_by_its_own_step_only(
    tenant: Tenant,
    database: Database,
    sandbox: SandboxHandle,
    providers: ProviderRuntime,
    sandbox_settings: Settings,
) -> None:
    asker, namesake = uuid.uuid4(), uuid.uuid4()
    await kept_by_a_dead_process(providers, database, tenant, asker, sandbox_settings)
    billed = len([entry for entry in sandbox.state.ledger if entry.billable])

    # Another step asking the same question pays for its own answer and leaves the asker's kept one.
    await verify_for_step(providers, CallJournal(database), tenant, namesake, sandbox_settings)
    assert len([entry for entry in sandbox.state.ledger if entry.billable]) == billed + 1
    assert await scalar(database, "SELECT count(*) FROM provider_call_journal WHERE released") == 1
    await verify_for_step(providers, CallJournal(database), tenant, asker, sandbox_settings)
    assert len([entry for entry in sandbox.state.ledger if entry.billable]) == billed + 1


async def test_a_garbled_answer_is_taken_over_garbled_never_as_an_empty_one(
    tenant: Tenant,
    database: Database,
    sandbox: SandboxHandle,
    providers: ProviderRuntime,
    sandbox_settings: Settings,
) -> None:
    sandbox.state.script_faults("millionverifier", ["malformed"])
    step_result_id = uuid.uuid4()
    first = await kept_by_a_dead_process(providers, database, tenant, step_result_id, sandbox_settings)
    [garbled] = [attempt for attempt in first.attempts if attempt.error == "malformed_json"]
    assert garbled.cost_credits > 0  # answered with a 200: billed, so kept

    again = await verify_for_step(providers, CallJournal(database), tenant, step_result_id, sandbox_settings)
    # The step's next run reads the same garbled body: a failure worth retrying, as the first time.
    [reused] = [attempt for attempt in again.attempts if attempt.call_ids == garbled.call_ids]
    assert (reused.status, reused.error) == ("failed", "malformed_json")


async def test_only_paid_answers_of_pipeline_steps_are_kept_for_a_next_run(
    tenant: Tenant, database: Database
) -> None:
    dead = CallJournal(database, owner="localhost-that-died:999999999:abc")
    kept, free, unstepped = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    origin = origin_for(tenant, uuid.uuid4())
    await dead.before_send(
        origin, kept, "millionverifier", "verify", price=Decimal("1"), sandbox=True, request_hash="h"
    )
    await dead.before_send(origin_for(tenant), free, "icypeas", "find", price=Decimal("0"), sandbox=True)
    await dead.before_send(
        origin_for(tenant), unstepped, "reoon", "verify", price=Decimal("1"), sandbox=True, request_hash="g"
    )
    await dead.answered(kept, 200, Decimal("1"), {"result": "ok"})
    await dead.answered(free, 200, Decimal("0"), {"status": "NONE"})
    await dead.answered(unstepped, 200, Decimal("1"), {"result": "ok"})
    async with database.transaction() as session:
        # Only a pipeline step runs again by itself: an API call's requests are settled at once.
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 2
        assert await settle_orphaned_calls(session, dead_owners=[dead.owner]) == 0
    assert await scalar(database, "SELECT call_id FROM provider_call_journal WHERE released") == kept
    assert await scalar(database, "SELECT spent_credits FROM org_spend") == 1
