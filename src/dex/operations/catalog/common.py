"""Helpers the single-provider operation families share (no operations of its own)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import ALIASES, OperationInput
from dex.providers.base import AdapterResult

Handler = Callable[[Invocation], Awaitable[Outcome]]


def operation_status(result: AdapterResult) -> str:
    """A single provider's attempt as an operation status. ``found`` and ``not_found`` pass through; a
    failed attempt, and a skipped one (no credentials), leave the operation ``failed`` — never ``skipped``,
    which is not an operation status."""
    return result.status if result.status in ("found", "not_found") else "failed"


class TextInput(OperationInput):
    """The input in which a canonical text key (``company_domain``, ``full_name``…) is present only when it
    holds usable text."""

    def has(self, key: str) -> bool:
        return self.text(key) is not None if key in ALIASES else super().has(key)


def requires_text(handler: Handler) -> Handler:
    """Fail, before any provider call, when a requirement holds only through a non-text value
    (``company_domain: 17``, ``company_name: ["Acme"]``), so no provider is paid to look up nothing."""

    @functools.wraps(handler)
    async def guarded(inv: Invocation) -> Outcome:
        if inv.spec.requirements.missing(TextInput(inv.input.raw)):
            return Outcome("failed")
        return await handler(inv)

    return guarded
