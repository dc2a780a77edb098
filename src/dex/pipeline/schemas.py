"""API models of batches plus dex's cancel, resume and paging."""

from __future__ import annotations

import functools
import itertools
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Json, TypeAdapter

from dex.entities.repository import LINEAGE_KEY
from dex.kit.envelopes import JSON_INTEGER_MAX, PageRequest
from dex.usage.schemas import BudgetNeeds, SubmissionUsage
from dex.vocabulary import EntityType

# Which client company a batch runs for; documented once, on both submit endpoints.
SUBMISSION_COMPANY = (
    "The client company the batch runs for. A company-scoped caller's own company always; an org-wide "
    "caller may leave it out when the org has exactly one company (that one is used), and must name one "
    "when the org has several (the 400 error lists them by name and id)."
)


def without_lineage(value: Any) -> Any:
    """A context as clients see it: the pipeline's record of which operation set each field (kept in
    the stored context, and what the entity's field provenance is built from) is not user data. Also
    applied to a step payload's ``cumulative_context``."""
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("cumulative_context"), dict):
        value = {**value, "cumulative_context": without_lineage(value["cumulative_context"])}
    return {key: item for key, item in value.items() if key != LINEAGE_KEY} if LINEAGE_KEY in value else value


# A context (or step payload) in a response.
ClientContext = Annotated[dict[str, Any], AfterValidator(without_lineage)]


class EntityIn(BaseModel):
    entity_type: EntityType
    input: dict[str, Any] = Field(default_factory=dict)


class BatchSubmitRequest(BaseModel):
    blueprint_id: uuid.UUID
    entities: list[EntityIn]
    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = Field(default=None, description=SUBMISSION_COMPANY)
    source: str = "api_v1_batch"
    metadata: dict[str, Any] | None = None


class ProviderEstimate(BaseModel):
    provider: str
    price_credits: float
    expected_calls: float
    max_calls: float
    expected_credits: float
    max_credits: float
    # The org's observed hit rate of this provider, per operation that asks it.
    hit_rates: dict[str, float]


class StepEstimate(BaseModel):
    position: int
    operation_id: str
    strategy: str
    providers: list[str]
    expected_entities: float
    max_entities: float
    expected_credits: float
    max_credits: float


class BatchEstimate(BaseModel):
    """What submitting the same body would cost (dex.pipeline.estimate)."""

    blueprint_id: uuid.UUID
    blueprint_version: int
    entities: int
    # Entities whose first operation the enrichment cache already answers.
    cached_entities: int
    expected_credits: float
    max_credits: float
    by_provider: list[ProviderEstimate]
    steps: list[StepEstimate]
    budget_credits: float | None
    # The org's budget less what is spent and reserved; null without a budget.
    remaining_budget_credits: float | None
    exceeds_remaining_budget: bool


class SubmittedRun(BaseModel):
    entity_index: int
    entity_type: str
    pipeline_run_id: uuid.UUID
    pipeline_run_status: str
    trigger_run_id: str | None = None


class BatchSubmitted(BaseModel):
    submission_id: uuid.UUID
    pipeline_runs: list[SubmittedRun]


# The submitted entities as JSON, straight from their models (stored on the submission).
ENTITIES_JSON = TypeAdapter(list[EntityIn])
# Runs of the response encoded per piece, so no piece holds the whole response twice.
RUNS_PER_PIECE = 1000


