"""Live progress of a submission as Server-Sent Events.

Every ``Progress.flush`` that finishes steps or moves runs NOTIFYs ``dex_progress`` with what changed, per
submission (:func:`announce`); PostgreSQL delivers it only if the transaction commits, to every process.
Each process keeps one listening connection (:class:`ProgressHub`) and fans the messages out to the streams
following each submission. A stream (:func:`stream`) starts with a snapshot, relays run and step
transitions, sends the summary counts whenever they change — re-read at least every ``poll_seconds``, so a
missed notification (or no LISTEN at all) only delays it — and ends with ``end`` once the submission has
finished, or after ``max_seconds`` (clients reconnect, as EventSource does on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.engine import Database, libpq_url
from dex.db.queries import dumps
from dex.pipeline import repository as repo
from dex.pipeline.repository import READY_NOTIFY_CHANNEL
from dex.pipeline.runner import OUTCOME_STATUS, StepOutcome
from dex.usage.budgets import budget_needs
from dex.webhooks import outbox as webhook_outbox

log = logging.getLogger(__name__)

PROGRESS_CHANNEL = "dex_progress"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
PAYLOAD_LIMIT_BYTES = 7900
# A busy submission's transitions come many times a second; its counts are re-read at most this often.
SUMMARY_INTERVAL_SECONDS = 0.2
FINISHED = frozenset({"completed", "failed", "canceled"})


def _chunks(submission_id: str, status: str | None, items: list[tuple[str, list[Any]]]) -> list[str]:
    """Messages of at most ``PAYLOAD_LIMIT_BYTES`` carrying ``items`` (kind, compact row) in order."""
    messages: list[str] = []
    current: dict[str, Any] = {"s": submission_id, "status": status, "runs": [], "steps": []}
    size = len(json.dumps(current))
    for kind, row in items:
        row_size = len(json.dumps(row)) + 1
        if size + row_size > PAYLOAD_LIMIT_BYTES and (current["runs"] or current["steps"]):
            messages.append(json.dumps(current, separators=(",", ":")))
            current = {"s": submission_id, "status": None, "runs": [], "steps": []}
            size = len(json.dumps(current))
        current[kind].append(row)
        size += row_size
    messages.append(json.dumps(current, separators=(",", ":")))
    return messages


def progress_messages(
    *,
    runs: Iterable[dict[str, Any]],
    steps: Iterable[StepOutcome],
    submissions: Iterable[dict[str, Any]],
) -> list[str]:
    items: dict[str, list[tuple[str, list[Any]]]] = defaultdict(list)
    for outcome in steps:
        claimed = outcome.claimed
        items[str(claimed.submission_id)].append(
            (
                "steps",
                [
                    str(claimed.step_id),
                    str(claimed.run_id),
                    claimed.position,
                    outcome.step.operation_id,
                    OUTCOME_STATUS[outcome.kind],
                ],
            )
        )
    for run in runs:
        items[str(run["submission_id"])].append(("runs", [str(run["id"]), run["status"]]))
    statuses = {str(change["id"]): change["status"] for change in submissions}
    return [
        message
        for submission_id in sorted(items.keys() | statuses.keys())
        for message in _chunks(submission_id, statuses.get(submission_id), items[submission_id])
    ]


# The webhook deliveries of a change, its live progress and, when steps became ready, the executors' wake-up:
# one statement, announced only if the transaction commits (the outbox rows and the NOTIFYs are part of it).
_ENQUEUED = f"enqueued AS ({webhook_outbox.ENQUEUE.text} RETURNING 1)"
_NOTIFIED = (
    "notified AS (SELECT count(pg_notify(note.channel, note.payload)) FROM ("
    f"SELECT '{PROGRESS_CHANNEL}' AS channel, message AS payload "
    "FROM unnest(CAST(:messages AS text[])) AS message "
    f"UNION ALL SELECT '{webhook_outbox.DELIVERIES_NOTIFY_CHANNEL}', '' WHERE EXISTS (SELECT FROM enqueued) "
    f"UNION ALL SELECT '{READY_NOTIFY_CHANNEL}', '' WHERE CAST(:ready AS boolean)) note)"
)
ANNOUNCE = text(f"WITH {_ENQUEUED}, {_NOTIFIED} SELECT * FROM notified")
# The run counters' bump (``repo.BUMP_COUNTERS``) and the announcement of the runs and steps that moved them,
# in one round trip. ``notified`` leads the join, so its NOTIFYs are sent even when no counter changed.
BUMP_AND_ANNOUNCE = text(
    f"WITH {_ENQUEUED}, bumped AS ({repo.BUMP_COUNTERS.text}), {_NOTIFIED} "
    "SELECT bumped.* FROM notified LEFT JOIN bumped ON true"
)


def _announcement(
    runs: list[dict[str, Any]], steps: Iterable[StepOutcome], submissions: list[dict[str, Any]], ready: bool
) -> dict[str, Any] | None:
    """``ANNOUNCE``'s parameters, or None when there is nothing to tell."""
    events = webhook_outbox.run_events(runs) + webhook_outbox.submission_events(submissions)
    messages = progress_messages(runs=runs, steps=steps, submissions=submissions)
    if events or messages or ready:
        return {"events": dumps(events), "messages": messages, "ready": ready}
    return None


async def announce(
    session: AsyncSession,
    *,
    runs: Iterable[dict[str, Any]],
    steps: Iterable[StepOutcome],
    submissions: Iterable[dict[str, Any]],
    ready: bool = False,
) -> None:
    """Tell webhooks and live progress about moved ``runs``, finished ``steps`` and changed
    ``submissions`` (and executors, if ``ready``, that steps wait to be claimed)."""
    if params := _announcement(list(runs), steps, list(submissions), ready):
        await session.execute(ANNOUNCE, params)


