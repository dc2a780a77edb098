"""Applying state changes with all their consequences, in the caller's transaction.

A :class:`Progress` collects what a batch of events implies — step rows to create, runs to move, children
to spawn, entities to upsert, operation history and timeline rows to record, submission counters to bump
— and ``flush`` writes them with a handful of set-based statements. Submitting a batch, finishing claimed
steps, fan-out, cancel and resume all go through it, so their consequences are always the same and always
atomic: a crash at any instant leaves either all of a step's consequences or none of them.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import Writes
from dex.entities import timeline
from dex.entities.repository import EntityWrite, Lineage, upsert_entities
from dex.operations.registry import get_operation
from dex.operations.repository import (
    OperationRunRow,
    add_recorded_history,
    attempts_without_answers,
    give_back_reservations,
    operation_run_row,
    result_by_reference,
)
from dex.pipeline import budget_waits, live, states
from dex.pipeline import repository as repo
from dex.pipeline.fanout import FanOutRecord, spawn_children
from dex.pipeline.plan import Plan, StepDef, StepRow, advance, skip_all
from dex.pipeline.runner import (
    OUTCOME_STATUS,
    ClaimedStep,
    StepOutcome,
    merge_context,
    pipeline_auth,
    source_of,
)
from dex.pipeline.runs import Completion, RunRef

RECORD_FAN_OUT_OUTPUTS = text(
    "UPDATE step_results s SET output_payload = "
    "COALESCE(s.output_payload, '{}'::jsonb) || jsonb_build_object('fan_out', v.fan_out) "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, fan_out jsonb) "
    "WHERE s.id = v.id"
)


class PlanCache:
    """Blueprint versions are immutable, so their plans are cached for the life of the process."""

    def __init__(self) -> None:
        self._plans: dict[uuid.UUID, Plan] = {}

    def cached(self, version_id: uuid.UUID) -> Plan | None:
        return self._plans.get(version_id)

    async def get(self, session: AsyncSession, version_id: uuid.UUID) -> Plan:
        plan = self._plans.get(version_id)
        if plan is None:
            plan = Plan.from_snapshot(version_id, await repo.load_snapshot(session, version_id))
            self._plans[version_id] = plan
        return plan


@dataclass(frozen=True)
class Continuation:
    """Room for the executor recording a batch to run, at once, the steps this batch makes ready: the
    next steps of its runs and the first steps of the runs they fan out to. Up to ``room[org]`` of an
    org's such steps are inserted claimed by ``worker`` (a lease of ``lease_seconds``) instead of queued,
    and handed back as :attr:`Progress.continued` — no claim, no trip through the queue (or the broker),
    no wait. The room is the slots of the batch's own steps, org by org: an org's slot passes to its own
    next step, so it holds no more of an executor than it did, and every other step is claimed fairly.
    (The embedded executor lends those slots to queued steps while the batch waits for its recording:
    ``dex.pipeline.executor``.)"""

    worker: str
    lease_seconds: float
    room: Mapping[uuid.UUID, int]


def retry_delay_seconds(attempt: int, base: float) -> float:
    return min(300.0, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


class Progress:
    def __init__(
        self,
        session: AsyncSession,
        plans: PlanCache,
        *,
        retry_base_seconds: float = 2.0,
        continuation: Continuation | None = None,
        retried: bool = False,
    ) -> None:
        """``retried``: the caller runs the transaction again when it fails on a unique key (the entity
        merge then needs no savepoint of its own)."""
        self.session = session
        self.retried = retried
        self.plans = plans
        self.retry_base_seconds = retry_base_seconds
        self.continuation = continuation
        self._room = Counter(continuation.room if continuation else {})
        # Whether the submissions of the steps this batch records are budgeted (``ClaimedStep.budgeted``):
        # the steps of their runs, and of the runs they fan out to, are those a continuation may take.
        self._budgeted: dict[uuid.UUID, bool] = {}
        # The steps inserted claimed for the continuation, to run once this transaction commits.
        self.continued: list[ClaimedStep] = []
        self.new_runs: list[tuple[RunRef, repo.NewRunRow]] = []
        self.step_rows: list[repo.NewStepRow] = []
        self.moves: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.counters: dict[uuid.UUID, dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(("total", *states.COUNTER_FIELDS), 0)
        )
        self.op_runs: list[OperationRunRow] = []
        # The journal rows of ``op_runs`` the recording read (``repo.finish_steps``).
        self.journal_calls: list[Any] = []
        # The finished steps whose timeline events are read from their rows (``event_from_row``).
        self.events_from_rows: set[uuid.UUID] = set()
        self.events: list[dict[str, Any]] = []
        self.completions: list[Completion] = []
        self.fan_outs: list[FanOutRecord] = []
        # What webhooks, live progress and metrics are told about: steps finished, runs moved.
        self.finished_steps: list[StepOutcome] = []
        self.moved_runs: list[dict[str, Any]] = []
        self.any_queued = False
        # One timestamp for the batch; the database's clock decides readiness (``available_at <= now()``),
        # so rows are stamped a moment in the past to be claimable at once despite sub-second clock skew.
        self.now = datetime.now(UTC) - timedelta(seconds=1)

    # --- building blocks ----------------------------------------------------------------------------

    def add_rows(
        self,
        run: RunRef,
        rows: list[StepRow],
        *,
        context_step_id: uuid.UUID | None = None,
        context_run_id: uuid.UUID | None = None,
        room_taken: bool = False,
    ) -> None:
        """Rows to insert. Their context is the finished step ``context_step_id``'s cumulative context, or
        the new run ``context_run_id``'s input, when one is given: the insert reads it there. A run's rows
        end at the one step that must run, if any: the continuation takes it when there is room, or when
        the room is already ``room_taken`` for it (a new run inserted running, :meth:`flush`)."""
        stored = context_step_id is not None or context_run_id is not None
        for row in rows:
            step_id = uuid.uuid4()
            continued = row.status == "queued" and (room_taken or self._take_room(run))
            status = "running" if continued else row.status
            states.check_created("step", status)
            claim = self.continuation if continued else None
            if claim is not None:
                self.continued.append(
                    ClaimedStep.created_claimed(
                        run,
                        step_id,
                        row.step.position,
                        row.input_payload,
                        budgeted=self._budgeted[run.submission_id],
                    )
                )
            self.step_rows.append(
                {
                    "id": step_id,
                    "org_id": run.org_id,
                    "company_id": run.company_id,
                    "pipeline_run_id": run.run_id,
                    "submission_id": run.submission_id,
                    "blueprint_step_id": row.step.blueprint_step_id,
                    "step_position": row.step.position,
                    "operation_id": row.step.operation_id,
                    "status": status,
                    "attempt": 1 if continued else 0,
                    "available_at": None if status == "skipped" else self.now,
                    "input_payload": None if stored else row.input_payload,
                    "context_step_id": context_step_id,
                    "context_run_id": context_run_id,
                    "output_payload": row.output_payload,
                    "claimed_by": claim.worker if claim else None,
                    "lease_seconds": claim.lease_seconds if claim else None,
                    "event_from_row": status == "skipped" and row.step.condition is None,
                }
            )
            if status == "queued":
                self.any_queued = True
            elif status == "skipped" and row.step.condition is not None:
                self._step_event(
                    run,
                    step_id,
                    row.step,
                    "skipped",
                    row.input_payload,
                    skip_reason=row.skip_reason,
                    condition=row.step.condition,
                )

    @property
    def unslotted(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """The steps this recording made ready without room in the continuation, as (org, step): the
        executor recording them may claim them itself as its slots free up (a scale-out worker does,
        ``dex.scaleout.worker``)."""
        return [(row["org_id"], row["id"]) for row in self.step_rows if row["status"] == "queued"]

    def _take_room(self, run: RunRef) -> bool:
        """Whether the continuation takes a ready step of ``run`` (see :class:`Continuation`): one of its
        org's slots, if any is left."""
        if self.continuation is None or run.submission_id not in self._budgeted:
            return False
        if self._room[run.org_id] <= 0:
            return False
        self._room[run.org_id] -= 1
        return True

    def _step_event(
        self,
        run: RunRef,
        step_id: uuid.UUID,
        step: StepDef,
        status: str,
        context: dict[str, Any],
        *,
        result: dict[str, Any] | None = None,
        skip_reason: str | None = None,
        duration_ms: int | None = None,
        condition: Any = None,
        error_message: str | None = None,
        error_details: dict[str, Any] | None = None,
    ) -> None:
        self.events.append(
            timeline.step_event(
                org_id=run.org_id,
                company_id=run.company_id,
                entity_type=run.entity_type,
                entity_id=timeline.provisional_entity_id(run.org_id, run.entity_type, context, run.run_id),
                submission_id=run.submission_id,
                pipeline_run_id=run.run_id,
                step_result_id=step_id,
                step_position=step.position,
                operation_id=step.operation_id,
                step_status=status,
                operation_result=result,
                skip_reason=skip_reason,
                duration_ms=duration_ms,
                condition=condition,
                error_message=error_message,
                error_details=error_details,
                # Its operation run and attempts are recorded by this flush (``record_history``).
                answers_recorded=True,
            )
        )

    def move(
        self,
        run_id: uuid.UUID,
        target: str,
        error_message: str | None = None,
        error_details: dict[str, Any] | None = None,
        *,
        entity_id: uuid.UUID | None = None,
        upsert: dict[str, Any] | None = None,
    ) -> None:
        """``entity_id`` and ``upsert``: the entity merge of a run moving to ``succeeded``, kept on the run
        (its timeline event is read from there: ``timeline.UPSERT_EVENTS_SQL``)."""
        self.moves[target].append(
            {
                "id": run_id,
                "error_message": error_message,
                "error_details": error_details,
                "entity_id": entity_id,
                "upsert": upsert,
            }
        )

    def _continue(
        self,
        run: RunRef,
        steps: list[StepDef],
        context: dict[str, Any],
        last_operation_id: str | None,
        context_step_id: uuid.UUID,
    ) -> None:
        step_plan = advance(steps, context)
        self.add_rows(run, step_plan.rows, context_step_id=context_step_id)
        if step_plan.complete:
            self.complete(run, context, last_operation_id)

    # --- events ---------------------------------------------------------------------------------------

    def add_fan_out(self, record: FanOutRecord) -> None:
        self.fan_outs.append(record)

    def complete(self, run: RunRef, context: dict[str, Any], last_operation_id: str | None) -> None:
        """The run has no step left: its entity is merged and it succeeds at flush."""
        self.completions.append(Completion(run, context, last_operation_id))

    def wake_executors(self) -> None:
        """Steps were made ready outside ``add_rows``: executors are told at flush."""
        self.any_queued = True

    def upserted_entity_id(self) -> Any:
        """The entity the flushed completions merged into, if any."""
        return next((move["entity_id"] for move in self.moves["succeeded"] if move["entity_id"]), None)

    def start_run(self, run: RunRef, run_row: repo.NewRunRow) -> None:
        """A new run (batch entity or fan-out child): inserted, then advanced from its start position."""
        self.new_runs.append((run, run_row))

    async def after_step(self, outcome: StepOutcome, *, canceled: bool) -> None:
        claimed, step = outcome.claimed, outcome.step
        self.finished_steps.append(outcome)
        self._budgeted[claimed.submission_id] = claimed.budgeted
        run = claimed.run
        plan = await self.plans.get(self.session, claimed.version_id)
        result = outcome.result.to_dict() if outcome.result else None
        if outcome.kind in ("retry", "budget_exhausted"):
            return  # the step waits (for its retry, or for budget) and its run stays running
        status = OUTCOME_STATUS[outcome.kind]
        if claimed.step_id not in self.events_from_rows:
            self._step_event(
                run,
                claimed.step_id,
                step,
                status,
                outcome.context,
                result=result,
                skip_reason=outcome.skip_reason,
                duration_ms=outcome.duration_ms,
                condition=step.condition,
                error_message=outcome.error_message,
                error_details=outcome.error_details,
            )
        later = plan.after(step.position)
        after = claimed.step_id
        if outcome.kind == "failed":
            details = {"failed_step_position": step.position, "failed_operation_id": step.operation_id}
            rows = skip_all(later, outcome.context, "upstream_step_failed", details)
            self.add_rows(run, rows, context_step_id=after)
            self.move(run.run_id, "failed", outcome.error_message, outcome.error_details)
        elif canceled:
            rows = skip_all(later, outcome.context, "submission_canceled", {})
            self.add_rows(run, rows, context_step_id=after)
            self.move(run.run_id, "canceled")
        elif outcome.fan_out_items is not None:
            await self._fan_out(run, plan, outcome, later, result)
        else:
            last_operation_id = step.operation_id if outcome.kind == "succeeded" else None
            self._continue(run, later, outcome.context, last_operation_id, context_step_id=after)

    def record_history(self, outcome: StepOutcome) -> None:
        """The operation run the step's execution made, with its provider attempts (and their spend)."""
        claimed = outcome.claimed
        if outcome.result is None:
            return
        self.op_runs.append(
            operation_run_row(
                outcome.result,
                auth=pipeline_auth(claimed.org_id, claimed.company_id),
                input_payload=None,
                pipeline_run_id=claimed.run_id,
                step_result_id=claimed.step_id,
                submission_id=claimed.submission_id,
            )
        )

    def discard(self, outcome: StepOutcome) -> None:
        """The step was taken from this worker (its lease expired) and runs elsewhere: what this execution
        spent still happened and is recorded, as a failed run whose answer was discarded."""
        if outcome.result is None:
            return
        run_id = outcome.result.run_id
        for row in self.op_runs:
            if row["run_id"] == run_id:
                row["status"] = "failed"
                row["output_payload"] = {"discarded": "lease_lost", "output": row["output_payload"]}

    async def _fan_out(
        self,
        parent: RunRef,
        plan: Plan,
        outcome: StepOutcome,
        later: list[StepDef],
        result: dict[str, Any] | None,
    ) -> None:
        step = outcome.step
        spec = get_operation(step.operation_id or "")
        assert spec is not None and spec.fan_out is not None
        inherited = {
            k: v for k, v in outcome.context.items() if k not in (spec.fan_out.list_key, "entity_id")
        }
        start = step.position + 1
        attempts, reference = attempts_without_answers(result) if result else ([], {})
        fan_out = FanOutRecord(
            parent,
            outcome.claimed.step_id,
            step,
            start,
            outcome.context,
            provider_attempts=attempts,
            answers_reference=reference,
        )
        source = source_of(outcome.result) if outcome.result else None
        child_type = spec.fan_out.child_entity_type
        spawn_children(
            self,
            fan_out,
            (
                (index, child_type, merge_context(inherited, item, source))
                for index, item in enumerate(outcome.fan_out_items or [])
            ),
        )
        reason = "continued_in_fan_out_children" if outcome.fan_out_items else "fan_out_no_results"
        self.add_rows(
            parent,
            skip_all(later, outcome.context, reason, {"fan_out_step_position": step.position}),
            context_step_id=outcome.claimed.step_id,
        )
        self.complete(parent, outcome.context, step.operation_id)

    @staticmethod
    def run_row(
        run: RunRef,
        context: dict[str, Any],
        *,
        index: int,
        start: int,
        parent: uuid.UUID | None,
        dedup: str | None,
        discovery: dict[str, Any] | None = None,
    ) -> repo.NewRunRow:
        return {
            "id": run.run_id,
            "org_id": run.org_id,
            "company_id": run.company_id,
            "submission_id": run.submission_id,
            "blueprint_id": run.blueprint_id,
            "blueprint_version_id": run.version_id,
            "blueprint_version": run.version,
            "parent_pipeline_run_id": parent,
            "entity_index": index,
            "entity_type": run.entity_type,
            "entity_input": context,
            "start_from_position": start,
            "dedup_key": dedup,
            "depth": run.depth,
            "status": "queued",
            "entity_id": timeline.provisional_entity_id(run.org_id, run.entity_type, context, run.run_id),
            "discovery": discovery,
        }

    # --- writing ------------------------------------------------------------------------------------

    async def flush(self) -> None:
        # A new run whose first step the continuation takes is inserted running, not moved there after.
        starts = []
        for run, row in self.new_runs:
            plan = await self.plans.get(self.session, run.version_id)
            step_plan = advance(plan.from_position(row["start_from_position"]), row["entity_input"])
            started = bool(step_plan.rows) and step_plan.rows[-1].status == "queued" and self._take_room(run)
            row["status"] = "running" if started else "queued"
            states.check_created("run", row["status"])
            starts.append((run, row, step_plan, started))
        created = await repo.insert_runs(self.session, [row for _, row in self.new_runs])
        for run, row, step_plan, started in starts:
            if run.run_id not in created:  # a duplicate fan-out child: its slot is free again
                if started:
                    self._room[run.org_id] += 1
                continue
            self.counters[run.submission_id]["total"] += 1
            if started:
                self.counters[run.submission_id]["running"] += 1
                self.moved_runs.append(states.started_run(row))
            self.add_rows(run, step_plan.rows, context_run_id=run.run_id, room_taken=started)
            if step_plan.complete:
                self.complete(run, row["entity_input"], None)
        # The operation history, the completed runs' entities, the new steps, the timeline's events (the
        # completed runs' earlier ones re-pointed) and the fan-out steps' outputs: one round trip.
        writes = Writes()
        repoints = await self._complete_runs(writes)
        await add_recorded_history(writes, self.session, self.op_runs, self.journal_calls)
        self._fan_out_events(created)
        writes.add(timeline.REPOINT_RUN_EVENTS, repoints)
        writes.add(repo.INSERT_STEPS, self.step_rows)
        writes.add(timeline.INSERT_EVENTS, timeline.event_records(self.events))
        writes.add(RECORD_FAN_OUT_OUTPUTS, self._fan_out_outputs(created))
        await writes.execute(self.session)
        await give_back_reservations(self.session, self.journal_calls)
        for target in ("running", "succeeded", "failed", "canceled"):
            for moved in await states.move_runs(self.session, target, self.moves.get(target, [])):
                self.moved_runs.append({**moved, "status": target})
                delta = states.counter_delta(moved["old_status"], target)
                for name, value in delta.items():
                    if name != "total":
                        self.counters[moved["submission_id"]][name] += value
        await self._merges_of_finished_runs()
        await live.bump_and_announce(
            self.session,
            self.counters,
            runs=self.moved_runs,
            steps=self.finished_steps,
            ready=self.any_queued,
        )

    async def _merges_of_finished_runs(self) -> None:
        """The merges of runs completed after they had finished (the compatibility runner merges a succeeded
        run's entity, or one of another type, as often as it likes): not moved, each writes its event, and a
        merge of the run's own type takes the run to its entity, where the events read from the run's rows
        follow it as the written ones are re-pointed."""
        moved = {run["id"] for run in self.moved_runs}
        runs = {completion.run.run_id: completion.run for completion in self.completions}
        merges = []
        for move in self.moves["succeeded"]:
            if move["upsert"] and move["id"] not in moved:
                run = runs[move["id"]]
                merges.append(
                    {
                        **move,
                        "org_id": run.org_id,
                        "company_id": run.company_id,
                        "submission_id": run.submission_id,
                        "entity_type": run.entity_type,
                    }
                )
        writes = Writes()
        writes.add(timeline.WRITE_UPSERT_EVENTS, merges)
        writes.add(repo.MOVE_FINISHED_RUNS_TO_ENTITIES, merges)
        await writes.execute(self.session)

    async def _complete_runs(self, writes: Writes) -> list[dict[str, Any]]:
        """Merges the completed runs' entities (their rows written with ``writes`` when the recording is
        retried as a whole) and moves the runs; returns where their events go
        (``timeline.REPOINT_RUN_EVENTS``)."""
        repoints = []
        # One set-based upsert for the whole batch, which locks its entities in one order for every writer.
        upserts = await upsert_entities(
            self.session,
            [
                EntityWrite(
                    completion.run.org_id,
                    completion.run.entity_type,
                    completion.context,
                    Lineage(completion.last_operation_id, completion.run.run_id, completion.run.company_id),
                )
                for completion in self.completions
            ],
            into=writes if self.retried else None,
        )
        for completion, upserted in zip(self.completions, upserts, strict=True):
            run = completion.run
            if upserted is not None:
                repoints.append(
                    {
                        "org_id": run.org_id,
                        "run_id": run.run_id,
                        "entity_type": run.entity_type,
                        "entity_id": upserted.entity_id,
                    }
                )
                self.events += timeline.identity_conflict_events(
                    org_id=run.org_id,
                    company_id=run.company_id,
                    pipeline_run_id=run.run_id,
                    submission_id=run.submission_id,
                    upserted=upserted,
                )
                self.move(
                    run.run_id,
                    "succeeded",
                    entity_id=upserted.entity_id,
                    upsert=timeline.upsert_record(upserted, completion.last_operation_id),
                )
            else:
                self.move(run.run_id, "succeeded")
        return repoints

    def _fan_out_events(self, created: set[uuid.UUID]) -> None:
        for fan_out in self.fan_outs:
            parent = fan_out.parent
            self.events.append(
                timeline.fan_out_event(
                    org_id=parent.org_id,
                    company_id=parent.company_id,
                    submission_id=parent.submission_id,
                    parent_run_id=parent.run_id,
                    parent_entity_type=parent.entity_type,
                    parent_context=fan_out.parent_context,
                    step_result_id=fan_out.step_result_id,
                    operation_id=fan_out.step.operation_id,
                    provider_attempts=fan_out.provider_attempts,
                    answers_reference=fan_out.answers_reference,
                    children=[
                        (child.run_id, child.entity_type, context, child.run_id in created)
                        for child, context, _ in fan_out.children
                    ],
                )
            )

    def _fan_out_outputs(self, created: set[uuid.UUID]) -> list[dict[str, Any]]:
        """What each fan-out step's output says of the children it made (``RECORD_FAN_OUT_OUTPUTS``)."""
        outputs = []
        for fan_out in self.fan_outs:
            made = [str(child.run_id) for child, _, _ in fan_out.children if child.run_id in created]
            skipped = [key for child, _, key in fan_out.children if child.run_id not in created]
            outputs.append(
                {
                    "id": fan_out.step_result_id,
                    "fan_out": {
                        "child_run_ids": made,
                        "child_count": len(fan_out.children),
                        "child_count_created": len(made),
                        "child_count_skipped_duplicates": len(skipped),
                        "skipped_duplicate_identifiers": skipped,
                        "start_from_position": fan_out.start_from_position,
                    },
                }
            )
        return outputs


