"""The webhook outbox: the events a state change announces, written in the transaction that makes the
change (``Progress.flush``), one delivery row per subscribed endpoint. A rolled-back change announces
nothing; a committed one is delivered after commit by ``dex.webhooks.delivery``, however the process
that made it ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

DELIVERIES_NOTIFY_CHANNEL = "dex_webhook_deliveries"
RUN_EVENTS = {"succeeded": "run.completed", "failed": "run.failed"}
FINISHED_SUBMISSION_STATUSES = frozenset({"completed", "failed", "canceled"})


def event(org_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One event as receivers get it; ``id`` is shared by its deliveries to several endpoints."""
    event_id = uuid.uuid4()
    return {
        "event_id": event_id,
        "org_id": org_id,
        "event_type": event_type,
        "payload": {
            "id": f"evt_{event_id.hex}",
            "type": event_type,
            "created_at": datetime.now(UTC).isoformat(),
            "org_id": str(org_id),
            "data": data,
        },
    }


def run_events(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        event(
            run["org_id"],
            RUN_EVENTS[run["status"]],
            {
                "pipeline_run_id": str(run["id"]),
                "submission_id": str(run["submission_id"]),
                "company_id": str(run["company_id"]),
                "parent_pipeline_run_id": str(run["parent_pipeline_run_id"])
                if run["parent_pipeline_run_id"]
                else None,
                "entity_type": run["entity_type"],
                "entity_index": run["entity_index"],
                "depth": run["depth"],
                "status": "completed" if run["status"] == "succeeded" else run["status"],
                "error_message": run["error_message"],
            },
        )
        for run in runs
        if run["status"] in RUN_EVENTS
    ]


def submission_events(submissions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``submission.completed`` when a submission has finished: every run is done, whatever the outcome
    (``status`` says completed, failed or canceled); ``submission.waiting_for_budget`` when its remaining
    work waits for budget, with what it needs (``budget``)."""
    events = []
    for change in submissions:
        if change["status"] in FINISHED_SUBMISSION_STATUSES:
            event_type = "submission.completed"
        elif change["status"] == "waiting_for_budget":
            event_type = "submission.waiting_for_budget"
        else:
            continue
        data = {
            "submission_id": str(change["id"]),
            "company_id": str(change["company_id"]),
            "blueprint_id": str(change["blueprint_id"]),
            "status": change["status"],
            "summary": {
                "total": change["counters"].total,
                "completed": change["counters"].succeeded,
                "failed": change["counters"].failed,
                "canceled": change["counters"].canceled,
            },
        }
        if "budget" in change:
            data["budget"] = change["budget"]
        events.append(event(change["org_id"], event_type, data))
    return events


# Events of orgs without a subscribed endpoint write nothing.
ENQUEUE = text(
    """
    INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, event_type, payload, next_attempt_at)
    SELECT e.org_id, endpoint.id, e.event_id, e.event_type, e.payload, now()
    FROM jsonb_to_recordset(CAST(:events AS jsonb))
        AS e(event_id uuid, org_id uuid, event_type text, payload jsonb)
    JOIN webhook_endpoints endpoint
      ON endpoint.org_id = e.org_id AND e.event_type = ANY(endpoint.event_types)
    """
)
