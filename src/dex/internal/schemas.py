"""Bodies and answers of the internal API: the shapes an external
runner written against the original system sends and reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dex.db.base import INTEGER_MAX, INTEGER_MIN
from dex.pipeline.schemas import RunOut, StepResultOut, SubmissionRow
from dex.vocabulary import EntityType

RunStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
StepStatus = Literal["queued", "running", "succeeded", "failed", "skipped", "retrying"]
SubmissionStatus = Literal["received", "validated", "queued", "running", "completed", "failed", "canceled"]


class RunRequest(BaseModel):
    pipeline_run_id: uuid.UUID


class RunStatusUpdate(BaseModel):
    pipeline_run_id: uuid.UUID
    status: RunStatus
    error_message: str | None = None
    error_details: dict[str, Any] | None = None
    trigger_run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class StepUpdate(BaseModel):
    step_result_id: uuid.UUID
    status: StepStatus
    input_payload: dict[str, Any] | None = None
    output_payload: dict[str, Any] | None = None
    error_message: str | None = None
    error_details: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = Field(default=None, ge=0, le=INTEGER_MAX)
    task_run_id: str | None = None


class RemainingSkipped(BaseModel):
    pipeline_run_id: uuid.UUID
    from_step_position: int = Field(ge=INTEGER_MIN, le=INTEGER_MAX)


class SubmissionStatusUpdate(BaseModel):
    submission_id: uuid.UUID
    status: SubmissionStatus


class SubmissionRequest(BaseModel):
    submission_id: uuid.UUID


class FanOutRequest(BaseModel):
    parent_pipeline_run_id: uuid.UUID
    submission_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    # The runner echoes the parent's snapshot; dex uses the parent's own blueprint version instead.
    blueprint_snapshot: dict[str, Any] = Field(default_factory=dict)
    fan_out_entities: list[Any]
    start_from_position: int = Field(ge=INTEGER_MIN, le=INTEGER_MAX)
    parent_cumulative_context: dict[str, Any] | None = None
    fan_out_operation_id: str | None = None
    provider: str | None = None
    provider_attempts: list[dict[str, Any]] | None = None


class EntityUpsertRequest(BaseModel):
    pipeline_run_id: uuid.UUID
    entity_type: EntityType
    cumulative_context: dict[str, Any]
    last_operation_id: str | None = None


class FreshnessRequest(BaseModel):
    entity_type: EntityType
    identifiers: dict[str, Any]
    max_age_hours: float


class StepEventRequest(BaseModel):
    # The runner also sends fields_updated, which (as in the seed system) is derived here instead.
    model_config = ConfigDict(extra="ignore")

    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    pipeline_run_id: uuid.UUID
    entity_type: EntityType
    cumulative_context: dict[str, Any] = Field(default_factory=dict)
    step_result_id: uuid.UUID
    step_position: int = Field(ge=INTEGER_MIN, le=INTEGER_MAX)
    operation_id: str
    step_status: Literal["succeeded", "failed", "skipped"]
    skip_reason: str | None = None
    duration_ms: int | None = Field(default=None, ge=INTEGER_MIN, le=INTEGER_MAX)
    provider_attempts: list[dict[str, Any]] | None = None
    condition: Any = None
    error_message: str | None = None
    error_details: dict[str, Any] | None = None
    operation_result: dict[str, Any] | None = None


class InternalStep(StepResultOut):
    task_run_id: str | None
    # The seed system embedded the legacy ``steps`` row; dex's steps are operations, so it is always null.
    steps: None = None


class InternalRun(RunOut):
    blueprint_snapshot: dict[str, Any]
    submissions: SubmissionRow
    step_results: list[InternalStep]


class ChildRun(BaseModel):
    pipeline_run_id: uuid.UUID
    pipeline_run_status: str
    trigger_run_id: str | None = None
    entity_type: str
    entity_input: dict[str, Any]


class FanOutResult(BaseModel):
    parent_pipeline_run_id: uuid.UUID
    child_runs: list[ChildRun]
    child_run_ids: list[uuid.UUID]
    skipped_duplicates_count: int
    skipped_duplicate_identifiers: list[str | None]


class Freshness(BaseModel):
    fresh: bool
    entity_id: str | None
    last_enriched_at: str | None = None
    age_hours: float | None = None
    canonical_payload: dict[str, Any] | None = None


class StepEventResult(BaseModel):
    attempted: bool
    recorded: bool
    event_id: uuid.UUID | None
    entity_id: uuid.UUID | None
    error: str | None
    metadata: dict[str, Any] | None
