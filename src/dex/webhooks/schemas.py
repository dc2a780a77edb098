"""API models of webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from dex.kit.envelopes import PageRequest

EventType = Literal["submission.completed", "run.completed", "run.failed"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


class EndpointCreate(BaseModel):
    org_id: uuid.UUID | None = None
    url: str = Field(min_length=1, max_length=2048)
    events: list[EventType] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    description: str | None
    events: list[str] = Field(validation_alias=AliasChoices("event_types", "events"))
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    # Shown once: dex never returns it again. Receivers verify signatures with it.
    secret: str


class EndpointListRequest(PageRequest):
    org_id: uuid.UUID | None = None


class EndpointRef(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID | None = None


class Deleted(BaseModel):
    id: uuid.UUID
    deleted: bool


class DeliveryListRequest(PageRequest):
    org_id: uuid.UUID | None = None
    endpoint_id: uuid.UUID | None = None
    status: DeliveryStatus | None = None
    event_type: EventType | None = None


class DeliveryAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    response_status: int | None
    error: str | None
    duration_ms: int
    response_body: str | None
    created_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    # Every HTTP attempt, oldest first.
    attempt_log: list[DeliveryAttemptOut] = Field(default_factory=list)


class RedeliverRequest(BaseModel):
    delivery_id: uuid.UUID
    org_id: uuid.UUID | None = None
