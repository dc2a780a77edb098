"""The state machine of runs, steps and submissions: which status changes are legal, and every statement
that changes a status.

No other module writes a status (``tests/pipeline/test_states.py`` scans the source to keep it so). Each
statement here is built from the transition table: its target status and the source statuses in its
``WHERE`` come from the table, so an illegal change cannot happen even between racing processes, and a
statement that narrows its sources (``among``) is checked against the table when this module loads.
:func:`check` raises :class:`IllegalTransition` for a change attempted in memory. A submission's status is
not stored independently: :func:`submission_status` derives it from its run counters, which move in the same
transaction as the runs — except whether a running submission waits for budget, which its steps say
(:data:`REFLECT_BUDGET_WAITS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import dumps
from dex.vocabulary import RUN_STATUSES, STEP_STATUSES, SUBMISSION_STATUSES


class IllegalTransition(RuntimeError):
    pass


RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "succeeded", "failed", "canceled"}),
    "running": frozenset({"succeeded", "failed", "canceled"}),
    # Resume puts a failed run back to work from its failed step.
    "failed": frozenset({"running"}),
    "succeeded": frozenset(),
    "canceled": frozenset(),
}

STEP_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "skipped"}),
    # Back to queued when its lease expired (its worker died); retrying after a transient failure.
    # Parked as budget_exhausted when its paid operation would exceed the org's or submission's budget.
    "running": frozenset({"succeeded", "failed", "skipped", "retrying", "queued", "budget_exhausted"}),
    "retrying": frozenset({"running", "skipped"}),
    # Re-queued when the budget is raised; skipped when its submission is canceled.
    "budget_exhausted": frozenset({"queued", "skipped"}),
    # Resume re-queues the failed step.
    "failed": frozenset({"queued"}),
    "succeeded": frozenset(),
    "skipped": frozenset(),
}

# Submissions follow their runs (:func:`submission_status`), and, while runs are unfinished, whether any
# step can move: a running submission whose every unfinished step is parked for budget waits for budget,
# and goes back to running when steps are resumed.
SUBMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"queued", "running", "completed", "failed", "canceled"}),
    "validated": frozenset({"queued", "running", "completed", "failed", "canceled"}),
    "queued": frozenset({"running", "completed", "failed", "canceled"}),
    "running": frozenset({"waiting_for_budget", "completed", "failed", "canceled"}),
    "waiting_for_budget": frozenset({"running", "completed", "failed", "canceled"}),
    # Resume puts a failed submission back to work; a retry queues it again.
    "failed": frozenset({"queued", "running"}),
    "completed": frozenset(),
    "canceled": frozenset(),
}

TABLES = {"run": RUN_TRANSITIONS, "step": STEP_TRANSITIONS, "submission": SUBMISSION_TRANSITIONS}
TERMINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "canceled"})
TERMINAL_STEP_STATUSES = frozenset({"succeeded", "failed", "skipped"})
TERMINAL_SUBMISSION_STATUSES = frozenset({"completed", "failed", "canceled"})
# Steps not yet started: what cancel and a caller's "skip the rest" take out of the queue.
PENDING_STEP_STATUSES = ("queued", "retrying")
# A step row is created waiting in the queue, skipped (its condition does not hold, or its run stopped),
# or running: claimed as it is created by the executor that recorded its run's previous step and runs it
# at once (``dex.pipeline.progress.Continuation``) — the claim it skips would have led from queued.
CREATED_STEP_STATUSES = frozenset({"queued", "skipped", "running"})
# A run is created queued, or running when its first step is created running.
CREATED_RUN_STATUSES = frozenset({"queued", "running"})
CREATED_STATUSES = {"step": CREATED_STEP_STATUSES, "run": CREATED_RUN_STATUSES}

assert set(RUN_TRANSITIONS) == set(RUN_STATUSES)
assert set(STEP_TRANSITIONS) == set(STEP_STATUSES)
assert set(SUBMISSION_TRANSITIONS) == set(SUBMISSION_STATUSES)


def check(kind: str, current: str, target: str) -> None:
    if target not in TABLES[kind].get(current, frozenset()):
        raise IllegalTransition(f"{kind} cannot go from {current} to {target}")


def check_created(kind: str, status: str) -> None:
    if status not in CREATED_STATUSES.get(kind, frozenset()):
        raise IllegalTransition(f"a {kind} cannot be created {status}")


def sources(kind: str, target: str) -> tuple[str, ...]:
    """Every status a ``kind`` may move to ``target`` from, for the WHERE clause of an UPDATE."""
    found = tuple(sorted(status for status, targets in TABLES[kind].items() if target in targets))
    if not found:
        raise IllegalTransition(f"no {kind} status leads to {target}")
    return found


@dataclass(frozen=True)
class RunCounters:
    total: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.running - self.succeeded - self.failed - self.canceled


# How a run status change moves its submission's counters (total, running, succeeded, failed, canceled).
COUNTER_FIELDS = ("running", "succeeded", "failed", "canceled")


def counter_delta(current: str | None, target: str) -> dict[str, int]:
    """The counter change of one run moving ``current`` → ``target`` (``current=None``: a new run)."""
    delta = dict.fromkeys(("total", *COUNTER_FIELDS), 0)
    if current is None:
        delta["total"] = 1
    elif current in COUNTER_FIELDS:
        delta[current] -= 1
    if target in COUNTER_FIELDS:
        delta[target] += 1
    return delta


def superseded_delta(statuses: Iterable[str]) -> dict[str, int]:
    """The counter change of taking finished runs (of ``statuses``) out of their submission's counters."""
    delta = dict.fromkeys(("total", *COUNTER_FIELDS), 0)
    for status in statuses:
        delta["total"] -= 1
        delta[status] -= 1
    return delta


