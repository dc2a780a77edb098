"""Helpers the single-provider operation families share (no operations of its own)."""

from __future__ import annotations

from dex.providers.base import AdapterResult


def operation_status(result: AdapterResult) -> str:
    """A single provider's attempt as an operation status. ``found`` and ``not_found`` pass through; a
    failed attempt, and a skipped one (no credentials), leave the operation ``failed`` — never ``skipped``,
    which is not an operation status."""
    return result.status if result.status in ("found", "not_found") else "failed"


# Fields the record-level operations (carriers, jobs, dockets, filings, permits, markets) echo or carry on
# their items, but that the company and person enrichments are the authority for: left out of those
# operations' declared outputs, so the assembler never reaches for a permit search to learn a company's
# name or a person's city.
ECHOED_FIELDS = frozenset(
    {
        "company_name",
        "company_domain",
        "domain",
        "name",
        "linkedin_url",
        "city",
        "email",
        "employee_count",
        "confidence",
        "country",
        "country_code",
        "description",
        "job_title",
        "location",
        "seniority",
    }
)


def distinctive(*fields: str) -> tuple[str, ...]:
    """``fields`` without the echoed ones, in order, each once."""
    return tuple(field for field in dict.fromkeys(fields) if field not in ECHOED_FIELDS)
