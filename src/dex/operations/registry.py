"""The operation registry: one declarative entry per operation, the single source that execute, blueprint
validation, the assembler, coverage and the docs all read.

Requirement expressions follow the seed system: ``a|b`` = any alternative, ``a+b`` = all parts.
``all_of`` lists expressions that must all hold; ``any_of`` lists expressions of which one must hold.
Operation families live in ``dex.operations.catalog.*``; each module exports ``OPERATIONS``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from dex.vocabulary import EntityType

if TYPE_CHECKING:
    from dex.operations.engine import Invocation, Outcome

Strategy = Literal["waterfall", "merge", "accumulate", "single", "parallel"]
CostTier = Literal["free", "low", "medium", "high"]
COST_RANK = {"free": 0, "low": 1, "medium": 2, "high": 3}


class HasFields(Protocol):
    """What a requirement check asks of its input: whether a field is present. An ``OperationInput`` is
    one; the blueprint assembler checks plain sets of field names through another."""

    def has(self, key: str) -> bool: ...


def expression_satisfied(expression: str, inp: HasFields) -> bool:
    return any(all(inp.has(part) for part in alternative.split("+")) for alternative in expression.split("|"))


@dataclass(frozen=True)
class Requirements:
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def missing(self, inp: HasFields) -> list[str]:
        """The unsatisfied expressions, in declaration order (the missing-input convention)."""
        missing = [expr for expr in self.all_of if not expression_satisfied(expr, inp)]
        if self.any_of and not any(expression_satisfied(expr, inp) for expr in self.any_of):
            missing.append("|".join(self.any_of))
        return missing

    def fields(self) -> set[str]:
        return {
            part
            for expr in (*self.all_of, *self.any_of)
            for alternative in expr.split("|")
            for part in alternative.split("+")
        }


@dataclass(frozen=True)
class FanOut:
    """Where an operation's output lists the entities a fan-out step turns into child runs."""

    list_key: str
    child_entity_type: EntityType
    # Item keys renamed to the child's canonical input keys (e.g. customer_domain → company_domain).
    item_aliases: tuple[tuple[str, str], ...] = ()
    # Item keys a child does not inherit (e.g. a provider's own item, kept for the client only).
    item_omitted: tuple[str, ...] = ()

    def child_input(self, item: dict[str, Any]) -> dict[str, Any]:
        renamed = {key: value for key, value in item.items() if key not in self.item_omitted}
        for source, target in self.item_aliases:
            if renamed.get(target) in (None, "") and item.get(source) not in (None, ""):
                renamed[target] = item[source]
        return renamed


@dataclass(frozen=True)
class OperationSpec:
    operation_id: str
    entity_type: EntityType
    category: str
    description: str
    requirements: Requirements
    produces: tuple[str, ...]
    providers: tuple[str, ...]
    strategy: Strategy
    cost_tier: CostTier
    output_contract: type[BaseModel]
    handler: Callable[[Invocation], Awaitable[Outcome]]
    optional_inputs: tuple[str, ...] = ()
    fan_out: FanOut | None = None
    # The settings attribute that reorders ``providers``, if any.
    order_setting: str | None = None
    options: tuple[str, ...] = field(default=())
    # Whether missing required inputs stop the operation before any provider is asked. When False the
    # requirements only guide blueprint validation and assembly; each provider skips what it cannot use.
    gate_inputs: bool = True

    def describe(self) -> dict[str, Any]:
        """The registry entry as served by ``POST /api/v1/registry/operations``."""
        return {
            "operation_id": self.operation_id,
            "entity_type": self.entity_type,
            "category": self.category,
            "description": self.description,
            "required_inputs": {
                "all_of": list(self.requirements.all_of),
                "any_of": list(self.requirements.any_of),
                "optional": list(self.optional_inputs),
            },
            "produces": list(self.produces),
            "supports_fan_out": self.fan_out is not None,
            "fan_out_list_key": self.fan_out.list_key if self.fan_out else None,
            "fan_out_entity_type": self.fan_out.child_entity_type if self.fan_out else None,
            "providers": list(self.providers),
            "provider_order_setting": self.order_setting.upper() if self.order_setting else None,
            "strategy": self.strategy,
            "cost_tier": self.cost_tier,
            "options": list(self.options),
        }


def _discover() -> dict[str, OperationSpec]:
    from dex.operations import catalog

    registry: dict[str, OperationSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(catalog.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{catalog.__name__}.{module_info.name}")
        for spec in getattr(module, "OPERATIONS", ()):
            if spec.operation_id in registry:
                raise RuntimeError(f"operation {spec.operation_id} is registered twice")
            registry[spec.operation_id] = spec
    return dict(sorted(registry.items()))


_REGISTRY: dict[str, OperationSpec] | None = None


def registry() -> dict[str, OperationSpec]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _discover()
    return _REGISTRY


def get_operation(operation_id: str) -> OperationSpec | None:
    return registry().get(operation_id)