def submission_status(counters: RunCounters, *, canceled: bool = False, waiting: bool = False) -> str:
    """Derived from all runs at every depth: completed when all succeeded; once every run has finished,
    failed if any failed, else canceled if any was canceled; running while any run has started or
    finished — ``waiting_for_budget`` instead while ``waiting`` (every unfinished step parked for budget,
    which ``dex.pipeline.budget_waits`` decides); queued before that; received with no runs. (The
    seed system declared a submission failed while siblings still ran, and left an all-canceled one
    running.)"""
    if counters.total == 0:
        return "canceled" if canceled else "received"
    finished = counters.succeeded + counters.failed + counters.canceled
    if finished == counters.total:
        if counters.succeeded == counters.total:
            return "completed"
        return "failed" if counters.failed else "canceled"
    if counters.running or finished:
        return "waiting_for_budget" if waiting else "running"
    return "queued"


# --- the statements that change a status ---------------------------------------------------------------


def quoted(statuses: Iterable[str]) -> str:
    return ", ".join(f"'{status}'" for status in sorted(statuses))


def _sources_among(kind: str, target: str, among: Collection[str] | None) -> tuple[str, ...]:
    legal = sources(kind, target)
    if among is None:
        return legal
    illegal = set(among) - set(legal)
    if illegal:
        raise IllegalTransition(f"{kind} cannot go from {', '.join(sorted(illegal))} to {target}")
    return tuple(sorted(among))


def step_transition(
    target: str,
    *,
    where: str,
    among: Collection[str] | None = None,
    also_set: str = "",
    joined: str = "",
    returning: str = "",
    prefix: str = "",
) -> TextClause:
    """``UPDATE step_results s SET status = target`` for the rows ``where`` selects whose status may move
    to ``target`` (all legal sources, or those of ``among``, each of which must be legal)."""
    guard = quoted(_sources_among("step", target, among))
    return text(
        f"{prefix} UPDATE step_results s SET status = '{target}'{', ' + also_set if also_set else ''} "
        f"{'FROM ' + joined if joined else ''} "
        f"WHERE s.status IN ({guard}) AND ({where}) {'RETURNING ' + returning if returning else ''}"
    )