async def bump_and_announce(
    session: AsyncSession,
    deltas: dict[uuid.UUID, dict[str, int]],
    *,
    runs: Iterable[dict[str, Any]],
    steps: Iterable[StepOutcome],
    ready: bool = False,
) -> None:
    """Apply run-counter ``deltas`` to their submissions (``repo.bump_counters``) and :func:`announce` the
    moved ``runs`` and finished ``steps`` with the same statement; the submissions whose status the
    counters changed are announced after, in a statement of their own (once per submission and status)."""
    rows = repo.counter_rows(deltas)
    params = _announcement(list(runs), steps, [], ready)
    if not rows and params is None:
        return
    await repo.lock_submissions(session, rows)
    result = await session.execute(
        BUMP_AND_ANNOUNCE,
        {"rows": dumps(rows), **(params or {"events": "[]", "messages": [], "ready": False})},
    )
    bumped = [row for row in result.mappings() if row["id"] is not None]
    if changes := await repo.settle_statuses(session, bumped):
        await announce(session, runs=(), steps=(), submissions=changes)


class ProgressHub:
    """One LISTEN connection per process, fanned out to the streams following each submission. Open while
    any stream is; if it cannot listen, streams still work by re-reading the summary."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def _listen(self) -> None:
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                return
            try:
                self._connection = await asyncpg.connect(libpq_url(self.database.url))
                await self._connection.add_listener(PROGRESS_CHANNEL, self._deliver)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("live progress cannot LISTEN (%s); streams poll instead", exc)
                self._connection = None

    def _deliver(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        message = json.loads(payload)
        for queue in self._queues.get(message["s"], ()):
            # A stream that cannot keep up loses transitions, never the counts (re-read from the database).
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, submission_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        key = str(submission_id)
        # Registered before listening, so a stream leaving meanwhile does not close the connection.
        self._queues[key].add(queue)
        try:
            await self._listen()
            yield queue
        finally:
            self._queues[key].discard(queue)
            if not self._queues[key]:
                del self._queues[key]
            async with self._lock:
                if not self._queues:
                    await self._disconnect()

    async def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    async def close(self) -> None:
        async with self._lock:
            await self._disconnect()


SUMMARY = text(
    """
    SELECT s.status, s.runs_total, s.runs_running, s.runs_succeeded, s.runs_failed, s.runs_canceled,
           (SELECT count(*) FROM step_results st
            WHERE st.status = 'budget_exhausted' AND st.org_id = s.org_id AND st.submission_id = s.id)
               AS parked_steps
    FROM submissions s WHERE s.id = :id
    """
)


async def summary(database: Database, submission_id: uuid.UUID) -> dict[str, Any]:
    """The submission's status and run counts (the batch status summary), plus steps waiting for budget."""
    async with database.transaction() as session:
        row = (await session.execute(SUMMARY, {"id": submission_id})).mappings().one()
        needs = await budget_needs(session, submission_id) if row["status"] == "waiting_for_budget" else None
    finished = row["runs_succeeded"] + row["runs_failed"] + row["runs_canceled"]
    summary = {
        "submission_id": str(submission_id),
        "status": row["status"],
        "total": row["runs_total"],
        "completed": row["runs_succeeded"],
        "failed": row["runs_failed"] + row["runs_canceled"],
        "pending": row["runs_total"] - finished - row["runs_running"],
        "running": row["runs_running"],
        "parked_steps": row["parked_steps"],
    }
    if needs is not None:
        summary["budget"] = needs
    return summary


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _transitions(message: dict[str, Any]) -> list[str]:
    events = [
        sse(
            "step",
            {
                "step_result_id": step_id,
                "pipeline_run_id": run_id,
                "step_position": position,
                "operation_id": operation_id,
                "status": status,
            },
        )
        for step_id, run_id, position, operation_id, status in message["steps"]
    ]
    events += [
        sse("run", {"pipeline_run_id": run_id, "status": status}) for run_id, status in message["runs"]
    ]
    return events


async def stream(
    database: Database,
    hub: ProgressHub,
    submission_id: uuid.UUID,
    *,
    poll_seconds: float = 1.0,
    heartbeat_seconds: float = 15.0,
    max_seconds: float = 300.0,
    summary_seconds: float = SUMMARY_INTERVAL_SECONDS,
) -> AsyncIterator[str]:
    """``summary_seconds`` is the least time between two reads of the counts: the console passes one
    second, so an open page costs at most one query per second however busy the batch is."""
    # Subscribed before the snapshot, so nothing that happens after it is missed.
    async with hub.subscribe(submission_id) as queue:
        deadline = time.monotonic() + max_seconds
        current = await summary(database, submission_id)
        yield f"retry: {int(poll_seconds * 1000)}\n" + sse("snapshot", current)
        quiet_since = read_at = time.monotonic()
        while current["status"] not in FINISHED and (remaining := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                message = await asyncio.wait_for(queue.get(), timeout=min(poll_seconds, remaining))
                messages = [message]
                while not queue.empty():
                    messages.append(queue.get_nowait())
                for message in messages:
                    for event in _transitions(message):
                        yield event
                    quiet_since = time.monotonic()
            if time.monotonic() - read_at < summary_seconds:
                continue
            latest, read_at = await summary(database, submission_id), time.monotonic()
            if latest != current:
                current = latest
                quiet_since = time.monotonic()
                yield sse("summary", current)
            elif time.monotonic() - quiet_since >= heartbeat_seconds:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
        if current["status"] in FINISHED:
            yield sse("end", current)