def context_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """What a step changed in its context: the keys whose values are not the very objects it was given
    (merging keeps every untouched value as it was). None if the step dropped a key: then the changes
    cannot rebuild the context."""
    if not before.keys() <= after.keys():
        return None
    missing = object()
    return {key: value for key, value in after.items() if before.get(key, missing) is not value}


def event_from_row(outcome: StepOutcome, changes: dict[str, Any] | None) -> bool:
    """Whether the finished step's timeline event is read from its row (``timeline.STEP_EVENTS_SQL``): the
    row says all the event does unless the step has a condition, its context is stored whole (no
    ``changes``), or a step that was not skipped carries a skip reason."""
    return (
        outcome.kind in ("succeeded", "failed", "skipped")
        and outcome.step.condition is None
        and changes is not None
        and (outcome.kind == "skipped" or outcome.skip_reason is None)
    )


def finished_step_row(outcome: StepOutcome, retry_base_seconds: float) -> dict[str, Any]:
    """The step_results update of one outcome (ownership-checked by ``repo.finish_steps``). The cumulative
    context is stored as the step's changes to its input context where they rebuild it, and the operation
    result without what its operation run holds (the providers' answers, the output): a client reads both
    as they were (``pipeline.views``), and each context, answer and output is written once."""
    changes = context_changes(outcome.claimed.context, outcome.context)
    output: dict[str, Any] = (
        {"cumulative_context": outcome.context} if changes is None else {repo.CONTEXT_CHANGES: changes}
    )
    if outcome.result is not None:
        # Its answers and output are stored with the operation run this flush records (``record_history``).
        output["operation_result"] = result_by_reference(outcome.result.to_dict())
    if outcome.kind == "skipped":
        output.update(skip_reason=outcome.skip_reason, metadata=outcome.skip_metadata)
    return {
        "id": outcome.claimed.step_id,
        "attempt": outcome.claimed.attempt,
        "status": OUTCOME_STATUS[outcome.kind],
        "output_payload": output,
        "error_message": outcome.error_message,
        "error_details": outcome.error_details,
        "duration_ms": outcome.duration_ms,
        "event_from_row": event_from_row(outcome, changes),
        "retry_delay_seconds": retry_delay_seconds(outcome.claimed.attempt, retry_base_seconds)
        if outcome.kind == "retry"
        else 0,
    }