def claim_statement(candidates: str) -> TextClause:
    """Claim the ready steps ``candidates`` selects (``SELECT r.id FROM step_results r …``): a lease for
    ``:worker``, the next attempt. The candidates are locked in a CTE, which PostgreSQL evaluates exactly
    once; a LIMIT subquery joined into the UPDATE may be re-scanned by some plans and claim more."""
    return step_transition(
        "running",
        prefix=f"WITH ready AS MATERIALIZED ({candidates} FOR NO KEY UPDATE SKIP LOCKED)",
        also_set="claimed_by = :worker, attempt = s.attempt + 1, started_at = now(), "
        "lease_expires_at = now() + make_interval(secs => :lease_seconds)",
        joined="ready",
        where="s.id = ready.id",
        returning="s.id, s.pipeline_run_id, s.org_id, s.company_id, s.submission_id, s.step_position, "
        "s.attempt, s.input_payload",
    )


# Running steps whose worker is gone (lease expired, or a dead process) go back to the queue; their next
# claim increments ``attempt`` and a late completion by the old worker is refused.
REQUEUE_EXPIRED = step_transition(
    "queued",
    among=("running",),
    also_set="claimed_by = NULL, lease_expires_at = NULL, available_at = now()",
    where="s.lease_expires_at < now() OR s.claimed_by = ANY(:dead)",
)

# A claimed step's outcome: the row's target must be one ``running`` may reach. The ``WITH`` queries of the
# statement that records outcomes (``dex.pipeline.repository.finish_steps``); ``finished`` holds the rows
# this worker still owned. Each outcome probes its own row by primary key (``LIMIT 1`` keeps the probe
# from being folded into a join) and locks it; the update then joins the owned rows by key alone. Joined
# directly, a generic plan scanned every running step and searched the outcomes for each: a quarter of a
# recording's time at 400 running steps.
FINISHED_STEPS_CTES = f"""
    v AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
            id uuid, attempt int, status text, output_payload jsonb, error_message text,
            error_details jsonb, duration_ms int, event_from_row bool, retry_delay_seconds float8)
        WHERE v.status IN ({quoted(STEP_TRANSITIONS["running"])})
    ), owned AS MATERIALIZED (
        SELECT v.* FROM v CROSS JOIN LATERAL (
            SELECT FROM step_results s
            WHERE s.id = v.id AND s.attempt = v.attempt AND s.claimed_by = :worker AND s.status = 'running'
            LIMIT 1 FOR NO KEY UPDATE
        ) claimed
    ), finished AS (
        UPDATE step_results s
        SET status = v.status,
            output_payload = v.output_payload,
            error_message = v.error_message,
            error_details = v.error_details,
            duration_ms = v.duration_ms,
            event_from_row = v.event_from_row,
            finished_at = CASE WHEN v.status IN ('retrying', 'budget_exhausted') THEN NULL ELSE now() END,
            -- Waiting for budget is no failure: a parked step's claim does not use up one of its attempts.
            attempt = CASE WHEN v.status = 'budget_exhausted' THEN s.attempt - 1 ELSE s.attempt END,
            available_at = CASE WHEN v.status = 'retrying'
                                THEN now() + make_interval(secs => v.retry_delay_seconds) ELSE NULL END,
            lease_expires_at = NULL
        FROM owned v
        WHERE s.id = v.id
        RETURNING s.id, s.submission_id, s.status,
            EXISTS (SELECT FROM submissions c WHERE c.id = s.submission_id AND c.canceled_at IS NOT NULL)
                AS canceled
    )
"""

# Cancel: every step of the submission not yet claimed is skipped.
CANCEL_STEPS = step_transition(
    "skipped",
    among=(*PENDING_STEP_STATUSES, "budget_exhausted"),
    also_set="available_at = NULL, finished_at = now(), "
    "output_payload = jsonb_build_object('skip_reason', 'submission_canceled', 'cumulative_context', "
    "input_payload)",
    where="s.submission_id = :id",
    returning="s.id, s.pipeline_run_id, s.step_position, s.input_payload",
)

# Resume: the failed step of each run goes back to the queue.
RESUME_STEPS = step_transition(
    "queued",
    among=("failed",),
    also_set="available_at = now(), finished_at = NULL, error_message = NULL, error_details = NULL, "
    "claimed_by = NULL",
    where="s.pipeline_run_id = ANY(:ids)",
)

