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


def record(
    stored: list[Source] | None,
    changes: dict[str, tuple[str | None, str | None]],
    *,
    run_id: str | None,
    at: str,
) -> list[Source]:
    """The stored sources once a write in run ``run_id`` at ``at`` set ``changes`` (field → the operation
    and provider that produced it): the fields it set leave their earlier sources, which go once empty."""
    fields_of: dict[tuple[Any, ...], list[str]] = {}
    for source in stored or ():
        kept = [field for field in source["fields"] if field not in changes]
        if kept:
            key = (source["operation_id"], source["provider"], source["run_id"], source["at"])
            fields_of.setdefault(key, []).extend(kept)
    for field in sorted(changes):
        operation_id, provider = changes[field]
        fields_of.setdefault((operation_id, provider, run_id, at), []).append(field)
    return [
        {"operation_id": operation_id, "provider": provider, "run_id": run, "at": stamp, "fields": fields}
        for (operation_id, provider, run, stamp), fields in fields_of.items()
    ]
