"""Reading entity inputs from CSV: headers become canonical input keys, each row one entity.

Tolerant of what spreadsheets export: a UTF-8 byte-order mark, comma/semicolon/tab delimiters, header
spelling (``Company Domain`` → ``company_domain``), blank cells. A row that carries nothing usable is
reported with its row number and reason; it never sinks the good rows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

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


def canonical_header(header: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return HEADER_ALIASES.get(key, key)


@dataclass
class RejectedRow:
    row_number: int
    reason: str


@dataclass
class ParsedCsv:
    entities: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: int = 0


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("unreadable text encoding")


def parse_csv(data: bytes) -> ParsedCsv:
    text = decode(data)
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    result = ParsedCsv()
    if not header or not any(cell.strip() for cell in header):
        result.rejected.append(RejectedRow(1, "the file has no header row"))
        return result
    keys = [canonical_header(cell) for cell in header]
    seen: set[tuple[tuple[str, str], ...]] = set()
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(keys) and any(cell.strip() for cell in cells[len(keys) :]):
            result.rejected.append(RejectedRow(row_number, f"{len(cells)} cells but {len(keys)} columns"))
            continue
        entity = {key: cell.strip() for key, cell in zip(keys, cells, strict=False) if key and cell.strip()}
        if not entity:
            result.rejected.append(RejectedRow(row_number, "no usable values"))
            continue
        fingerprint = tuple(sorted(entity.items()))
        if fingerprint in seen:
            result.duplicates += 1
            continue
        seen.add(fingerprint)
        result.entities.append(entity)
    return result