async def apply_outcomes(
    session: AsyncSession,
    outcomes: list[StepOutcome],
    *,
    worker: str,
    plans: PlanCache,
    retry_base_seconds: float = 2.0,
    continuation: Continuation | None = None,
) -> Progress:
    """Record finished steps and everything they imply, in the caller's transaction, which the caller
    runs again if it fails on a unique key (``record_outcomes``)."""
    # A step parked for budget in a canceled submission would wait for nothing: it is skipped instead.
    parked = (o.claimed.submission_id for o in outcomes if o.kind == "budget_exhausted")
    canceled = await repo.canceled_submissions(session, parked)
    outcomes = [
        replace(o, kind="skipped", skip_reason="submission_canceled", error_message=None, error_details=None)
        if o.kind == "budget_exhausted" and o.claimed.submission_id in canceled
        else o
        for o in outcomes
    ]
    progress = Progress(
        session, plans, retry_base_seconds=retry_base_seconds, continuation=continuation, retried=True
    )
    for outcome in outcomes:
        progress.record_history(outcome)
    rows = [finished_step_row(o, retry_base_seconds) for o in outcomes]
    progress.events_from_rows = {row["id"] for row in rows if row["event_from_row"]}
    finished = await repo.finish_steps(session, rows, worker=worker, runs=progress.op_runs)
    canceled |= finished.canceled
    progress.journal_calls = finished.calls
    for outcome in outcomes:
        if outcome.claimed.step_id in finished.owned:
            await progress.after_step(outcome, canceled=outcome.claimed.submission_id in canceled)
        else:
            progress.discard(outcome)
    await progress.flush()
    budgeted = [o.claimed for o in outcomes if o.claimed.budgeted]
    if budgeted:
        # Settled reservations may let parked steps go on; parked steps may leave a submission waiting.
        await budget_waits.settle(session, {c.org_id for c in budgeted}, {c.submission_id for c in budgeted})
    return progress
