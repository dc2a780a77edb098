"""What a batch will cost before it is submitted (``POST /api/v1/batch/estimate``, ``dex submit
--estimate``).

The blueprint's steps are walked in order with two entity counts: the *maximum* (every provider of every
operation is asked, every fan-out returns its full limit, every condition holds) and the *expected*
(what the org's own history says):

- a waterfall (or single-provider) operation asks its next provider only when the ones before it found
  nothing, so each provider's chance of being asked is the product of the misses before it; operations
  that merge or accumulate may ask all their providers;
- a provider's hit rate is the share of the org's recent attempts of that operation with that provider
  that found something (``DEFAULT_HIT_RATE`` with fewer than ``MIN_OBSERVATIONS``); the share of them the
  enrichment cache answered costs nothing;
- a fan-out step makes as many children as the org's past runs of its operation found on average (at
  most its limit: the step's ``max_results``/``limit``); a step with a condition runs for the share of
  entities the step before it succeeded for;
- entities whose first operation already ran on the same input within the cache's lifetime are answered
  from the cache, so their first step costs nothing.

Prices are the provider catalog's (``DEX_PROVIDER_PRICES`` included). The estimate also states the
org's and its remaining budget, so a caller can ask before spending beyond it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.service import version_for_submission
from dex.db.queries import dumps
from dex.errors import BadRequest
from dex.operations.catalog.search import DEFAULT_LIMIT, MAX_LIMIT
from dex.operations.registry import OperationSpec, get_operation
from dex.pipeline.plan import StepDef
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import BatchSubmitRequest
from dex.pipeline.service import submission_company
from dex.providers.base import FOUND_TTL
from dex.providers.catalog import price_of
from dex.tenancy.context import AuthContext

DEFAULT_HIT_RATE = 0.5
MIN_OBSERVATIONS = 5
# How much history the observed rates come from: the org's most recent attempts and fan-out runs.
RECENT_ATTEMPTS = 20_000
RECENT_FAN_OUTS = 2_000
ASKS_IN_ORDER = ("waterfall", "single")

OBSERVED_ATTEMPTS = text(
    """
    SELECT r.operation_id, a.provider, count(*) AS attempts,
           count(*) FILTER (WHERE a.status IN ('found', 'verified')) AS hits,
           count(*) FILTER (WHERE a.cached) AS cached
    FROM (
        SELECT run_id, provider, status, cached FROM operation_attempts
        WHERE org_id = :org_id AND status <> 'skipped' ORDER BY created_at DESC LIMIT :recent
    ) a
    JOIN operation_runs r ON r.run_id = a.run_id
    GROUP BY r.operation_id, a.provider
    """
)
OBSERVED_CHILDREN = text(
    """
    SELECT avg(jsonb_array_length(output_payload -> :list_key)) FROM (
        SELECT output_payload FROM operation_runs
        WHERE org_id = :org_id AND operation_id = :operation_id AND status = 'found'
          AND jsonb_typeof(output_payload -> :list_key) = 'array'
        ORDER BY created_at DESC LIMIT :recent
    ) found
    """
)
# Entities whose first operation already ran on the same input (its run's context holds every field of
# the entity's input) and did not fail, within the cache's lifetime.
CACHED_INPUTS = text(
    """
    SELECT count(*) FROM jsonb_array_elements(CAST(:inputs AS jsonb)) AS entity(input)
    WHERE EXISTS (
        SELECT 1 FROM operation_runs r
        WHERE r.org_id = :org_id AND r.operation_id = :operation_id AND r.status <> 'failed'
          AND r.created_at > now() - make_interval(secs => :ttl)
          AND COALESCE(
              r.input_payload, (SELECT s.input_payload FROM step_results s WHERE s.id = r.step_result_id)
          ) @> entity.input
    )
    """
)
REMAINING_BUDGET = text(
    """
    SELECT o.budget_credits,
           COALESCE(os.spent_credits, 0) + COALESCE(os.reserved_credits, 0) AS committed
    FROM orgs o LEFT JOIN org_spend os ON os.org_id = o.id WHERE o.id = :org_id
    """
)


@dataclass(frozen=True)
class Observed:
    attempts: int
    hits: int
    cached: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.attempts if self.attempts >= MIN_OBSERVATIONS else DEFAULT_HIT_RATE

    @property
    def cached_share(self) -> float:
        return self.cached / self.attempts if self.attempts >= MIN_OBSERVATIONS else 0.0


NOTHING_OBSERVED = Observed(0, 0, 0)


@dataclass
class ProviderTotals:
    price: Decimal
    expected_calls: float = 0.0
    max_calls: float = 0.0
    hit_rates: dict[str, float] = field(default_factory=dict)

    def view(self, provider: str) -> dict[str, Any]:
        return {
            "provider": provider,
            "price_credits": float(self.price),
            "expected_calls": round(self.expected_calls, 2),
            "max_calls": round(self.max_calls),
            "expected_credits": _credits(self.expected_calls * float(self.price)),
            "max_credits": _credits(self.max_calls * float(self.price)),
            "hit_rates": {operation: round(rate, 3) for operation, rate in self.hit_rates.items()},
        }


def _credits(value: float) -> float:
    return round(value, 4)


def fan_out_limit(step: StepDef) -> int:
    """The most children one run of a fan-out step can make (its ``max_results``, else ``limit``)."""
    for key in ("max_results", "limit"):
        value = step.options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return min(value, MAX_LIMIT)
    return DEFAULT_LIMIT


def success_rate(spec: OperationSpec, observed: dict[tuple[str, str], Observed]) -> float:
    """The chance that some provider of the operation finds something."""
    miss = 1.0
    for provider in spec.providers:
        miss *= 1 - observed.get((spec.operation_id, provider), NOTHING_OBSERVED).hit_rate
    return 1 - miss


async def estimate(
    session: AsyncSession, scope: AuthContext, body: BatchSubmitRequest, *, plans: PlanCache
) -> dict[str, Any]:
    """The expected and the maximum credits of submitting ``body``, per provider, per step and in total."""
    if not body.entities:
        raise BadRequest("entities must contain at least one entity")
    await submission_company(session, scope, body.company_id)
    version = await version_for_submission(session, scope.org_id, body.blueprint_id)
    plan = await plans.get(session, version.id)
    observed = {
        (row.operation_id, row.provider): Observed(row.attempts, row.hits, row.cached)
        for row in await session.execute(
            OBSERVED_ATTEMPTS, {"org_id": scope.org_id, "recent": RECENT_ATTEMPTS}
        )
    }
    entities = len(body.entities)
    expected, maximum = float(entities), float(entities)
    cached_entities = 0
    providers: dict[str, ProviderTotals] = {}
    steps = []
    previous_success = 1.0
    for index, step in enumerate(plan.steps):
        spec = get_operation(step.operation_id or "")
        if spec is None:
            continue
        runs = expected * (previous_success if step.condition is not None else 1.0)
        paying = runs
        if index == 0 and entities:
            cached_entities = await _cached_entities(session, scope.org_id, spec, body)
            paying = runs * (entities - cached_entities) / entities
        reached = 1.0  # the chance a provider of an in-order operation is asked at all
        by_operation: defaultdict[str, float] = defaultdict(float)
        for provider in spec.providers:
            price = price_of(provider, "*")
            seen = observed.get((spec.operation_id, provider), NOTHING_OBSERVED)
            totals = providers.setdefault(provider, ProviderTotals(price))
            totals.hit_rates[spec.operation_id] = seen.hit_rate
            asked = paying * reached * (1 - seen.cached_share)
            totals.expected_calls += asked
            totals.max_calls += maximum
            by_operation["expected"] += asked * float(price)
            by_operation["max"] += maximum * float(price)
            if spec.strategy in ASKS_IN_ORDER:
                reached *= 1 - seen.hit_rate
                if spec.strategy == "single":
                    reached = 0.0
        step_expected, step_max = by_operation["expected"], by_operation["max"]
        steps.append(
            {
                "position": step.position,
                "operation_id": spec.operation_id,
                "strategy": spec.strategy,
                "providers": list(spec.providers),
                "expected_entities": round(runs, 2),
                "max_entities": round(maximum),
                "expected_credits": _credits(step_expected),
                "max_credits": _credits(step_max),
            }
        )
        previous_success = success_rate(spec, observed)
        if step.fan_out and spec.fan_out is not None:
            limit = fan_out_limit(step)
            children = await session.scalar(
                OBSERVED_CHILDREN,
                {
                    "org_id": scope.org_id,
                    "operation_id": spec.operation_id,
                    "list_key": spec.fan_out.list_key,
                    "recent": RECENT_FAN_OUTS,
                },
            )
            per_parent = min(float(children), limit) if children is not None else float(limit)
            expected, maximum = runs * previous_success * per_parent, maximum * limit
            previous_success = 1.0
    by_provider = [totals.view(name) for name, totals in providers.items()]
    total_expected = _credits(sum(p["expected_credits"] for p in by_provider))
    total_max = _credits(sum(p["max_credits"] for p in by_provider))
    budget = (await session.execute(REMAINING_BUDGET, {"org_id": scope.org_id})).one()
    remaining = (
        None if budget.budget_credits is None else max(0.0, float(budget.budget_credits - budget.committed))
    )
    return {
        "blueprint_id": body.blueprint_id,
        "blueprint_version": version.version,
        "entities": entities,
        "cached_entities": cached_entities,
        "expected_credits": total_expected,
        "max_credits": total_max,
        "by_provider": sorted(by_provider, key=lambda p: (-p["max_credits"], p["provider"])),
        "steps": steps,
        "budget_credits": None if budget.budget_credits is None else float(budget.budget_credits),
        "remaining_budget_credits": remaining,
        "exceeds_remaining_budget": remaining is not None and total_expected > remaining,
    }


async def _cached_entities(
    session: AsyncSession, org_id: uuid.UUID, spec: OperationSpec, body: BatchSubmitRequest
) -> int:
    inputs = [entity.input for entity in body.entities]
    found = await session.scalar(
        CACHED_INPUTS,
        {
            "inputs": dumps(inputs),
            "org_id": org_id,
            "operation_id": spec.operation_id,
            "ttl": FOUND_TTL.total_seconds(),
        },
    )
    return int(found or 0)
