"""The state machine's submission statuses: waiting for budget is a kind of running, never a finish."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dex.pipeline import states
from dex.pipeline.vocabulary import SUBMISSION_STATUSES


@st.composite
def counters(draw: st.DrawFn) -> states.RunCounters:
    running, succeeded, failed, canceled, pending = (draw(st.integers(0, 5)) for _ in range(5))
    total = running + succeeded + failed + canceled + pending
    return states.RunCounters(total, running, succeeded, failed, canceled)


@given(counters(), st.booleans())
def test_waiting_only_replaces_running(run_counters: states.RunCounters, canceled: bool) -> None:
    plain = states.submission_status(run_counters, canceled=canceled)
    waiting = states.submission_status(run_counters, canceled=canceled, waiting=True)
    assert waiting == ("waiting_for_budget" if plain == "running" else plain)
    assert waiting in SUBMISSION_STATUSES


def test_a_waiting_submission_resumes_or_finishes_and_a_running_one_may_wait() -> None:
    assert states.sources("submission", "waiting_for_budget") == ("running",)
    for target in ("running", "completed", "failed", "canceled"):
        states.check("submission", "waiting_for_budget", target)
    assert "waiting_for_budget" in states.sources("submission", "running")
    assert states.SUBMISSION_TRANSITIONS["completed"] == frozenset()
