"""Reading a spreadsheet export: rows under canonical input keys, each with its row number.

:func:`parse_csv` tolerates what spreadsheets export: UTF-8 with or without a byte-order mark, UTF-16
(Excel's "Unicode text"), Windows-1252; comma, semicolon, tab or pipe delimiters; header spelling
(``Company Domain`` → ``company_domain``, ``Website`` → ``company_website``), plus an explicit
``column_map`` (header → input key, ``""`` to drop a column); blank rows and cells. Checking the rows
against a blueprint is :mod:`dex.pipeline.ingest`'s.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dex.errors import BadRequest

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
