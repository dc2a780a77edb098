"""Timeline events for identity conflicts: a run's entity carried a unique key (a work email, a domain)
that another entity already holds, and the two were kept apart — typically two people with different
LinkedIn profiles to whom a provider guessed the same email. Both entities' timelines say so, so an
operator sees why the key is missing from one of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dex.entities.repository import UpsertResult

if TYPE_CHECKING:
    from dex.pipeline.progress import RunRef


def identity_conflict_events(run: RunRef, upserted: UpsertResult) -> list[dict[str, Any]]:
    events = []
    for column, value, holder in upserted.conflicts:
        for entity_id, other, summary in (
            (upserted.entity_id, holder, f"{column} {value} kept by entity {holder}, not merged"),
            (holder, upserted.entity_id, f"{column} {value} also claimed by entity {upserted.entity_id}"),
        ):
            events.append(
                {
                    "org_id": run.org_id,
                    "company_id": run.company_id,
                    "entity_type": upserted.entity_type,
                    "entity_id": entity_id,
                    "operation_id": "entity.identity_conflict",
                    "pipeline_run_id": run.run_id,
                    "submission_id": run.submission_id,
                    "provider": None,
                    "status": "skipped",
                    "fields_updated": None,
                    "summary": summary,
                    "metadata_": {
                        "event_type": "identity_conflict",
                        "field": column,
                        "value": value,
                        "other_entity_id": str(other),
                    },
                }
            )
    return events
