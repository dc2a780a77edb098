"""Which org a request of the original runner is about, when it names no org.

That runner sends the internal key alone on its ``/api/internal/*`` calls (no ``x-internal-org-id``): the
key already stands for every org, and each body names a run, step or submission. dex then acts for the
org owning the row the body names, exactly as if the header had named that org; a body naming a row of no
org gets the endpoint's usual 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.errors import NotFound
from dex.pipeline.models import PipelineRun, StepResult, Submission

# Body field → (table it names, the 404 when no row matches), in the order they are consulted.
NAMED_ROWS: tuple[tuple[str, Any, str], ...] = (
    ("pipeline_run_id", PipelineRun, "Pipeline run not found"),
    ("parent_pipeline_run_id", PipelineRun, "Parent pipeline run not found"),
    ("step_result_id", StepResult, "Step result not found"),
    ("submission_id", Submission, "Submission not found"),
)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def owning_org(session: AsyncSession, body: Any) -> uuid.UUID | None:
    """The org owning the first row ``body`` names (404 if it names one no org owns); None when the body
    names no row at all (the caller then needs the org header)."""
    if not isinstance(body, dict):
        return None
    for field, model, missing in NAMED_ROWS:
        if field not in body:
            continue
        row_id = _uuid(body[field])
        if row_id is None:
            return None  # not an id: the body's own validation reports it
        org_id = await session.scalar(select(model.org_id).where(model.id == row_id))
        if org_id is None:
            raise NotFound(missing)
        return org_id
    return None
