"""Change detection as an operation: a blueprint step that compares the entity it is about (within the
caller's org) with its previous version, found when something changed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import EntityType, OperationSpec, Requirements

ChangeType = Literal["added", "removed", "increased", "decreased", "changed"]


class FieldChange(BaseModel):
    field: str
    previous_value: Any
    current_value: Any
    change_type: ChangeType
    # Numeric changes only; percent_change is null when the previous value is 0.
    absolute_change: float | None = None
    percent_change: float | None = None


class ChangeReport(BaseModel):
    """The live row against its previous version (the snapshot taken when it was overwritten): the output
    of this operation and the answer of ``POST /api/v1/entities/changes`` alike."""

    entity_type: EntityType
    entity_id: uuid.UUID
    has_changes: bool
    reason: Literal["insufficient_history", "no_changes"] | None
    previous_record_version: int | None
    current_record_version: int
    previous_snapshot_at: datetime | None
    current_snapshot_at: datetime
    changes: list[FieldChange]
    unchanged_fields: list[str]


def fields_to_watch(inv: Invocation) -> list[str] | None:
    watched = inv.option("fields_to_watch")
    if not isinstance(watched, list):
        return None
    return [field.strip() for field in watched if isinstance(field, str) and field.strip()] or None


def detector(entity_type: EntityType) -> Callable[[Invocation], Awaitable[Outcome]]:
    async def detect_changes(inv: Invocation) -> Outcome:
        if inv.history is None:
            return Outcome("failed")
        report = await inv.history.changes(entity_type, inv.input.raw, fields_to_watch(inv))
        if report is None:
            return Outcome("not_found")
        return Outcome("found" if report["has_changes"] else "not_found", report)

    return detect_changes


IDENTIFYING_INPUTS: dict[EntityType, tuple[str, ...]] = {
    "company": (
        "entity_id",
        "company_entity_id",
        "company_domain",
        "company_linkedin_url",
        "company_name",
        "company_profile",
    ),
    "person": ("entity_id", "person_entity_id", "linkedin_url", "work_email", "full_name", "person_profile"),
}

OPERATIONS = [
    OperationSpec(
        operation_id=f"{entity_type}.derive.detect_changes",
        entity_type=entity_type,
        category="derive",
        description=f"What changed on this {entity_type} since its previous version in the caller's "
        "entity history (added, removed, changed, increased, decreased fields); found when something "
        "changed. Option fields_to_watch limits the comparison to those fields.",
        requirements=Requirements(any_of=IDENTIFYING_INPUTS[entity_type]),
        optional_inputs=("fields_to_watch",),
        produces=tuple(ChangeReport.model_fields),
        providers=(),
        strategy="single",
        cost_tier="free",
        output_contract=ChangeReport,
        handler=detector(entity_type),
        options=("fields_to_watch",),
    )
    for entity_type in ("company", "person")
]
