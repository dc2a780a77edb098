"""API models of blueprints (plus dex's entity_type and version)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dex.db.base import INTEGER_MAX
from dex.kit.envelopes import PageRequest
from dex.vocabulary import EntityType


class BlueprintStepIn(BaseModel):
    position: int = Field(gt=0, le=INTEGER_MAX)
    operation_id: str | None = None
    step_id: uuid.UUID | None = None
    step_config: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    fan_out: bool = False
    is_enabled: bool = True


class BlueprintCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    entity_type: EntityType | None = None
    steps: list[BlueprintStepIn] = Field(default_factory=list)


class SuperAdminBlueprintCreate(BlueprintCreate):
    org_id: uuid.UUID


class BlueprintUpdate(BaseModel):
    id: uuid.UUID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    is_active: bool | None = None
    entity_type: EntityType | None = None
    steps: list[BlueprintStepIn] | None = None


class BlueprintGet(BaseModel):
    id: uuid.UUID


class BlueprintList(PageRequest):
    pass


class SuperAdminBlueprintList(PageRequest):
    org_id: uuid.UUID | None = None


class BlueprintStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    blueprint_id: uuid.UUID
    step_id: uuid.UUID | None
    position: int
    config: dict[str, Any]
    is_enabled: bool
    operation_id: str | None
    step_config: dict[str, Any] | None
    fan_out: bool
    created_at: datetime
    updated_at: datetime


class BlueprintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    description: str | None
    is_active: bool
    entity_type: EntityType | None
    version: int
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class BlueprintWithSteps(BlueprintOut):
    blueprint_steps: list[BlueprintStepOut]
