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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import dumps
from dex.entities import timeline
from dex.entities.identity import UNIQUE_KEYS, resolve_identity
from dex.entities.repository import EntityWrite, Lineage, upsert_entities
from dex.operations.registry import get_operation
from dex.operations.repository import attempt_rows, operation_run_row, record_operation_runs
from dex.pipeline import live, states
from dex.pipeline import repository as repo
from dex.pipeline.conflicts import identity_conflict_events
from dex.pipeline.plan import Plan, StepDef, StepRow, advance, skip_all
from dex.pipeline.runner import (
    OUTCOME_STATUS,
    ClaimedStep,
    StepOutcome,
    merge_context,
    pipeline_auth,
    source_of,
)
from dex.webhooks import outbox as webhook_outbox


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
class RunRef:
    run_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    blueprint_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    entity_type: str
    depth: int


@dataclass
class Completion:
    run: RunRef
    context: dict[str, Any]
    last_operation_id: str | None


@dataclass
class FanOutRecord:
    parent: RunRef
    step_result_id: uuid.UUID
    step: StepDef
    start_from_position: int
    parent_context: dict[str, Any]
    children: list[tuple[RunRef, dict[str, Any], str | None]] = field(default_factory=list)
    provider_attempts: list[dict[str, Any]] = field(default_factory=list)


