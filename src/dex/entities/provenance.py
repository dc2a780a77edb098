"""Field provenance as stored: each source once, with the fields it last set.

A field's provenance names the operation, provider and pipeline run that last set it, and when. One run
sets most of an entity's fields at once, so stored field by field the same source was repeated for every
field: 7 KB of a person's 10 KB row, encoded by dex and parsed by PostgreSQL on every write. Stored as a
list of sources, each with the fields it set (``[{"operation_id", "provider", "run_id", "at", "fields"}]``),
it is read back field by field (``expand``), the shape the API and the console show.
"""

from __future__ import annotations

from typing import Any

Source = dict[str, Any]


def expand(stored: list[Source] | None) -> dict[str, Source]:
    """Field → its source, from the stored sources."""
    return {
        field: {key: value for key, value in source.items() if key != "fields"}
        for source in stored or ()
        for field in source["fields"]
    }


def compact(by_field: dict[str, Source]) -> list[Source]:
    """The stored sources of field → source: each source once, its fields sorted."""
    fields_of: dict[tuple[tuple[str, Any], ...], list[str]] = {}
    for field, source in sorted(by_field.items()):
        fields_of.setdefault(tuple(source.items()), []).append(field)
    return [{**dict(source), "fields": fields} for source, fields in fields_of.items()]
