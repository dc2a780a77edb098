"""Fan-out: the child runs a search step's results become, for dex's executor and for the compatibility
runner alike (both hand their items to :func:`spawn_children`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dex.entities import timeline
from dex.entities.identity import UNIQUE_KEYS, resolve_identity
from dex.pipeline.plan import StepDef
from dex.pipeline.runs import RunRef

if TYPE_CHECKING:
    from dex.pipeline.progress import Progress


@dataclass
class FanOutRecord:
    parent: RunRef
    step_result_id: uuid.UUID
    step: StepDef
    start_from_position: int
    parent_context: dict[str, Any]
    children: list[tuple[RunRef, dict[str, Any], str | None]] = field(default_factory=list)
    provider_attempts: list[dict[str, Any]] = field(default_factory=list)
    # Where the answers left out of ``provider_attempts`` are (``attempts_without_answers`` of
    # ``dex.operations.repository``).
    answers_reference: dict[str, str] = field(default_factory=dict)


def dedup_key(org_id: uuid.UUID, entity_type: str, context: dict[str, Any]) -> str | None:
    """A child's identity within its submission: its strongest *unique* natural key, if any."""
    identity = resolve_identity(org_id, entity_type, {k: v for k, v in context.items() if k != "entity_id"})
    if identity is None:
        return None
    for column, value in identity.natural_keys:
        if column in UNIQUE_KEYS[entity_type] or (entity_type == "company" and column == "linkedin_url"):
            return f"{entity_type}:{column}:{value}"
    return None


def spawn_children(
    progress: Progress, record: FanOutRecord, items: Iterable[tuple[int, str, dict[str, Any]]]
) -> None:
    """Each ``(index, entity_type, context)`` item becomes a child run of ``record.parent`` from the
    record's start position; duplicates within the submission are dropped when the runs are inserted."""
    parent = record.parent
    discovery = {
        "operation_id": record.step.operation_id,
        "provider": timeline.chosen_provider(record.provider_attempts),
    }
    for index, entity_type, context in items:
        child = replace(parent, run_id=uuid.uuid4(), entity_type=entity_type, depth=parent.depth + 1)
        key = dedup_key(parent.org_id, entity_type, context)
        record.children.append((child, context, key))
        row = progress.run_row(
            child,
            context,
            index=index,
            start=record.start_from_position,
            parent=parent.run_id,
            dedup=key,
            discovery=discovery,
        )
        progress.start_run(child, row)
    progress.add_fan_out(record)
