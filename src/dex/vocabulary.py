"""Status vocabularies of runs, steps and submissions. Legal transitions live in ``pipeline/states.py``."""

ENTITY_TYPES = ("company", "person")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
STEP_STATUSES = ("queued", "running", "succeeded", "failed", "skipped", "retrying", "budget_exhausted")
SUBMISSION_STATUSES = (
    "received",
    "validated",
    "queued",
    "running",
    "waiting_for_budget",
    "completed",
    "failed",
    "canceled",
)
