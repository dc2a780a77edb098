"""Executing one claimed step: freshness check, the operation, and the outcome to record.

This is the step function both executors share (the embedded one and the scale-out workers). It does no
state writes itself: it returns a :class:`StepOutcome`, and ``pipeline.progress`` applies outcomes —
many at once — in one transaction with all their consequences.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from dex.config import Settings
from dex.db.engine import Database
from dex.entities.history import OrgEntityHistory
from dex.entities.repository import LINEAGE_KEY, EntityRepository, attributed
from dex.operations.engine import OperationResult, execute_operation
from dex.operations.registry import get_operation
from dex.pipeline.plan import StepDef
from dex.pipeline.runs import RunRef
from dex.providers.base import Attempt
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.context import AuthContext, requester_for
from dex.usage.budgets import Exhausted, budget_refusal, exhausted_budget, next_call_cost

log = logging.getLogger(__name__)


def pipeline_auth(org_id: uuid.UUID, company_id: uuid.UUID) -> AuthContext:
    """How pipeline steps appear in operation history: the executor acting for the run's tenant."""
    return AuthContext(
        org_id=org_id, user_id=None, company_id=company_id, role="org_admin", auth_method="pipeline"
    )


@dataclass(frozen=True)
class ClaimedStep:
    step_id: uuid.UUID
    run_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    blueprint_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    position: int
    attempt: int
    context: dict[str, Any]
    run_entity_type: str
    depth: int
    # Whether the step's org or submission had a budget when it was claimed (dex.usage.budgets).
    budgeted: bool

    @property
    def run(self) -> RunRef:
        return RunRef(
            self.run_id,
            self.org_id,
            self.company_id,
            self.submission_id,
            self.blueprint_id,
            self.version_id,
            self.version,
            self.run_entity_type,
            self.depth,
        )

    @classmethod
    def created_claimed(
        cls, run: RunRef, step_id: uuid.UUID, position: int, context: dict[str, Any], *, budgeted: bool
    ) -> ClaimedStep:
        """A step of ``run`` claimed as it is created (its first attempt)."""
        return cls(
            step_id,
            run.run_id,
            run.org_id,
            run.company_id,
            run.submission_id,
            run.blueprint_id,
            run.version_id,
            run.version,
            position,
            1,
            context,
            run.entity_type,
            run.depth,
            budgeted,
        )


# The step status each outcome kind leaves the step in.
OUTCOME_STATUS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "skipped": "skipped",
    "retry": "retrying",
    "budget_exhausted": "budget_exhausted",
}


@dataclass
class StepOutcome:
    claimed: ClaimedStep
    step: StepDef
    # succeeded | failed | skipped | retry | budget_exhausted
    kind: str
    context: dict[str, Any]
    result: OperationResult | None = None
    skip_reason: str | None = None
    skip_metadata: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None
    error_details: dict[str, Any] | None = None
    duration_ms: int = 0
    # Items the fan-out step discovered (each becomes a child run).
    fan_out_items: list[dict[str, Any]] | None = None


@dataclass
class RunnerDeps:
    settings: Settings
    providers: ProviderRuntime
    database: Database
    step_timeout_seconds: float = 300.0
    max_attempts: int = 3


def failed_transiently(attempt: Attempt) -> bool:
    """The provider did not answer for a passing reason: 429, 5xx, a transport error, a garbled body."""
    return attempt.status == "failed" and (
        attempt.http_status is None
        or attempt.http_status == 429
        or attempt.http_status >= 500
        or attempt.error == "malformed_json"
    )


def is_transient(result: OperationResult) -> bool:
    """A failure worth retrying: providers were reached and every one failed transiently — not missing
    inputs, not a bad answer, not a provider that said no."""
    if result.status != "failed" or result.missing_inputs or result.error is not None:
        return False
    tried = [a for a in result.attempts if a.status != "skipped"]
    return bool(tried) and all(failed_transiently(a) for a in tried)


def is_degraded(result: OperationResult) -> bool:
    """An answer reached while some provider of the waterfall was failing: a fault-free run could have
    answered differently (the failing provider ranks first, or holds fields the others lack)."""
    return result.status != "failed" and any(failed_transiently(a) for a in result.attempts)


