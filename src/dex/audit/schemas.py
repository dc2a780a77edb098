"""Request and response bodies of ``POST /api/v1/audit/list``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dex.kit.envelopes import PageRequest


class AuditListRequest(PageRequest):
    # Super-admins: one org's events (omitted: every org's, and those outside any org). Tenants: their own.
    org_id: uuid.UUID | None = None
    action: str | None = Field(default=None, max_length=100, description="e.g. login.failed, user.created")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    org_id: uuid.UUID | None
    actor_type: str
    actor_id: uuid.UUID | None
    actor_email: str | None
    client_address: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
