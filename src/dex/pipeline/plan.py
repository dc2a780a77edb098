"""What a run does next, decided from its blueprint version and its context — no I/O.

``advance`` walks the steps after a position: a step whose condition does not hold is skipped
(``condition_not_met``) and the walk goes on; a skipped fan-out step skips everything after it
(``parent_step_condition_not_met``) and the run is complete; the first step that should run is the one to
queue. Step rows are created only as a run reaches them, so a 100k-entity batch writes one row per run at
submit, not one per step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from dex.pipeline.conditions import evaluate

# step_config keys the runner interprets; everything else is an option delivered to the operation.
CONTROL_KEYS = frozenset({"condition", "fan_out", "skip_if_fresh"})


@dataclass(frozen=True)
class StepDef:
    position: int
    operation_id: str | None
    blueprint_step_id: uuid.UUID | None
    step_config: dict[str, Any]
    fan_out: bool
    top_level_condition: Any = None

    @property
    def condition(self) -> Any:
        """``step_config.condition`` when the key is present (explicit null = none), else a top-level one."""
        if "condition" in self.step_config:
            return self.step_config["condition"]
        return self.top_level_condition

    @property
    def options(self) -> dict[str, Any]:
        return {key: value for key, value in self.step_config.items() if key not in CONTROL_KEYS}

    @property
    def skip_if_fresh(self) -> tuple[float, list[str]] | None:
        """``(max_age_hours, identity_fields)`` when validly configured (invalid shapes disable it)."""
        config = self.step_config.get("skip_if_fresh")
        if not isinstance(config, dict):
            return None
        hours, fields = config.get("max_age_hours"), config.get("identity_fields")
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
            return None
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
            return None
        return float(hours), list(fields)


@dataclass(frozen=True)
class Plan:
    """A blueprint version's enabled steps, in position order."""

    version_id: uuid.UUID
    steps: tuple[StepDef, ...]

    @classmethod
    def from_snapshot(cls, version_id: uuid.UUID, snapshot: dict[str, Any]) -> Plan:
        steps = []
        for raw in snapshot.get("steps", []):
            if raw.get("is_enabled") is False:
                continue
            step_config = raw.get("step_config") if isinstance(raw.get("step_config"), dict) else {}
            steps.append(
                StepDef(
                    position=int(raw["position"]),
                    operation_id=raw.get("operation_id"),
                    blueprint_step_id=uuid.UUID(raw["id"]) if raw.get("id") else None,
                    step_config=step_config,
                    fan_out=bool(raw.get("fan_out")) or step_config.get("fan_out") is True,
                    top_level_condition=raw.get("condition"),
                )
            )
        return cls(version_id, tuple(sorted(steps, key=lambda s: s.position)))

    def step(self, position: int) -> StepDef:
        return next(step for step in self.steps if step.position == position)

    def after(self, position: int) -> list[StepDef]:
        return [step for step in self.steps if step.position > position]

    def from_position(self, position: int) -> list[StepDef]:
        return [step for step in self.steps if step.position >= position]


@dataclass
class StepRow:
    """A step_results row to insert."""

    step: StepDef
    status: str  # queued | skipped
    input_payload: dict[str, Any]
    output_payload: dict[str, Any] | None = None
    skip_reason: str | None = None


@dataclass
class Advance:
    rows: list[StepRow] = field(default_factory=list)
    # True when no step is left to run: the run is complete.
    complete: bool = False


def skipped_row(step: StepDef, context: dict[str, Any], reason: str, metadata: dict[str, Any]) -> StepRow:
    return StepRow(
        step,
        "skipped",
        context,
        # Its cumulative context is its input context: the insert adds it (``repository.INSERT_STEPS``).
        {"skip_reason": reason, "metadata": metadata},
        reason,
    )


def skip_all(
    steps: list[StepDef], context: dict[str, Any], reason: str, metadata: dict[str, Any]
) -> list[StepRow]:
    return [skipped_row(step, context, reason, metadata) for step in steps]


def advance(steps: list[StepDef], context: dict[str, Any]) -> Advance:
    """Rows for ``steps`` (the remaining ones, in order) until one must run."""
    result = Advance()
    for index, step in enumerate(steps):
        if evaluate(step.condition, context):
            result.rows.append(StepRow(step, "queued", context))
            return result
        metadata = {
            "condition": step.condition,
            "step_position": step.position,
            "operation_id": step.operation_id,
        }
        result.rows.append(skipped_row(step, context, "condition_not_met", metadata))
        if step.fan_out:
            parent = {
                "parent_step_position": step.position,
                "parent_operation_id": step.operation_id,
                "parent_condition": step.condition,
            }
            result.rows += skip_all(steps[index + 1 :], context, "parent_step_condition_not_met", parent)
            break
    result.complete = True
    return result