@dataclass(frozen=True)
class SubmittedBatch:
    """A submission's root runs in entity order, column by column: what ``BatchSubmitted`` says, for
    batches of any size. A 100k-entity batch answers with 100k runs, and a model (or even a dict) per run
    would take more memory than the batch itself."""

    submission_id: uuid.UUID
    entity_indexes: Sequence[int]
    entity_types: Sequence[str]
    run_ids: Sequence[uuid.UUID]
    statuses: Sequence[str]

    def runs(self) -> Iterator[tuple[int, str, uuid.UUID, str]]:
        return zip(self.entity_indexes, self.entity_types, self.run_ids, self.statuses, strict=True)

    def envelope_json(self) -> memoryview:
        """``{"data": BatchSubmitted}`` as compact JSON, encoded a piece of runs at a time. Ids and numbers
        need no escaping; types and statuses are few, each quoted once."""
        quote = functools.cache(json.dumps)
        body = bytearray(f'{{"data":{{"submission_id":"{self.submission_id}","pipeline_runs":['.encode())
        runs, separator = self.runs(), ""
        while piece := list(itertools.islice(runs, RUNS_PER_PIECE)):
            body += (
                separator
                + ",".join(
                    f'{{"entity_index":{index},"entity_type":{quote(entity_type)},'
                    f'"pipeline_run_id":"{run_id}","pipeline_run_status":{quote(status)},"trigger_run_id":null}}'
                    for index, entity_type, run_id, status in piece
                )
            ).encode()
            separator = ","
        body += b"]}}"
        return memoryview(body)


class BatchStatusRequest(BaseModel):
    submission_id: uuid.UUID
    org_id: uuid.UUID | None = None
    # Root runs per page; each root comes with all its descendants.
    limit: int = Field(default=1000, ge=1, le=10000)
    offset: int = Field(default=0, ge=0, le=JSON_INTEGER_MAX)


