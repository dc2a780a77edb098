"""Helpers the single-provider operation families share (no operations of its own)."""

from __future__ import annotations

from dex.providers.base import AdapterResult


def operation_status(result: AdapterResult) -> str:
    """A single provider's attempt as an operation status. ``found`` and ``not_found`` pass through; a
    failed attempt, and a skipped one (no credentials), leave the operation ``failed`` — never ``skipped``,
    which is not an operation status."""
    return result.status if result.status in ("found", "not_found") else "failed"