def retry_delay_seconds(attempt: int, base: float) -> float:
    return min(300.0, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


def dedup_key(org_id: uuid.UUID, entity_type: str, context: dict[str, Any]) -> str | None:
    """A child's identity within its submission: its strongest *unique* natural key, if any."""
    identity = resolve_identity(org_id, entity_type, {k: v for k, v in context.items() if k != "entity_id"})
    if identity is None:
        return None
    for column, value in identity.natural_keys:
        if column in UNIQUE_KEYS[entity_type] or (entity_type == "company" and column == "linkedin_url"):
            return f"{entity_type}:{column}:{value}"
    return None


class Progress:
    def __init__(self, session: AsyncSession, plans: PlanCache, *, retry_base_seconds: float = 2.0) -> None:
        self.session = session
        self.plans = plans
        self.retry_base_seconds = retry_base_seconds
        self.new_runs: list[tuple[RunRef, dict[str, Any], dict[str, Any]]] = []
        self.step_rows: list[dict[str, Any]] = []
        self.moves: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.counters: dict[uuid.UUID, dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(("total", *states.COUNTER_FIELDS), 0)
        )
        self.op_runs: list[dict[str, Any]] = []
        self.op_attempts: list[dict[str, Any]] = []
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

    def add_rows(self, run: RunRef, rows: list[StepRow]) -> None:
        for row in rows:
            step_id = uuid.uuid4()
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
                    "status": row.status,
                    "attempt": 0,
                    "available_at": None if row.status == "skipped" else self.now,
                    "finished_at": self.now if row.status == "skipped" else None,
                    "input_payload": row.input_payload,
                    "output_payload": row.output_payload,
                }
            )
            if row.status == "queued":
                self.any_queued = True
            else:
                self._step_event(
                    run,
                    step_id,
                    row.step,
                    "skipped",
                    row.input_payload,
                    skip_reason=row.skip_reason,
                    condition=row.step.condition,
                )

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
            )
        )

    def move(
        self,
        run_id: uuid.UUID,
        target: str,
        error_message: str | None = None,
        error_details: dict[str, Any] | None = None,
    ) -> None:
        self.moves[target].append(
            {"id": run_id, "error_message": error_message, "error_details": error_details}
        )

    def _continue(
        self, run: RunRef, steps: list[StepDef], context: dict[str, Any], last_operation_id: str | None
    ) -> None:
        step_plan = advance(steps, context)
        self.add_rows(run, step_plan.rows)
        if step_plan.complete:
            self.completions.append(Completion(run, context, last_operation_id))

    # --- events ---------------------------------------------------------------------------------------

    def start_run(self, run: RunRef, run_row: dict[str, Any], context: dict[str, Any]) -> None:
        """A new run (batch entity or fan-out child): inserted, then advanced from its start position."""
        self.new_runs.append((run, run_row, context))

    async def after_step(self, outcome: StepOutcome, *, canceled: bool) -> None:
        claimed, step = outcome.claimed, outcome.step
        self.finished_steps.append(outcome)
        run = await self._run_ref(claimed)
        plan = await self.plans.get(self.session, claimed.version_id)
        result = outcome.result.to_dict() if outcome.result else None
        self.record_history(outcome)
        if outcome.kind in ("retry", "budget_exhausted"):
            return  # the step waits (for its retry, or for budget) and its run stays running
        status = OUTCOME_STATUS[outcome.kind]
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
        if outcome.kind == "failed":
            details = {"failed_step_position": step.position, "failed_operation_id": step.operation_id}
            self.add_rows(run, skip_all(later, outcome.context, "upstream_step_failed", details))
            self.move(run.run_id, "failed", outcome.error_message, outcome.error_details)
        elif canceled:
            self.add_rows(run, skip_all(later, outcome.context, "submission_canceled", {}))
            self.move(run.run_id, "canceled")
        elif outcome.fan_out_items is not None:
            await self._fan_out(run, plan, outcome, later)
        else:
            self._continue(
                run, later, outcome.context, step.operation_id if outcome.kind == "succeeded" else None
            )

    def record_history(self, outcome: StepOutcome) -> None:
        """The operation run the step's execution made, with its provider attempts (and their spend)."""
        claimed = outcome.claimed
        if outcome.result is None:
            return
        self.op_runs.append(
            operation_run_row(
                outcome.result,
                auth=pipeline_auth(claimed.org_id, claimed.company_id),
                input_payload=claimed.context,
                pipeline_run_id=claimed.run_id,
                step_result_id=claimed.step_id,
                submission_id=claimed.submission_id,
            )
        )
        self.op_attempts.extend(attempt_rows(outcome.result, claimed.org_id))

    async def _fan_out(self, parent: RunRef, plan: Plan, outcome: StepOutcome, later: list[StepDef]) -> None:
        step = outcome.step
        spec = get_operation(step.operation_id or "")
        assert spec is not None and spec.fan_out is not None
        inherited = {
            k: v for k, v in outcome.context.items() if k not in (spec.fan_out.list_key, "entity_id")
        }
        start = step.position + 1
        fan_out = FanOutRecord(
            parent,
            outcome.claimed.step_id,
            step,
            start,
            outcome.context,
            provider_attempts=(outcome.result.to_dict()["provider_attempts"] if outcome.result else []),
        )
        source = source_of(outcome.result) if outcome.result else None
        for index, item in enumerate(outcome.fan_out_items or []):
            child_context = merge_context(inherited, item, source)
            child = RunRef(
                uuid.uuid4(),
                parent.org_id,
                parent.company_id,
                parent.submission_id,
                parent.blueprint_id,
                parent.version_id,
                parent.version,
                spec.fan_out.child_entity_type,
                parent.depth + 1,
            )
            key = dedup_key(parent.org_id, child.entity_type, child_context)
            fan_out.children.append((child, child_context, key))
            self.start_run(
                child,
                self.run_row(child, child_context, index=index, start=start, parent=parent.run_id, dedup=key),
                child_context,
            )
        self.fan_outs.append(fan_out)
        reason = "continued_in_fan_out_children" if outcome.fan_out_items else "fan_out_no_results"
        self.add_rows(
            parent, skip_all(later, outcome.context, reason, {"fan_out_step_position": step.position})
        )
        self.completions.append(Completion(parent, outcome.context, step.operation_id))

    @staticmethod
    def run_row(
        run: RunRef,
        context: dict[str, Any],
        *,
        index: int,
        start: int,
        parent: uuid.UUID | None,
        dedup: str | None,
    ) -> dict[str, Any]:
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
        }

    async def _run_ref(self, claimed: ClaimedStep) -> RunRef:
        return RunRef(
            claimed.run_id,
            claimed.org_id,
            claimed.company_id,
            claimed.submission_id,
            claimed.blueprint_id,
            claimed.version_id,
            claimed.version,
            claimed.run_entity_type,
            claimed.depth,
        )

    # --- writing ------------------------------------------------------------------------------------

    async def flush(self) -> None:
        created = await repo.insert_runs(self.session, [row for _, row, _ in self.new_runs])
        for run, row, context in self.new_runs:
            if run.run_id not in created:
                continue
            self.counters[run.submission_id]["total"] += 1
            plan = await self.plans.get(self.session, run.version_id)
            self._continue(run, plan.from_position(row["start_from_position"]), context, None)
        await self._complete_runs()
        await repo.insert_steps(self.session, self.step_rows)
        await record_operation_runs(
            self.session,
            self.op_runs,
            self.op_attempts,
            finished_steps=[outcome.claimed.step_id for outcome in self.finished_steps],
        )
        self._fan_out_events(created)
        await timeline.insert_events(self.session, self.events)
        for target in ("running", "succeeded", "failed", "canceled"):
            for moved in await repo.move_runs(self.session, target, self.moves.get(target, [])):
                self.moved_runs.append({**moved, "status": target})
                delta = states.counter_delta(moved["old_status"], target)
                for name, value in delta.items():
                    if name != "total":
                        self.counters[moved["submission_id"]][name] += value
        changed_submissions = await repo.bump_counters(self.session, self.counters)
        # Announced only if this transaction commits: the outbox row and the NOTIFY are part of it.
        await webhook_outbox.enqueue(self.session, runs=self.moved_runs, submissions=changed_submissions)
        await live.publish(
            self.session, runs=self.moved_runs, steps=self.finished_steps, submissions=changed_submissions
        )
        await self._record_fan_out_outputs(created)
        if self.any_queued:
            await repo.notify_ready(self.session)

    async def _complete_runs(self) -> None:
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
        )
        for completion, upserted in zip(self.completions, upserts, strict=True):
            run = completion.run
            if upserted is not None:
                repoints.append(
                    {"run_id": run.run_id, "entity_type": run.entity_type, "entity_id": upserted.entity_id}
                )
                self.events.append(self._upsert_event(run, upserted, completion.last_operation_id))
                self.events += identity_conflict_events(run, upserted)
            self.move(run.run_id, "succeeded")
        await timeline.repoint_run_events(self.session, repoints)

    @staticmethod
    def _upsert_event(run: RunRef, upserted: Any, operation_id: str | None) -> dict[str, Any]:
        fields = list(upserted.fields_updated)
        return {
            "org_id": run.org_id,
            "company_id": run.company_id,
            "entity_type": run.entity_type,
            "entity_id": upserted.entity_id,
            "operation_id": operation_id or "unknown.operation",
            "pipeline_run_id": run.run_id,
            "submission_id": run.submission_id,
            "provider": None,
            "status": "found",
            "fields_updated": fields or None,
            "summary": f"entity {'created' if upserted.created else 'updated'} "
            f"(version {upserted.record_version})",
            "metadata_": {
                "event_type": "entity_upsert",
                "last_operation_id": operation_id,
                "record_version": upserted.record_version,
                "created": upserted.created,
                "pipeline_entity_type": run.entity_type,
            },
        }

    def _fan_out_events(self, created: set[uuid.UUID]) -> None:
        for fan_out in self.fan_outs:
            parent = fan_out.parent
            made = [child for child, _, _ in fan_out.children if child.run_id in created]
            parent_context_entity = timeline.provisional_entity_id(
                parent.org_id, parent.entity_type, fan_out.parent_context, parent.run_id
            )
            self.events.append(
                {
                    "org_id": parent.org_id,
                    "company_id": parent.company_id,
                    "entity_type": parent.entity_type,
                    "entity_id": parent_context_entity,
                    "operation_id": fan_out.step.operation_id or "unknown.operation",
                    "pipeline_run_id": parent.run_id,
                    "submission_id": parent.submission_id,
                    "step_result_id": fan_out.step_result_id,
                    "provider": timeline.chosen_provider(fan_out.provider_attempts),
                    "status": "found" if made else "not_found",
                    "fields_updated": None,
                    "summary": f"{fan_out.step.operation_id} discovered {len(made)} "
                    f"{made[0].entity_type if made else 'entities'}",
                    "metadata_": {
                        "event_type": "fan_out_discovery",
                        "child_pipeline_run_ids": [str(child.run_id) for child in made],
                        "child_count_created": len(made),
                        "child_count_skipped_duplicates": len(fan_out.children) - len(made),
                        "provider_attempts": fan_out.provider_attempts,
                    },
                }
            )
            for index, (child, context, _) in enumerate(fan_out.children):
                if child.run_id not in created:
                    continue
                self.events.append(
                    {
                        "org_id": child.org_id,
                        "company_id": child.company_id,
                        "entity_type": child.entity_type,
                        "entity_id": timeline.provisional_entity_id(
                            child.org_id, child.entity_type, context, child.run_id
                        ),
                        "operation_id": fan_out.step.operation_id or "unknown.operation",
                        "pipeline_run_id": child.run_id,
                        "submission_id": child.submission_id,
                        "provider": timeline.chosen_provider(fan_out.provider_attempts),
                        "status": "found",
                        "fields_updated": sorted(k for k, v in context.items() if v is not None) or None,
                        "summary": f"{fan_out.step.operation_id}: discovered {child.entity_type} #{index}",
                        "metadata_": {
                            "event_type": "fan_out_discovery",
                            "parent_pipeline_run_id": str(parent.run_id),
                        },
                    }
                )

    async def _record_fan_out_outputs(self, created: set[uuid.UUID]) -> None:
        updates = []
        for fan_out in self.fan_outs:
            made = [str(child.run_id) for child, _, _ in fan_out.children if child.run_id in created]
            skipped = [key for child, _, key in fan_out.children if child.run_id not in created]
            updates.append(
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
        if updates:
            await self.session.execute(
                text(
                    "UPDATE step_results s SET output_payload = "
                    "COALESCE(s.output_payload, '{}'::jsonb) || jsonb_build_object('fan_out', v.fan_out) "
                    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, fan_out jsonb) "
                    "WHERE s.id = v.id"
                ),
                {"rows": dumps(updates)},
            )


