"""Streaming export of canonical entities per the export contract v1.

Datasets ``dx_company_entities_v1`` and ``dx_person_entities_v1``: the contract's columns in its order,
then the canonical columns it does not name (v1 allows additive columns). Rows come from a server-side
cursor in chunks and are encoded chunk by chunk, so memory stays constant whatever the row count. No
secrets and no payload blobs are exported: only canonical columns and lineage ids. In CSV, a text cell a
spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) starts with
a single quote (``dex.kit.csvsafe``); JSONL carries values exactly as stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import DateTime, Select, String, Text, func, select

from dex.db.engine import Database
from dex.db.queries import dumps
from dex.entities.models import CompanyEntity, PersonEntity
from dex.entities.schemas import ExportRequest
from dex.entities.service import entity_scope
from dex.kit.csvsafe import write_csv
from dex.tenancy.context import AuthContext

EXPORT_SCHEMA_VERSION = "v1"
CHUNK_ROWS = 1000
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@dataclass(frozen=True)
class Dataset:
    name: str
    model: Any
    columns: tuple[Any, ...]  # labelled SQL expressions, in export order

    @property
    def header(self) -> tuple[str, ...]:
        return ("export_schema_version", *(column.key for column in self.columns))

    @property
    def timestamp_positions(self) -> tuple[int, ...]:
        """Where the timestamps are in an exported row (after the schema version)."""
        return tuple(
            position
            for position, column in enumerate(self.columns, start=1)
            if isinstance(column.type, DateTime)
        )

    @property
    def text_positions(self) -> tuple[int, ...]:
        """Where the text cells are in an exported row: the only ones a spreadsheet could run."""
        return tuple(
            position
            for position, column in enumerate(self.columns, start=1)
            if isinstance(column.type, String)
        )


def _company_columns() -> tuple[Any, ...]:
    entity = CompanyEntity
    return (
        entity.org_id,
        entity.company_id,
        entity.entity_id,
        entity.canonical_name,
        entity.canonical_domain,
        entity.linkedin_url,
        # Providers report the LinkedIn page's numeric id as company_linkedin_id.
        entity.canonical_payload["company_linkedin_id"].astext.label("linkedin_page_id"),
        entity.industry,
        entity.employee_count,
        entity.revenue_band,
        entity.hq_country,
        entity.enrichment_confidence,
        entity.last_enriched_at,
        entity.last_operation_id,
        entity.last_run_id,
        # The providers that contributed, in the order their data was first merged.
        func.array_to_string(entity.source_providers, ",", type_=Text).label("source_priority"),
        entity.record_version,
        entity.updated_at,
        entity.employee_range,
        entity.description,
    )


def _person_columns() -> tuple[Any, ...]:
    entity = PersonEntity
    return (
        entity.org_id,
        entity.company_id,
        entity.entity_id,
        entity.full_name,
        entity.first_name,
        entity.last_name,
        entity.linkedin_url,
        entity.title,
        entity.seniority,
        entity.department,
        entity.work_email,
        entity.email_status,
        entity.phone_e164,
        entity.contact_confidence,
        entity.last_enriched_at,
        entity.last_operation_id,
        entity.last_run_id,
        entity.record_version,
        entity.updated_at,
        entity.company_domain,
    )


DATASETS = {
    "company": Dataset("dx_company_entities_v1", CompanyEntity, _company_columns()),
    "person": Dataset("dx_person_entities_v1", PersonEntity, _person_columns()),
}


def encode_csv(
    rows: Sequence[Sequence[Any]], timestamp_positions: Sequence[int], text_positions: Sequence[int]
) -> str:
    """CSV of ``rows``: timestamps (at ``timestamp_positions``) in ISO 8601, text (at ``text_positions``)
    that a spreadsheet would run as a formula neutralised (``dex.kit.csvsafe``), NULL as an empty cell (the
    csv module's own rendering of None). Only those cells are touched: a million-row export is twenty
    million cells."""
    if timestamp_positions:
        rows = [_iso_timestamps(row, timestamp_positions) for row in rows]
    return write_csv(rows, text_positions)


def _iso_timestamps(row: Sequence[Any], positions: Sequence[int]) -> list[Any]:
    cells = list(row)
    for position in positions:
        if cells[position] is not None:
            cells[position] = cells[position].isoformat()
    return cells


def encode_jsonl(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return "".join(dumps(dict(zip(header, row, strict=True))) + "\n" for row in rows)


def export_statement(dataset: Dataset, scope: AuthContext, updated_since: datetime | None) -> Select[Any]:
    """The rows to export, oldest update first. Built before the response starts, so that a refused scope
    is an error response rather than a broken stream."""
    model = dataset.model
    statement = select(*dataset.columns).where(entity_scope(model, scope))
    if updated_since is not None:
        statement = statement.where(model.updated_at >= updated_since)
    return statement.order_by(model.updated_at, model.entity_id).execution_options(yield_per=CHUNK_ROWS)


async def export_chunks(
    database: Database, dataset: Dataset, statement: Select[Any], fmt: str
) -> AsyncIterator[bytes]:
    """The encoded export, a chunk of rows at a time, read on a connection of its own (a streaming
    response outlives the request's session)."""
    if fmt == "csv":
        yield write_csv([dataset.header]).encode()
    async with database.engine.connect() as connection:
        result = await connection.stream(statement)
        async for partition in result.partitions():
            rows = [(EXPORT_SCHEMA_VERSION, *row) for row in partition]
            if fmt == "csv":
                encoded = encode_csv(rows, dataset.timestamp_positions, dataset.text_positions)
            else:
                encoded = encode_jsonl(dataset.header, rows)
            yield encoded.encode()


def export_response(database: Database, scope: AuthContext, request: ExportRequest) -> StreamingResponse:
    dataset = DATASETS[request.entity_type]
    statement = export_statement(dataset, scope, request.updated_since)
    return StreamingResponse(
        export_chunks(database, dataset, statement, request.format),
        media_type=MEDIA_TYPES[request.format],
        headers={"Content-Disposition": f'attachment; filename="{dataset.name}.{request.format}"'},
    )
