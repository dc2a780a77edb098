"""Executing one operation: missing-input check from the registry, the handler's provider waterfall,
canonical-output validation, and the result object of an execution.

The engine never raises for provider or handler trouble: whatever happens after validation becomes a
``failed`` result with its attempts, so a caller that already paid providers always gets a record."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from dex.config import Settings
from dex.operations.actions import reference_action
from dex.operations.history import EntityHistory
from dex.operations.inputs import OperationInput
from dex.operations.registry import OperationSpec
from dex.providers.base import Attempt, ProviderContext
from dex.providers.journal import CallOrigin

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str
    output: dict[str, Any] | None = None
    # Inputs present but unusable (a value outside the supported ones), reported like absent ones.
    missing_inputs: list[str] = field(default_factory=list)


@dataclass
class Invocation:
    """What a handler gets: the hardened input, step options, the providers, and settings."""

    spec: OperationSpec
    input: OperationInput
    options: dict[str, Any]
    providers: ProviderContext
    settings: Settings
    # The caller's entity history, for operations that read it (change detection); None where unavailable.
    history: EntityHistory | None = None

    def option(self, name: str, default: Any = None) -> Any:
        """A step option: ``options`` first (how dex delivers step_config), then the seed system's
        ``input.step_config``, then the input itself."""
        if name in self.options:
            return self.options[name]
        step_config = self.input.mapping("step_config")
        if name in step_config:
            return step_config[name]
        return self.input.raw.get(name, default)

    def configured(self) -> OperationInput:
        """The input with the spec's declared options filled in where it lacks them (:func:`with_options`),
        read with the input's hardening."""
        return with_options(self.spec, self.input, self.options)

    def provider_order(self) -> list[str]:
        """The spec's providers reordered by its order setting ( split on commas, trim, keep
        only allowed names, fall back to the default when nothing is left)."""
        default = list(self.spec.providers)
        if not self.spec.order_setting:
            return default
        configured = getattr(self.settings, self.spec.order_setting, "") or ""
        chosen = [name.strip().lower() for name in configured.split(",")]
        order = [name for i, name in enumerate(chosen) if name in default and name not in chosen[:i]]
        return order or default


def with_options(spec: OperationSpec, inp: OperationInput, options: dict[str, Any]) -> OperationInput:
    """The input, with each option the operation reads (``spec.options``) filled in from the step options
    or ``input.step_config`` where the input lacks it: a filter given as step configuration counts as
    given, as it did when the original read its filters from ``step_config``."""
    step_config = inp.mapping("step_config")
    given = {}
    for name in spec.options:
        value = options.get(name, step_config.get(name))
        if value is not None:
            given[name] = value
    return OperationInput({**given, **inp.raw}) if given else inp


@dataclass
class OperationResult:
    run_id: uuid.UUID
    operation_id: str
    entity_type: str
    status: str
    output: dict[str, Any] | None = None
    missing_inputs: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    error: dict[str, str] | None = None
    duration_ms: int = 0
    sandbox: bool = False

    @property
    def cost_credits(self) -> Decimal:
        return sum((a.cost_credits for a in self.attempts), Decimal("0"))

    def action_name(self, attempt: Attempt) -> str:
        return reference_action(self.operation_id, attempt.provider, attempt.action, attempt.extra)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": str(self.run_id),
            "operation_id": self.operation_id,
            "status": self.status,
        }
        if self.output is not None:
            data["output"] = self.output
        if self.missing_inputs:
            data["missing_inputs"] = self.missing_inputs
        data["provider_attempts"] = [
            {**attempt.to_dict(), "action": self.action_name(attempt)} for attempt in self.attempts
        ]
        if self.error is not None:
            data["error"] = self.error
        data["cost_credits"] = float(self.cost_credits)
        if self.sandbox:
            data["sandbox"] = True
        return data


async def execute_operation(
    spec: OperationSpec,
    raw_input: Any,
    *,
    providers: ProviderContext,
    settings: Settings,
    options: dict[str, Any] | None = None,
    history: EntityHistory | None = None,
) -> OperationResult:
    started = time.monotonic()
    inp = OperationInput(raw_input if isinstance(raw_input, dict) else {})
    result = OperationResult(
        run_id=uuid.uuid4(),
        operation_id=spec.operation_id,
        entity_type=spec.entity_type,
        status="failed",
        sandbox=providers.sandbox,
    )
    missing = spec.requirements.missing(with_options(spec, inp, options or {}))
    if missing and spec.gate_inputs:
        result.missing_inputs = missing
        return result
    if providers.requester is not None:
        providers.origin = CallOrigin(
            providers.org_id, result.run_id, spec.operation_id, spec.entity_type, providers.requester
        )
    invocation = Invocation(spec, inp, dict(options or {}), providers, settings, history)
    try:
        outcome = await spec.handler(invocation)
        result.status = outcome.status
        result.missing_inputs = outcome.missing_inputs
        if outcome.output is not None:
            result.output = spec.output_contract.model_validate(outcome.output).model_dump(mode="json")
    except ValidationError as exc:
        result.status = "failed"
        result.output = None
        result.error = {"code": "output_validation_failed", "message": str(exc)[:2000]}
    except Exception as exc:
        log.exception("operation %s failed unexpectedly", spec.operation_id)
        result.status = "failed"
        result.error = {"code": "operation_error", "message": type(exc).__name__}
    # The answers are kept before the result goes anywhere (recorded, returned): a step run again after a
    # crash finds them instead of paying for them again.
    await providers.settle()
    result.attempts = list(providers.attempts)
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result