# Parked steps whose cheapest next call fits both the org's and the submission's budget again (on top of
# what was spent and what calls in flight reserved) go back to the queue; a step parked before its price
# was noted needs any room at all.
_NEXT_CALL = "COALESCE(CAST(s.error_details->>'next_call_credits' AS numeric), 0.0001)"
REQUEUE_PARKED = step_transition(
    "queued",
    among=("budget_exhausted",),
    also_set="available_at = now(), finished_at = NULL, claimed_by = NULL, error_message = NULL, "
    "error_details = NULL",
    joined="submissions sub JOIN orgs o ON o.id = sub.org_id "
    "LEFT JOIN org_spend os ON os.org_id = sub.org_id "
    "LEFT JOIN submission_spend ss ON ss.submission_id = sub.id",
    where="s.org_id = :org_id AND sub.id = s.submission_id "
    "AND (CAST(:submission_id AS uuid) IS NULL OR s.submission_id = :submission_id) "
    "AND (o.budget_credits IS NULL OR COALESCE(os.spent_credits, 0) + COALESCE(os.reserved_credits, 0) "
    f"+ {_NEXT_CALL} <= o.budget_credits) "
    "AND (sub.budget_credits IS NULL OR COALESCE(ss.spent_credits, 0) + COALESCE(ss.reserved_credits, 0) "
    f"+ {_NEXT_CALL} <= sub.budget_credits)",
)

# A caller running the steps itself (the compatibility runner) skips the rest of a run.
SKIP_REMAINING = step_transition(
    "skipped",
    among=PENDING_STEP_STATUSES,
    also_set="finished_at = now(), available_at = NULL, output_payload = CASE "
    "WHEN CAST(:reason AS text) IS NULL THEN s.output_payload "
    "ELSE (CASE WHEN jsonb_typeof(s.output_payload) = 'object' THEN s.output_payload ELSE '{}'::jsonb END) "
    "|| jsonb_build_object('skip_reason', CAST(:reason AS text)) END",
    where="s.pipeline_run_id = :run_id AND s.step_position > :after",
    returning="s.id",
)


def set_step_statement(target: str) -> TextClause:
    """One step (``:step_id``) moved to ``target`` by a caller that runs it itself."""
    return step_transition(target, where="s.id = :step_id", returning="s.id")


# Each run is probed by primary key, in id order (the order every writer locks runs in): joined directly, a
# generic plan walked the whole table to find the runs to move.
MOVE_RUNS = text(
    """
    WITH x AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
            AS x(id uuid, error_message text, error_details jsonb, entity_id uuid, upsert jsonb)
    ), v AS MATERIALIZED (
        SELECT p.id, p.old_status, x.error_message, x.error_details, x.entity_id, x.upsert
        FROM (SELECT * FROM x ORDER BY id) x CROSS JOIN LATERAL (
            SELECT p.id, p.status AS old_status FROM pipeline_runs p
            WHERE p.id = x.id AND p.status = ANY(:sources)
            LIMIT 1 FOR NO KEY UPDATE
        ) p
    )
    UPDATE pipeline_runs r
    SET status = :target,
        started_at = COALESCE(r.started_at, now()),
        finished_at = CASE WHEN :target IN ('succeeded', 'failed', 'canceled') THEN now() ELSE NULL END,
        error_message = v.error_message,
        error_details = v.error_details,
        entity_id = COALESCE(v.entity_id, r.entity_id),
        upsert = COALESCE(v.upsert, r.upsert)
    FROM v
    WHERE r.id = v.id
    RETURNING r.id, r.submission_id, v.old_status, r.org_id, r.company_id, r.entity_type, r.entity_index,
              r.parent_pipeline_run_id, r.depth, r.error_message
    """
)


