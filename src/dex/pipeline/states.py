"""The one place that says which run, step and submission status changes are legal.

Writers never set a status directly: they ask :func:`sources` for the statuses a target may be reached
from and put them in the ``WHERE`` of their ``UPDATE``, so an illegal change cannot happen even between
racing processes; :func:`check` raises :class:`IllegalTransition` for a change attempted in memory.
A submission's status is not stored independently: :func:`submission_status` derives it from its run
counters, which move in the same transaction as the runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from dex.pipeline.vocabulary import RUN_STATUSES, STEP_STATUSES, SUBMISSION_STATUSES


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
    # Resume puts a failed submission back to work.
    "failed": frozenset({"running"}),
    "completed": frozenset(),
    "canceled": frozenset(),
}

TABLES = {"run": RUN_TRANSITIONS, "step": STEP_TRANSITIONS, "submission": SUBMISSION_TRANSITIONS}
TERMINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "canceled"})
TERMINAL_STEP_STATUSES = frozenset({"succeeded", "failed", "skipped"})

assert set(RUN_TRANSITIONS) == set(RUN_STATUSES)
assert set(STEP_TRANSITIONS) == set(STEP_STATUSES)
assert set(SUBMISSION_TRANSITIONS) == set(SUBMISSION_STATUSES)


def check(kind: str, current: str, target: str) -> None:
    if target not in TABLES[kind].get(current, frozenset()):
        raise IllegalTransition(f"{kind} cannot go from {current} to {target}")


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


def submission_status(counters: RunCounters, *, canceled: bool = False, waiting: bool = False) -> str:
    """Derived from all runs at every depth: completed when all succeeded; once every run has finished,
    failed if any failed, else canceled if any was canceled; running while any run has started or
    finished — ``waiting_for_budget`` instead while ``waiting`` (every unfinished step parked for budget,
    which ``dex.pipeline.budget_waits`` decides); queued before that; received with no runs. (The
    reference declared a submission failed while siblings still ran, and left an all-canceled one
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