def finished_step_row(outcome: StepOutcome, retry_base_seconds: float) -> dict[str, Any]:
    """The step_results update of one outcome (ownership-checked by ``repo.finish_steps``)."""
    output: dict[str, Any] = {"cumulative_context": outcome.context}
    if outcome.result is not None:
        output["operation_result"] = outcome.result.to_dict()
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
) -> Progress:
    """Record finished steps and everything they imply, in the caller's transaction."""
    canceled = await repo.canceled_submissions(session, (o.claimed.submission_id for o in outcomes))
    # A step parked for budget in a canceled submission would wait for nothing: it is skipped instead.
    outcomes = [
        replace(o, kind="skipped", skip_reason="submission_canceled", error_message=None, error_details=None)
        if o.kind == "budget_exhausted" and o.claimed.submission_id in canceled
        else o
        for o in outcomes
    ]
    owned = await repo.finish_steps(
        session, [finished_step_row(o, retry_base_seconds) for o in outcomes], worker=worker
    )
    progress = Progress(session, plans, retry_base_seconds=retry_base_seconds)
    for outcome in outcomes:
        if outcome.claimed.step_id in owned:
            await progress.after_step(outcome, canceled=outcome.claimed.submission_id in canceled)
        else:
            # The step was taken from this worker (its lease expired) and runs elsewhere; what this
            # execution spent still happened and is recorded.
            progress.record_history(outcome)
    await progress.flush()
    return progress


