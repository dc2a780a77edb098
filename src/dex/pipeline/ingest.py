"""CSV ingestion: a spreadsheet export becomes a batch, one entity per row, and every row that cannot be
submitted is reported with its row number and reason — a bad row never sinks the good ones.

Reading (:func:`parse_csv`) tolerates what spreadsheets export: UTF-8 with or without a byte-order mark,
UTF-16 (Excel's "Unicode text"), Windows-1252; comma, semicolon, tab or pipe delimiters; header spelling
(``Company Domain`` → ``company_domain``, ``Website`` → ``company_website``), plus an explicit
``column_map`` (header → input key, ``""`` to drop a column); blank rows and cells.

Checking (:func:`check_rows`) is per row, against the blueprint the batch runs: a row is rejected when a
value of a known kind is malformed (an email without ``@``…) or when it lacks the inputs of the first step
it would run (it would fail there at once). Rows naming the same entity (same domain, email, LinkedIn URL,
or identical rows) are collapsed into the first one; each collapsed row is reported too.

:func:`submit_csv` is what ``POST /api/v1/batch/submit-csv`` and ``dex submit`` use; the report is kept
on the submission (``ingest_report``) for ``POST /api/v1/batch/rejections``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.service import version_for_submission
from dex.db.queries import dumps
from dex.errors import BadRequest
from dex.operations.inputs import OperationInput
from dex.operations.registry import EntityType, get_operation
from dex.pipeline import service
from dex.pipeline.plan import Plan, StepDef, advance
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import BatchSubmitRequest, EntityIn
from dex.tenancy.context import AuthContext

# Spreadsheet headers → canonical input keys (operations resolve further aliases themselves).
HEADER_ALIASES = {
    "website": "company_website",
    "url": "company_website",
    "company": "company_name",
    "organization": "company_name",
    "linkedin": "linkedin_url",
    "email_address": "email",
    "first": "first_name",
    "last": "last_name",
}
DELIMITERS = ",;\t|"
# Stored on the submission; the response and the report beyond it say how many were left out.
REPORTED_ROWS_CAP = 10_000
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


def canonical_header(header: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return HEADER_ALIASES.get(key, key)


@dataclass
class RejectedRow:
    row_number: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"row_number": self.row_number, "reason": self.reason}


@dataclass
class ParsedCsv:
    """Rows in file order: ``entities[i]`` is row ``row_numbers[i]`` as a spreadsheet numbers it (the
    header is row 1; a quoted cell spanning lines stays one row)."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","

    def keep(self, indexes: list[int]) -> None:
        self.entities = [self.entities[i] for i in indexes]
        self.row_numbers = [self.row_numbers[i] for i in indexes]

    def report(self, filename: str | None = None) -> dict[str, Any]:
        rejected = sorted(self.rejected, key=lambda row: row.row_number)
        return {
            "filename": filename,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "columns": self.columns,
            "accepted": len(self.entities),
            "duplicates": self.duplicates,
            "rejected_count": len(rejected),
            "rejected": [row.to_dict() for row in rejected[:REPORTED_ROWS_CAP]],
        }


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if b"\x00" in data[:4096]:  # UTF-16 without a byte-order mark: every ASCII character has a NUL beside it
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def detect_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or a sample the sniffer cannot decide on: the delimiter the header uses most.
        header = sample.splitlines()[0] if sample else ""
        counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def column_keys(header: list[str], column_map: Mapping[str, str] | None) -> list[str]:
    """The input key of each column ("" = dropped). ``column_map`` names columns by their header as
    written or as canonicalized; two columns may not land on one key."""
    explicit = {canonical_header(name): key.strip() for name, key in (column_map or {}).items()}
    unknown = set(explicit) - {canonical_header(cell) for cell in header}
    if unknown:
        raise BadRequest(f"column_map names columns the file does not have: {', '.join(sorted(unknown))}")
    keys = [explicit.get(canonical_header(cell), canonical_header(cell)) for cell in header]
    seen: dict[str, str] = {}
    for cell, key in zip(header, keys, strict=True):
        if key and key in seen:
            raise BadRequest(f"columns {seen[key]!r} and {cell!r} both map to {key!r}")
        seen[key] = cell
    return keys


def parse_csv(data: bytes, *, column_map: Mapping[str, str] | None = None) -> ParsedCsv:
    """Rows with their values under canonical keys; structurally broken rows are rejected."""
    text_data, encoding = decode(data)
    delimiter = detect_delimiter(text_data)
    reader = csv.reader(io.StringIO(text_data, newline=""), delimiter=delimiter)
    result = ParsedCsv(encoding=encoding, delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        result.rejected.append(RejectedRow(1, "the file has no header row"))
        return result
    keys = column_keys(header, column_map)
    result.columns = {cell: key for cell, key in zip(header, keys, strict=True) if cell.strip()}
    row_number = 1
    try:
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(keys) and any(cell.strip() for cell in cells[len(keys) :]):
                result.rejected.append(RejectedRow(row_number, f"{len(cells)} cells but {len(keys)} columns"))
                continue
            entity = {
                key: cell.strip() for key, cell in zip(keys, cells, strict=False) if key and cell.strip()
            }
            if not entity:
                result.rejected.append(RejectedRow(row_number, "no values in the mapped columns"))
                continue
            result.entities.append(entity)
            result.row_numbers.append(row_number)
    except csv.Error as exc:
        # An unterminated quote swallows the rest of the file: say where, keep the rows before it.
        result.rejected.append(RejectedRow(row_number + 1, f"unreadable CSV from here on: {exc}"))
    return result


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
    submitted = await service.submit(session, scope, body, plans=plans, idempotency_key=idempotency_key)
    await session.execute(
        text("UPDATE submissions SET ingest_report = CAST(:report AS jsonb) WHERE id = :id"),
        {"report": dumps(report), "id": submitted.submission_id},
    )
    return {"submission_id": submitted.submission_id, **report}
