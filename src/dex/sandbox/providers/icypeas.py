"""Icypeas emulation: JSON POSTs with the raw key in ``Authorization`` (no "Bearer").

POST ``/email-search`` starts a search and answers ``{"success": true, "item": {"_id", "status": "NONE"}}``;
POST ``/bulk-single-searchs/read`` with ``{"id"}`` answers ``{"success": true, "items": [item]}``. A search
reports NONE, SCHEDULED, then IN_PROGRESS during its first ``SEARCH_DURATION_MS`` and then its terminal
status: DEBITED with the address in ``results.emails``, or NOT_FOUND.

The search id carries the request and its start time (base64 of JSON), so any sandbox process answers a read
without shared memory. The search is billed; reads are not.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import company_named, known, text
from dex.sandbox.world import Company, Person, company_for_domain, find_person

router = APIRouter(prefix="/icypeas", tags=["icypeas"])

PROVIDER = "icypeas"
SEARCH_DURATION_MS = 45
# The pending statuses, in the order a search goes through them (each for a third of the duration).
PENDING_PHASES = ("NONE", "SCHEDULED", "IN_PROGRESS")


def _authorized(request: Request) -> bool:
    return request.headers.get("authorization") == sandbox_credential(PROVIDER)


def _search_id(firstname: str, lastname: str, domain_or_company: str, started_ms: int) -> str:
    payload = json.dumps([firstname, lastname, domain_or_company, started_ms], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_search_id(search_id: str) -> tuple[str, str, str, int] | None:
    try:
        payload = json.loads(base64.urlsafe_b64decode(search_id + "=" * (-len(search_id) % 4)))
        firstname, lastname, domain_or_company, started_ms = payload
    except (ValueError, TypeError):
        return None
    if not all(isinstance(part, str) for part in (firstname, lastname, domain_or_company)):
        return None
    return firstname, lastname, domain_or_company, int(started_ms)


def _company(domain_or_company: str) -> Company:
    return (
        company_for_domain(domain_or_company)
        if "." in domain_or_company
        else company_named(domain_or_company)
    )


def _person(firstname: str, lastname: str, domain_or_company: str) -> Person | None:
    return find_person(_company(domain_or_company), first_name=firstname, last_name=lastname)


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _item(request: Request, search_id: str) -> dict[str, Any] | None:
    decoded = _decode_search_id(search_id)
    if decoded is None:
        return None
    firstname, lastname, domain_or_company, started_ms = decoded
    elapsed_ms = int(time.time() * 1000) - started_ms
    emails: list[dict[str, Any]] = []
    # A search is pending for its duration and, in this process, at its first read whatever the clock
    # says: a client always meets the pending statuses, however late its first poll comes.
    state = sandbox_state(request)
    first_read = state.first_sight(f"icypeas-search:{search_id}")
    duration_ms = state.config.behaviour(PROVIDER).job_duration_ms or SEARCH_DURATION_MS
    if elapsed_ms < duration_ms or first_read:
        phase = min(int(max(0, elapsed_ms) * len(PENDING_PHASES) // duration_ms), len(PENDING_PHASES) - 1)
        status = PENDING_PHASES[phase]
    else:
        person = _person(firstname, lastname, domain_or_company)
        if person is not None and known(request, PROVIDER, person.person_id):
            emails = [
                {
                    "email": person.work_email,
                    "certainty": "ultra_sure",
                    "mxProvider": "google",
                    "mxRecords": ["aspmx.l.google.com"],
                }
            ]
        status = "DEBITED" if emails else "NOT_FOUND"
    return {
        "_id": search_id,
        "status": status,
        "order": 0,
        "results": {
            "firstname": firstname,
            "lastname": lastname,
            "fullname": f"{firstname} {lastname}".strip(),
            "gender": "UNKNOWN",
            "emails": emails,
            "phones": [],
        },
        "system": {"createdAt": _iso(started_ms), "modifiedAt": _iso(started_ms + max(0, elapsed_ms))},
        "userData": {},
    }


@router.post("/email-search")
async def email_search(request: Request, body: Any = Body(default=None)):
    def answer() -> JSONResponse | dict[str, Any]:
        data = body if isinstance(body, dict) else {}
        firstname, lastname = text(data, "firstname") or "", text(data, "lastname") or ""
        domain_or_company = text(data, "domainOrCompany")
        errors = []
        if not (firstname or lastname):
            errors.append({"field": "firstname", "message": "firstname or lastname is required"})
        if domain_or_company is None:
            errors.append({"field": "domainOrCompany", "message": "domainOrCompany is required"})
        if errors or domain_or_company is None:
            return JSONResponse({"success": False, "validationErrors": errors}, 400)
        search_id = _search_id(firstname, lastname, domain_or_company, int(time.time() * 1000))
        return {"success": True, "item": {"_id": search_id, "status": PENDING_PHASES[0]}}

    return await sandbox_state(request).handle(
        request, PROVIDER, "email_search", authorized=_authorized(request), answer=answer
    )


@router.post("/bulk-single-searchs/read")
async def read_search(request: Request, body: Any = Body(default=None)):
    def answer() -> JSONResponse | dict[str, Any]:
        search_id = text(body if isinstance(body, dict) else {}, "id")
        if search_id is None:
            return JSONResponse(
                {"success": False, "validationErrors": [{"field": "id", "message": "id is required"}]}, 400
            )
        item = _item(request, search_id)
        return {"success": True, "items": [item] if item else [], "total": 1 if item else 0}

    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "read_search",
        authorized=_authorized(request),
        answer=answer,
        billable=False,
    )
