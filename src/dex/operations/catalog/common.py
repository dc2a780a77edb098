"""Helpers the single-provider operation families share (no operations of its own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dex.operations.engine import Invocation, Outcome
from dex.providers.base import AdapterResult

Handler = Callable[[Invocation], Awaitable[Outcome]]


def operation_status(result: AdapterResult) -> str:
    """A single provider's attempt as an operation status. ``found`` and ``not_found`` pass through; a
    failed attempt, and a skipped one (no credentials), leave the operation ``failed`` — never ``skipped``,
    which is not an operation status."""
    return result.status if result.status in ("found", "not_found") else "failed"
