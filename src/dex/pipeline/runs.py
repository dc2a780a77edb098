"""What the unit of work knows of a run while it moves it: its ids, blueprint version, entity type and
depth, and the context a finished run completes with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


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