def merge_context(
    context: dict[str, Any], output: dict[str, Any] | None, source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Shallow merge: later keys overwrite, nulls included, objects and arrays replaced whole.

    With ``source`` (``{operation_id, provider}``), every output field it set to a new non-null value is
    attributed to it under ``_lineage``, which travels with the context into children and becomes the
    entity's field provenance."""
    merged = {**context, **(output or {})}
    if source is not None and output:
        changed = [
            key
            for key, value in output.items()
            if value is not None and key != LINEAGE_KEY and context.get(key) != value
        ]
        merged[LINEAGE_KEY] = attributed(context.get(LINEAGE_KEY), changed, source)
    return merged


def source_of(result: OperationResult) -> dict[str, Any]:
    provider = next((a.provider for a in result.attempts if a.status in ("found", "verified")), None)
    return {"operation_id": result.operation_id, "provider": provider}


async def _fresh_entity(
    deps: RunnerDeps, claimed: ClaimedStep, entity_type: str, rule: tuple[float, list[str]]
):
    max_age_hours, fields = rule
    identifiers = {
        name: claimed.context.get(name) for name in fields if claimed.context.get(name) not in (None, "")
    }
    if not identifiers:
        return None
    try:
        async with deps.database.transaction() as session:
            return await EntityRepository(session, claimed.org_id).find_fresh(
                entity_type, identifiers, max_age_hours
            )
    except Exception:  # a freshness lookup failure only means the step runs normally
        log.exception("freshness check failed for step %s", claimed.step_id)
        return None


async def run_step(claimed: ClaimedStep, step: StepDef, deps: RunnerDeps) -> StepOutcome:
    started = time.monotonic()
    outcome = await _run(claimed, step, deps)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


async def _run(claimed: ClaimedStep, step: StepDef, deps: RunnerDeps) -> StepOutcome:
    spec = get_operation(step.operation_id or "")
    if spec is None:
        message = (
            f"Missing operation_id for blueprint step at position {step.position}"
            if not step.operation_id
            else f"Unsupported operation_id: {step.operation_id}"
        )
        return StepOutcome(
            claimed, step, "failed", claimed.context, error_message=message, error_details={"error": message}
        )
    freshness = step.skip_if_fresh
    if freshness is not None:
        fresh = await _fresh_entity(deps, claimed, spec.entity_type, freshness)
        if fresh is not None:
            return StepOutcome(
                claimed,
                step,
                "skipped",
                merge_context(claimed.context, fresh.pop("canonical_payload")),
                skip_reason="entity_state_fresh",
                skip_metadata={**fresh, "max_age_hours": freshness[0], "identity_fields": freshness[1]},
            )
    next_cost = next_call_cost(spec)
    if next_cost is not None and claimed.budgeted:
        async with deps.database.transaction() as session:
            exhausted = await exhausted_budget(session, claimed.submission_id, next_cost)
        if exhausted is not None:
            # Parked without spending; raising the budget re-queues it (dex.usage.budgets).
            return _parked(claimed, step, exhausted)
    providers = deps.providers.context(
        claimed.org_id,
        requester=requester_for(
            pipeline_auth(claimed.org_id, claimed.company_id),
            pipeline_run_id=claimed.run_id,
            step_result_id=claimed.step_id,
            submission_id=claimed.submission_id,
        ),
        budgeted=claimed.budgeted,
    )
    try:
        result = await asyncio.wait_for(
            execute_operation(
                spec,
                claimed.context,
                providers=providers,
                settings=deps.settings,
                options=step.options,
                history=OrgEntityHistory(
                    deps.database.transaction, pipeline_auth(claimed.org_id, claimed.company_id)
                ),
            ),
            timeout=deps.step_timeout_seconds,
        )
    except TimeoutError:
        return _retry_or_fail(
            claimed, step, None, f"Step timed out after {deps.step_timeout_seconds:g}s", deps
        )
    if providers.budget_refused is not None:
        # A request did not fit the budget and was not sent: the step waits for budget, keeping the record
        # of what it did spend (those answers are cached, so its next run does not pay for them again).
        async with deps.database.transaction() as session:
            refusal = await budget_refusal(session, claimed.submission_id, providers.budget_refused)
        return _parked(claimed, step, refusal, result)
    if is_degraded(result) and claimed.attempt < deps.max_attempts:
        # Retried rather than accepted, so the answer never depends on a provider's passing outage; what
        # the execution paid for is in the enrichment cache, so the retry does not pay for it again.
        failing = sorted({a.provider for a in result.attempts if failed_transiently(a)})
        result.status, result.output = "failed", None
        result.error = {"code": "provider_unavailable", "message": f"retrying: {', '.join(failing)} failed"}
        return _retry_or_fail(claimed, step, result, f"Provider unavailable: {', '.join(failing)}", deps)
    context = merge_context(claimed.context, result.output, source_of(result))
    if result.status != "failed":
        items = None
        if step.fan_out and spec.fan_out is not None:
            listed = (result.output or {}).get(spec.fan_out.list_key)
            items = [spec.fan_out.child_input(item) for item in listed or [] if isinstance(item, dict)]
        return StepOutcome(claimed, step, "succeeded", context, result=result, fan_out_items=items)
    if is_transient(result):
        return _retry_or_fail(claimed, step, result, f"Operation failed: {spec.operation_id}", deps, context)
    return StepOutcome(
        claimed,
        step,
        "failed",
        context,
        result=result,
        error_message=f"Operation failed: {spec.operation_id}",
        error_details={"operation_id": spec.operation_id, "missing_inputs": result.missing_inputs},
    )


def _parked(
    claimed: ClaimedStep, step: StepDef, exhausted: Exhausted, result: OperationResult | None = None
) -> StepOutcome:
    return StepOutcome(
        claimed,
        step,
        "budget_exhausted",
        claimed.context,
        result=result,
        error_message=exhausted.message,
        error_details=exhausted.details(),
    )


def _retry_or_fail(
    claimed: ClaimedStep,
    step: StepDef,
    result: OperationResult | None,
    message: str,
    deps: RunnerDeps,
    context: dict[str, Any] | None = None,
) -> StepOutcome:
    kind = "retry" if claimed.attempt < deps.max_attempts else "failed"
    details = {"operation_id": step.operation_id, "transient": True, "attempt": claimed.attempt}
    return StepOutcome(
        claimed,
        step,
        kind,
        context or claimed.context,
        result=result,
        error_message=message,
        error_details=details,
    )
