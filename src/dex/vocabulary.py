"""Status vocabularies of runs, steps and submissions. Legal transitions live in ``pipeline/states.py``."""

from typing import Literal, get_args

EntityType = Literal["company", "person"]
ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
STEP_STATUSES = ("queued", "running", "succeeded", "failed", "skipped", "retrying", "budget_exhausted")
SUBMISSION_STATUSES = ("received", "validated", "queued", "running", "completed", "failed", "canceled")
