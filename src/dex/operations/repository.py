"""Writes of operation history: one operation_runs row and its attempts, in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dex.operations.engine import OperationResult
from dex.operations.models import OperationAttempt, OperationRun
from dex.tenancy.context import AuthContext


def operation_run_row(
    result: OperationResult,
    *,
    auth: AuthContext,
    input_payload: dict[str, Any],
    pipeline_run_id: uuid.UUID | None = None,
    step_result_id: uuid.UUID | None = None,
    submission_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "org_id": auth.org_id,
        "company_id": auth.company_id,
        "user_id": auth.user_id,
        "role": auth.role,
        "auth_method": auth.auth_method,
        "operation_id": result.operation_id,
        "entity_type": result.entity_type,
        "status": result.status,
        "missing_inputs": result.missing_inputs,
        "input_payload": input_payload,
        "output_payload": result.output,
        "pipeline_run_id": pipeline_run_id,
        "step_result_id": step_result_id,
        "submission_id": submission_id,
        "cost_credits": result.cost_credits,
        "duration_ms": result.duration_ms,
    }


def attempt_rows(result: OperationResult, org_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "run_id": result.run_id,
            "org_id": org_id,
            "sequence": index,
            "provider": attempt.provider,
            "action": attempt.action,
            "status": attempt.status,
            "skip_reason": attempt.skip_reason,
            "http_status": attempt.http_status,
            "provider_status": attempt.provider_status,
            "duration_ms": attempt.duration_ms,
            "raw_response": attempt.raw_response,
            "http_attempts": attempt.http_attempts,
            "cached": attempt.cached,
            "sandbox": attempt.sandbox,
            "cost_credits": attempt.cost_credits,
            "saved_credits": attempt.saved_credits,
        }
        for index, attempt in enumerate(result.attempts)
    ]


async def record_operation_runs(
    session: AsyncSession, runs: list[dict[str, Any]], attempts: list[dict[str, Any]]
) -> None:
    """Bulk-insert operation runs and their attempts (the executor batches many steps into one call)."""
    if runs:
        await session.execute(insert(OperationRun), runs)
    if attempts:
        await session.execute(insert(OperationAttempt), attempts)
