"""CSV ingestion: a spreadsheet export becomes a batch, one entity per row, and every row that cannot be
submitted is reported with its row number and reason — a bad row never sinks the good ones.

Reading the file is :mod:`dex.pipeline.spreadsheet`'s (the CLI reads one before sending it, without the
server's modules). Checking (:func:`check_rows`) is per row, against the blueprint the batch runs: a row is
rejected when a value of a known kind is malformed (an email without ``@``…) or when it lacks the inputs of
the first step it would run (it would fail there at once). Rows naming the same entity (same domain,
email, LinkedIn URL, or identical rows) are collapsed into the first one; each collapsed row is reported
too.

:func:`submit_csv` is what ``POST /api/v1/batch/submit-csv`` and ``dex submit`` use; the report is kept
on the submission (``ingest_report``) for ``POST /api/v1/batch/rejections``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.service import version_for_submission
from dex.db.queries import dumps
from dex.errors import BadRequest
from dex.operations.inputs import OperationInput
from dex.operations.registry import EntityType, get_operation
from dex.pipeline import idempotency, service
from dex.pipeline.plan import Plan, StepDef, advance
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import BatchSubmitRequest, EntityIn
from dex.pipeline.spreadsheet import ParsedCsv, RejectedRow, parse_csv
from dex.tenancy.context import AuthContext

MAX_CSV_BYTES = 64 * 1024 * 1024

# Keys whose values must look like what they name, or the row is rejected.
EMAIL_KEYS = frozenset({"email", "work_email", "personal_email"})
DOMAIN_KEYS = frozenset({"company_domain", "domain"})
LINKEDIN_KEYS = frozenset({"linkedin_url", "company_linkedin_url"})
# The keys that name an entity, strongest first: rows agreeing on the first one present are duplicates.
IDENTITY_KEYS = {
    "company": ("company_domain", "company_linkedin_url"),
    "person": ("linkedin_url", "email"),
}


def malformed_value(entity: Mapping[str, Any]) -> str | None:
    for key, value in entity.items():
        if key in EMAIL_KEYS and (value.count("@") != 1 or " " in value or "." not in value.split("@")[-1]):
            return f"invalid {key} {value!r}"
        if key in DOMAIN_KEYS and (" " in value.strip() or "." not in value):
            return f"invalid {key} {value!r}"
        if key in LINKEDIN_KEYS and "linkedin.com/" not in value.lower():
            return f"invalid {key} {value!r} (not a LinkedIn URL)"
    return None


def missing_first_inputs(steps: list[StepDef], entity: dict[str, Any]) -> str | None:
    """Why the first step this row would run (conditions evaluated on the row) would fail for want of
    inputs, if it would."""
    rows = advance(steps, entity).rows
    first = next((row.step for row in rows if row.status == "queued"), None)
    spec = get_operation(first.operation_id or "") if first is not None else None
    if first is None or spec is None:
        return None
    missing = spec.requirements.missing(OperationInput(entity))
    if not missing:
        return None
    return f"missing input for {spec.operation_id} (step {first.position}): {', '.join(missing)}"


def identity(entity_type: str, entity: dict[str, Any]) -> tuple[str, str]:
    inputs = OperationInput(entity)
    for key in IDENTITY_KEYS.get(entity_type, ()):
        value = inputs.text(key)
        if value:
            return key, value
    return "row", repr(sorted(entity.items()))


def check_rows(parsed: ParsedCsv, entity_type: str, plan: Plan) -> None:
    """Reject malformed rows and rows their first step could not run, then collapse duplicates."""
    steps = list(plan.steps)
    kept: list[int] = []
    first_row: dict[tuple[str, str], int] = {}
    for index, (entity, row_number) in enumerate(zip(parsed.entities, parsed.row_numbers, strict=True)):
        reason = malformed_value(entity) or missing_first_inputs(steps, entity)
        if reason is not None:
            parsed.rejected.append(RejectedRow(row_number, reason))
            continue
        key = identity(entity_type, entity)
        if key in first_row:
            parsed.duplicates += 1
            same = "identical values" if key[0] == "row" else f"same {key[0]} {key[1]}"
            parsed.rejected.append(RejectedRow(row_number, f"duplicate of row {first_row[key]} ({same})"))
            continue
        first_row[key] = row_number
        kept.append(index)
    parsed.keep(kept)


@dataclass(frozen=True)
class CsvUpload:
    data: bytes
    blueprint_id: uuid.UUID
    company_id: uuid.UUID | None = None
    filename: str | None = None
    column_map: Mapping[str, str] | None = None


async def submit_csv(
    session: AsyncSession,
    scope: AuthContext,
    upload: CsvUpload,
    *,
    plans: PlanCache,
    idempotency_key: str | None = None,
    idempotency_ttl: timedelta = idempotency.DEFAULT_TTL,
) -> dict[str, Any]:
    """Parse, check and submit a CSV; the submission keeps the report of what was left out and why."""
    company_id = await service.submission_company(session, scope, upload.company_id)
    version = await version_for_submission(session, scope.org_id, upload.blueprint_id)
    if len(upload.data) > MAX_CSV_BYTES:
        raise BadRequest(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB")
    entity_type: EntityType = version.snapshot["blueprint"].get("entity_type") or "company"
    parsed = parse_csv(upload.data, column_map=upload.column_map)
    check_rows(parsed, entity_type, await plans.get(session, version.id))
    report = parsed.report(upload.filename)
    if not parsed.entities:
        reasons = "; ".join(f"row {r['row_number']}: {r['reason']}" for r in report["rejected"][:5])
        raise BadRequest(f"no row can be submitted ({reasons or 'the file has no rows'})")
    body = BatchSubmitRequest(
        blueprint_id=upload.blueprint_id,
        company_id=company_id,
        # The rows are checked text already: each becomes an entity's input as it is, not as a validated
        # copy (100k rows would be held twice).
        entities=[
            EntityIn.model_construct(entity_type=entity_type, input=entity) for entity in parsed.entities
        ],
        source="csv",
        metadata={"filename": upload.filename} if upload.filename else None,
    )
    submitted = await service.submit(
        session,
        scope,
        body,
        plans=plans,
        idempotency_key=idempotency_key,
        idempotency_ttl=idempotency_ttl,
    )
    await session.execute(
        text("UPDATE submissions SET ingest_report = CAST(:report AS jsonb) WHERE id = :id"),
        {"report": dumps(report), "id": submitted.submission_id},
    )
    return {"submission_id": submitted.submission_id, **report}