class SubmissionOut(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    blueprint_id: uuid.UUID
    status: str
    source: str | None
    metadata: dict[str, Any]
    created_at: Any
    updated_at: Any


class Summary(BaseModel):
    total: int
    completed: int
    failed: int
    pending: int
    running: int


class RunNode(BaseModel):
    entity_index: int | None
    entity_type: str
    pipeline_run_id: uuid.UUID
    parent_pipeline_run_id: uuid.UUID | None
    trigger_run_id: str | None
    status: str
    final_context: ClientContext | None
    error_message: str | None
    children: list[RunNode]


class RootPage(BaseModel):
    limit: int
    offset: int
    total_root_runs: int
    returned: int
    has_more: bool


class BatchStatus(BaseModel):
    submission: SubmissionOut
    summary: Summary
    # Credits spent and saved so far, its budget, and the steps waiting for budget.
    usage: SubmissionUsage
    # While the submission is waiting_for_budget: what it needs to go on.
    budget: BudgetNeeds | None = None
    runs: list[RunNode]
    pagination: RootPage


class BatchEventsRequest(BaseModel):
    submission_id: uuid.UUID
    org_id: uuid.UUID | None = None
    # The stream closes after this long (clients reconnect); 0 sends the snapshot only.
    max_seconds: float = Field(default=300, ge=0, le=3600)


class CsvSubmitFields(BaseModel):
    """What comes with a CSV: the multipart form's fields beside ``file``, or the JSON body's."""

    blueprint_id: uuid.UUID
    company_id: uuid.UUID | None = Field(default=None, description=SUBMISSION_COMPANY)
    org_id: uuid.UUID | None = None
    # CSV header → input key ("" drops the column); a JSON object (a JSON string in a form).
    column_map: Json[dict[str, str]] | dict[str, str] | None = None


class CsvSubmitRequest(CsvSubmitFields):
    """The JSON form of ``submit-csv``, for clients that do not send multipart bodies."""

    csv: str
    filename: str | None = None


class RejectedRowOut(BaseModel):
    row_number: int
    reason: str


class IngestReport(BaseModel):
    filename: str | None
    encoding: str
    delimiter: str
    # CSV header → the input key its values went to ("" = dropped).
    columns: dict[str, str]
    accepted: int
    duplicates: int
    rejected_count: int
    # Rejected and collapsed rows by row number (the header is row 1), at most 10,000 of them.
    rejected: list[RejectedRowOut]


class CsvSubmitted(IngestReport):
    submission_id: uuid.UUID


class RejectionsRequest(BaseModel):
    submission_id: uuid.UUID
    org_id: uuid.UUID | None = None
    format: Literal["json", "csv"] = "json"


class Rejections(BaseModel):
    submission_id: uuid.UUID
    # Null for batches that did not come from a CSV.
    ingest_report: IngestReport | None


class SubmissionRef(BaseModel):
    submission_id: uuid.UUID
    org_id: uuid.UUID | None = None


class ResumeRequest(BaseModel):
    """Resume one failed run, or every failed run of a submission."""

    pipeline_run_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None


class CancelResult(BaseModel):
    submission_id: uuid.UUID
    status: str
    canceled_runs: int
    skipped_steps: int


class ResumeResult(BaseModel):
    resumed_run_ids: list[uuid.UUID]


class IdRequest(BaseModel):
    id: uuid.UUID


class SubmissionListRequest(PageRequest):
    company_id: uuid.UUID | None = None
    blueprint_id: uuid.UUID | None = None
    status: str | None = None


class RunListRequest(PageRequest):
    submission_id: uuid.UUID | None = None
    status: str | None = None


class StepListRequest(BaseModel):
    pipeline_run_id: uuid.UUID


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    blueprint_id: uuid.UUID
    blueprint_version: int
    parent_pipeline_run_id: uuid.UUID | None
    trigger_run_id: str | None
    entity_index: int | None
    entity_type: str
    entity_input: ClientContext
    start_from_position: int
    status: str
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    error_message: str | None
    error_details: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class StepResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    # Null for a step the run has not reached yet: dex writes its row then (see ``pipeline.views``).
    id: uuid.UUID | None
    org_id: uuid.UUID
    company_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    submission_id: uuid.UUID
    step_id: uuid.UUID | None
    blueprint_step_id: uuid.UUID | None
    step_position: int
    operation_id: str | None
    task_run_id: str | None
    status: str
    attempt: int
    input_payload: ClientContext | None
    output_payload: ClientContext | None
    error_message: str | None
    error_details: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    created_at: datetime
    updated_at: datetime


class RunWithSteps(RunOut):
    # The blueprint version the run executes, with its ``entity`` (and ``fan_out`` origin for a child).
    blueprint_snapshot: dict[str, Any]
    step_results: list[StepResultOut]


class SubmissionRow(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    blueprint_id: uuid.UUID
    submitted_by_user_id: uuid.UUID | None
    source: str | None
    status: str
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    runs_total: int
    runs_running: int
    runs_succeeded: int
    runs_failed: int
    runs_canceled: int
    canceled_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SubmissionWithRuns(SubmissionRow):
    # What was submitted: ``{"entities": [...]}`` for a batch, the payload itself for a single submission.
    input_payload: dict[str, Any] | list[Any]
    pipeline_runs: list[RunOut]


class SubmissionCreateRequest(BaseModel):
    """One payload, one run (``/api/submissions/create``); a company-scoped caller's company is its own."""

    company_id: uuid.UUID | None = None
    blueprint_id: uuid.UUID
    input_payload: dict[str, Any] | list[Any]
    source: str | None = None
    metadata: dict[str, Any] | None = None


class SuperAdminSubmissionCreateRequest(SubmissionCreateRequest):
    org_id: uuid.UUID
    company_id: uuid.UUID


class SubmissionCreated(BaseModel):
    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    pipeline_run_status: str
    trigger_run_id: str | None


class RetryRequest(BaseModel):
    submission_id: uuid.UUID


class RetriedRun(BaseModel):
    entity_index: int | None
    pipeline_run_id: uuid.UUID
    pipeline_run_status: str


class Retried(BaseModel):
    """The first new run in the original's fields, then every new run (a batch has one per entity)."""

    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID | None
    pipeline_run_status: str | None
    trigger_run_id: str | None
    attempt: int
    pipeline_runs: list[RetriedRun]


class SuperAdminSubmissionListRequest(SubmissionListRequest):
    org_id: uuid.UUID | None = None


class SuperAdminRunListRequest(RunListRequest):
    org_id: uuid.UUID | None = None
