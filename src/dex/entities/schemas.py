"""API models of entity queries, change detection and export.

Every request may carry ``org_id``: a super-admin must (it names the org the request runs in); a tenant may
only name its own org. Rows are returned as stored, as in the seed system.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from dex.entities import provenance
from dex.kit.envelopes import JSON_INTEGER_MAX
from dex.vocabulary import EntityType

ExportFormat = Literal["csv", "jsonl"]

T = TypeVar("T")

# Each field's source, read back from the sources an entity stores (``dex.entities.provenance``).
FieldProvenance = Annotated[dict[str, Any], BeforeValidator(provenance.expand)]


class OrgChoice(BaseModel):
    org_id: uuid.UUID | None = None


class CursorPageRequest(OrgChoice):
    """``page``/``per_page`` as in the seed system, or ``cursor``: the previous page's ``next_cursor``, which
    keeps paging stable while rows are being added (a cursor, when given, wins over ``page``)."""

    page: int = Field(default=1, ge=1, le=JSON_INTEGER_MAX)
    per_page: int = Field(default=25, ge=1, le=100)
    cursor: str | None = None


class CompanyQuery(CursorPageRequest):
    company_id: uuid.UUID | None = None
    canonical_domain: str | None = None
    industry: str | None = None


class PersonQuery(CursorPageRequest):
    company_id: uuid.UUID | None = None
    work_email: str | None = None
    linkedin_url: str | None = None
    title: str | None = None
    seniority: str | None = None
    department: str | None = None


class TimelineQuery(CursorPageRequest):
    entity_type: EntityType
    entity_id: uuid.UUID
    pipeline_run_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    event_type: str | None = None


class SnapshotQuery(OrgChoice):
    entity_type: EntityType
    entity_id: uuid.UUID
    limit: int = Field(default=10, ge=1, le=100)


class ChangesRequest(OrgChoice):
    entity_type: EntityType
    entity_id: uuid.UUID
    fields_to_watch: list[str] | None = None


class ExportRequest(OrgChoice):
    entity_type: EntityType
    format: ExportFormat = "csv"
    # Rows updated at or after this instant (incremental exports); all rows without it.
    updated_since: AwareDatetime | None = None


class CursorPagination(BaseModel):
    page: int
    per_page: int
    returned: int
    total: int
    next_cursor: str | None


class EntityPage(BaseModel, Generic[T]):
    items: list[T]
    pagination: CursorPagination


class CompanyEntityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    org_id: uuid.UUID
    entity_id: uuid.UUID
    company_id: uuid.UUID | None
    canonical_domain: str | None
    canonical_name: str | None
    linkedin_url: str | None
    industry: str | None
    employee_count: int | None
    employee_range: str | None
    revenue_band: str | None
    hq_country: str | None
    description: str | None
    enrichment_confidence: float | None
    source_providers: list[str] | None
    last_enriched_at: datetime | None
    last_operation_id: str | None
    last_run_id: uuid.UUID | None
    record_version: int
    canonical_payload: dict[str, Any] | None
    field_provenance: FieldProvenance
    created_at: datetime
    updated_at: datetime


class PersonEntityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    org_id: uuid.UUID
    entity_id: uuid.UUID
    company_id: uuid.UUID | None
    full_name: str | None
    first_name: str | None
    last_name: str | None
    linkedin_url: str | None
    title: str | None
    seniority: str | None
    department: str | None
    work_email: str | None
    email_status: str | None
    phone_e164: str | None
    contact_confidence: float | None
    company_domain: str | None
    last_enriched_at: datetime | None
    last_operation_id: str | None
    last_run_id: uuid.UUID | None
    record_version: int
    canonical_payload: dict[str, Any] | None
    field_provenance: FieldProvenance
    created_at: datetime
    updated_at: datetime


class TimelineEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    entity_type: EntityType
    entity_id: uuid.UUID
    operation_id: str
    pipeline_run_id: uuid.UUID | None
    submission_id: uuid.UUID | None
    step_result_id: uuid.UUID | None
    provider: str | None
    status: str
    fields_updated: list[str] | None
    summary: str | None
    # The ORM attribute is ``metadata_`` (``metadata`` is taken on declarative models).
    metadata: dict[str, Any] | None = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: datetime


class TimelinePage(EntityPage[TimelineEventOut]):
    entity_type: EntityType
    entity_id: uuid.UUID


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    entity_type: EntityType
    entity_id: uuid.UUID
    record_version: int
    canonical_payload: dict[str, Any]
    captured_at: datetime
    source_run_id: uuid.UUID | None


class SnapshotList(BaseModel):
    entity_type: EntityType
    entity_id: uuid.UUID
    items: list[SnapshotOut]
    returned: int
    total: int
