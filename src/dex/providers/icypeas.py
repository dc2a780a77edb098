"""Icypeas — asynchronous email search. The key goes raw in ``Authorization`` (no
"Bearer"). POST ``/email-search`` starts a search and answers its id at ``item._id``; POST
``/bulk-single-searchs/read`` with that id is then polled until the search leaves NONE / SCHEDULED /
IN_PROGRESS. Only the search is billed: the reads are free (``billable=False``).

Poll timing (``ICYPEAS_POLL_INTERVAL_MS`` / ``ICYPEAS_MAX_WAIT_MS``) is passed in by the caller and kept out
of the enrichment-cache key (``unkeyed``): it says how to wait, not what is asked.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dex.normalize import clean_text, normalize_email
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "icypeas"
PENDING_STATUSES = frozenset({"NONE", "SCHEDULED", "IN_PROGRESS"})
# Terminal statuses that say nothing about the person (the input was refused, the account ran dry, or the
# search was cancelled): a failure, so that no "not found" is cached for someone Icypeas never looked for.
# The others are NOT_FOUND / DEBITED_NOT_FOUND (looked, nothing) and FOUND / DEBITED (an address).
UNSEARCHED_STATUSES = frozenset({"BAD_INPUT", "INSUFFICIENT_FUNDS", "ABORTED"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict[str, Any]:
    return _dict(value[0]) if isinstance(value, list) and value else {}


@adapter(PROVIDER, "find_email", unkeyed=("poll_interval_ms", "max_wait_ms"))
async def find_email(
    call: ProviderCall,
    *,
    first_name: str | None,
    last_name: str | None,
    domain_or_company: str | None,
    poll_interval_ms: int,
    max_wait_ms: int,
) -> AdapterResult:
    """The work email of a person at a company (domain preferred, else name). Icypeas accepts a search with
    only one of the name parts; without either, or without the company, the search is not sent."""
    if not (first_name or last_name):
        return call.result("skipped", skip_reason="missing_name_input")
    if not domain_or_company:
        return call.result("skipped", skip_reason="missing_required_inputs")
    headers = {"Authorization": call.key}
    submitted = await call.request(
        "POST",
        "/email-search",
        headers=headers,
        json_body={
            "firstname": first_name or "",
            "lastname": last_name or "",
            "domainOrCompany": domain_or_company,
        },
    )
    if not submitted.ok:
        return call.failed_response(submitted)
    search_id = clean_text(_dict(submitted.json_body.get("item")).get("_id"))
    if search_id is None:
        return call.result("failed", submitted, error="missing_search_id")

    deadline = time.monotonic() + max_wait_ms / 1000
    while True:
        await asyncio.sleep(max(0.0, min(poll_interval_ms / 1000, deadline - time.monotonic())))
        read = await call.request(
            "POST", "/bulk-single-searchs/read", headers=headers, json_body={"id": search_id}, billable=False
        )
        outcome = _search_outcome(call, read, search_id)
        if outcome is not None:
            return outcome
        if time.monotonic() >= deadline:
            return call.result("failed", read, error="poll_timeout", search_id=search_id)


def _search_outcome(call: ProviderCall, read: ProviderResponse, search_id: str) -> AdapterResult | None:
    """The attempt a read of the search comes to, or None while the search is still pending."""
    if not read.ok:
        return call.failed_response(read)
    item = _first(read.json_body.get("items"))
    if not item:
        return call.result("failed", read, error="missing_search_item", search_id=search_id)
    status = str(item.get("status") or "").strip().upper()
    if status in PENDING_STATUSES:
        return None
    if status in UNSEARCHED_STATUSES:
        return call.result("failed", read, provider_status=status, error=status.lower(), search_id=search_id)
    found = _first(_dict(item.get("results")).get("emails"))
    email = normalize_email(clean_text(found.get("email")) or "")
    if email is None:
        return call.result("not_found", read, provider_status=status or None, search_id=search_id)
    mapped = {"email": email, "certainty": clean_text(found.get("certainty"))}
    return call.result("found", read, mapped=mapped, provider_status=status, search_id=search_id)


# Icypeas' subscription route needs the account's email, which dex does not hold; reading a search is free
# and answers 401 for a bad key, so a read of an id that names no search checks the key.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/bulk-single-searchs/read",
    lambda credentials: ProbeRequest(
        headers={"Authorization": credentials[0]}, json_body={"id": "dex-key-check"}
    ),
)
