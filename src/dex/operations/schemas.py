"""API models of the operation engine."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class ExecuteRequest(BaseModel):
    operation_id: str
    entity_type: Literal["person", "company"]
    input: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] | None = None
    # Super-admin callers name the tenant they act for.
    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


class ProviderAttemptOut(BaseModel, extra="allow"):
    provider: str
    action: str
    status: str


class OperationResultOut(BaseModel):
    run_id: str
    operation_id: str
    status: str
    output: dict[str, Any] | None = None
    missing_inputs: list[str] | None = None
    provider_attempts: list[ProviderAttemptOut]
    error: dict[str, str] | None = None
    cost_credits: float
    sandbox: bool | None = None


class RegistryRequest(BaseModel):
    entity_type: Literal["person", "company"] | None = None
    produces_field: str | None = None


class RegistryOut(BaseModel):
    operations: list[dict[str, Any]]
    count: int