async def claim(
    session: AsyncSession,
    plans: PlanCache,
    *,
    worker: str,
    lease_seconds: float,
    capacity: int,
    org_allowance: Callable[[uuid.UUID], int] | None = None,
) -> list[ClaimedStep]:
    """Claim up to ``capacity`` ready steps, shared fairly across the orgs that have ready work (each org
    gets an equal quota, capped by ``org_allowance``), and mark their runs running."""
    orgs = await repo.orgs_with_ready_steps(session)
    random.shuffle(orgs)
    claimed_rows: list[Any] = []
    remaining = capacity
    while orgs and remaining > 0:
        quota = max(1, -(-remaining // len(orgs)))
        still_ready = []
        for org_id in orgs:
            limit = min(quota, remaining, org_allowance(org_id) if org_allowance else capacity)
            if limit <= 0:
                continue
            rows = await repo.claim_steps(
                session, org_id=org_id, limit=limit, worker=worker, lease_seconds=lease_seconds
            )
            claimed_rows += rows
            remaining -= len(rows)
            if len(rows) == limit:
                still_ready.append(org_id)
        if len(still_ready) == len(orgs) or not still_ready:
            break
        orgs = still_ready
    return await _start_claimed(session, plans, claimed_rows)


async def claim_ids(
    session: AsyncSession,
    plans: PlanCache,
    *,
    worker: str,
    lease_seconds: float,
    step_ids: Sequence[uuid.UUID],
) -> list[ClaimedStep]:
    """Claim the named steps that are still ready (scale-out workers: one message names one step), with
    the same lease, attempt and run transitions as :func:`claim`."""
    rows = await repo.claim_step_ids(session, step_ids=step_ids, worker=worker, lease_seconds=lease_seconds)
    return await _start_claimed(session, plans, rows)


async def _start_claimed(
    session: AsyncSession, plans: PlanCache, claimed_rows: list[Any]
) -> list[ClaimedStep]:
    """Mark the runs of freshly claimed step rows running and describe each step for the runner."""
    if not claimed_rows:
        return []
    runs = await repo.run_info(session, {row["pipeline_run_id"] for row in claimed_rows})
    progress = Progress(session, plans)
    for run_id in runs:
        progress.move(run_id, "running")
    await progress.flush()
    return [
        ClaimedStep(
            step_id=row["id"],
            run_id=row["pipeline_run_id"],
            org_id=row["org_id"],
            company_id=row["company_id"],
            submission_id=row["submission_id"],
            blueprint_id=runs[row["pipeline_run_id"]]["blueprint_id"],
            version_id=runs[row["pipeline_run_id"]]["blueprint_version_id"],
            version=runs[row["pipeline_run_id"]]["blueprint_version"],
            position=row["step_position"],
            attempt=row["attempt"],
            context=row["input_payload"] or {},
            run_entity_type=runs[row["pipeline_run_id"]]["entity_type"],
            depth=runs[row["pipeline_run_id"]]["depth"],
            budgeted=runs[row["pipeline_run_id"]]["budgeted"],
        )
        for row in claimed_rows
    ]