def started_run(row: Mapping[str, Any]) -> dict[str, Any]:
    """What live progress (and webhooks) are told of a new run inserted running, as :func:`move_runs`
    tells of a run moved there."""
    return {
        "id": row["id"],
        "submission_id": row["submission_id"],
        "old_status": None,
        "org_id": row["org_id"],
        "company_id": row["company_id"],
        "entity_type": row["entity_type"],
        "entity_index": row["entity_index"],
        "parent_pipeline_run_id": row["parent_pipeline_run_id"],
        "depth": row["depth"],
        "error_message": None,
        "status": "running",
    }


async def move_runs(session: AsyncSession, target: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Move runs to ``target`` from any legal source status; returns each moved run's id, submission_id,
    old_status and what webhooks and live progress tell about it."""
    if not rows:
        return []
    result = await session.execute(
        MOVE_RUNS, {"target": target, "rows": dumps(rows), "sources": list(sources("run", target))}
    )
    return list(result.mappings())


# A retry runs every entity of the submission again: the finished runs of the earlier attempts stop counting,
# so the submission's status follows the latest attempt. A run still unfinished keeps counting until it
# finishes (its moves keep the counters right) and a later retry takes it out.
SUPERSEDE_FINISHED_RUNS = text(
    f"""
    UPDATE pipeline_runs SET superseded_at = now()
    WHERE submission_id = :submission_id AND superseded_at IS NULL
      AND status IN ({quoted(TERMINAL_RUN_STATUSES)})
    RETURNING status
    """
)


async def supersede_finished_runs(session: AsyncSession, submission_id: uuid.UUID) -> dict[str, int]:
    """Mark the submission's finished runs superseded; returns the counter change taking them out (the
    caller applies it with the counting-in of the retry's runs)."""
    result = await session.execute(SUPERSEDE_FINISHED_RUNS, {"submission_id": submission_id})
    return superseded_delta(result.scalars())


SET_SUBMISSION_STATUSES = text(
    f"""
    UPDATE submissions s SET status = v.status,
        finished_at = CASE WHEN v.status IN ({quoted(TERMINAL_SUBMISSION_STATUSES)}) THEN now() END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, status text) WHERE s.id = v.id
    """
)


async def set_submission_statuses(session: AsyncSession, statuses: dict[uuid.UUID, str]) -> None:
    """Store submissions' statuses, each derived by :func:`submission_status` from its counters."""
    if statuses:
        rows = [{"id": submission_id, "status": status} for submission_id, status in statuses.items()]
        await session.execute(SET_SUBMISSION_STATUSES, {"rows": dumps(rows)})


# A running submission whose every unfinished step is parked for budget waits for it; one waiting whose
# steps can move again runs. Only this wait is decided here: every other submission status follows its
# runs (:func:`submission_status`). Callers lock the submission rows first (:data:`LOCK_SUBMISSIONS`), so
# this statement's fresh look at the steps sees every transaction that changed them before.
_WAIT = "waiting_for_budget"
LOCK_SUBMISSIONS = text("SELECT id FROM submissions WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE")
REFLECT_BUDGET_WAITS = text(
    f"""
    UPDATE submissions s SET status = v.target
    FROM (
        SELECT w.id,
               CASE WHEN EXISTS (SELECT 1 FROM step_results st
                                 WHERE st.status = 'budget_exhausted' AND st.org_id = w.org_id
                                   AND st.submission_id = w.id)
                     AND NOT EXISTS (SELECT 1 FROM step_results st
                                     WHERE st.submission_id = w.id
                                       AND st.status IN ({quoted((*PENDING_STEP_STATUSES, "running"))}))
                    THEN 'waiting_for_budget' ELSE 'running' END AS target
        FROM submissions w WHERE w.id = ANY(:ids) AND w.status IN ('running', 'waiting_for_budget')
    ) v
    WHERE s.id = v.id AND s.status <> v.target
      AND ((v.target = 'waiting_for_budget' AND s.status IN ({quoted(sources("submission", _WAIT))}))
           OR (v.target = 'running' AND s.status IN ({quoted(sources("submission", "running"))})))
    RETURNING s.id, s.status, s.org_id, s.company_id, s.blueprint_id, s.runs_total, s.runs_running,
              s.runs_succeeded, s.runs_failed, s.runs_canceled
    """
)
