"""Parallel.ai Task API emulation, key in the ``x-api-key`` header.

POST ``/v1/tasks/runs`` creates a run (202, status ``queued``, billed); GET ``/v1/tasks/runs/{run_id}``
reports ``queued`` for the first ``QUEUED_MS``, ``running`` until ``RUN_DURATION_MS`` and ``completed``
after; GET ``/v1/tasks/runs/{run_id}/result`` answers ``{"run", "output": {"type": "json", "content",
"basis"}}``, waiting for the run to complete first as Parallel's does. Status reads and result fetches are
free.

Runs are kept in a bounded in-memory map on the sandbox app (the oldest forgotten first): a run carries an
arbitrary input object and output schema, too much to encode in its id.

The emulation answers any task whose input designates a person or a company of the sandbox world, filling
each output property it recognises and leaving the others null:

- input: ``linkedin_url`` / ``person_linkedin_url`` / ``profile_url`` (a person, or a company LinkedIn URL),
  ``company_linkedin_url``, ``company_domain`` / ``domain`` / ``company_website`` / ``website``, ``company`` /
  ``company_name`` (a name or a domain), and ``full_name`` (or ``person_full_name`` / ``person_name``) or
  ``first_name`` + ``last_name`` for a person at that company;
- output: see ``PERSON_FIELDS`` and ``COMPANY_FIELDS`` (``linkedin_url``, ``location`` and ``name``
  describe the person when the input designates one, else the company).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import company_named, known, section, text
from dex.sandbox.world import (
    Company,
    Person,
    company_for_domain,
    company_for_linkedin,
    find_person,
    person_for_linkedin,
)

router = APIRouter(prefix="/parallel", tags=["parallel"])

PROVIDER = "parallel"
QUEUED_MS = 30
RUN_DURATION_MS = 100
MAX_REMEMBERED_RUNS = 10_000

PERSON_FIELDS: dict[str, Callable[[Person], Any]] = {
    "email": lambda p: p.work_email,
    "work_email": lambda p: p.work_email,
    "linkedin_url": lambda p: p.linkedin_url,
    "person_linkedin_url": lambda p: p.linkedin_url,
    "full_name": lambda p: p.full_name,
    "name": lambda p: p.full_name,
    "first_name": lambda p: p.first_name,
    "last_name": lambda p: p.last_name,
    "title": lambda p: p.title,
    "job_title": lambda p: p.title,
    "location": lambda p: p.location,
    "person_location": lambda p: p.location,
    "person_email": lambda p: p.work_email,
    "work_mail": lambda p: p.work_email,
    "city": lambda p: p.company.hq_city,
    "country": lambda p: p.company.hq_country_code,
}
COMPANY_FIELDS: dict[str, Callable[[Company], Any]] = {
    "company_name": lambda c: c.name,
    "name": lambda c: c.name,
    "company_domain": lambda c: c.domain,
    "domain": lambda c: c.domain,
    "company_website": lambda c: c.website,
    "website": lambda c: c.website,
    "company_linkedin_url": lambda c: c.linkedin_url,
    "linkedin_url": lambda c: c.linkedin_url,
    "description": lambda c: c.description,
    "company_description": lambda c: c.description,
    "hq_location": lambda c: f"{c.hq_city}, {c.hq_country_code}",
    "location": lambda c: f"{c.hq_city}, {c.hq_country_code}",
    "hq_city": lambda c: c.hq_city,
    "hq_country_code": lambda c: c.hq_country_code,
    "hq_country": lambda c: c.hq_country_code,
    "employee_range": lambda c: c.employee_range,
    "employee_count": lambda c: c.employee_count,
    "industry": lambda c: c.industry,
    "founded_year": lambda c: c.founded_year,
}


@dataclass(frozen=True)
class Run:
    run_id: str
    processor: str
    input: Any
    output_fields: tuple[str, ...]
    created: float  # epoch seconds

    def status(self) -> str:
        elapsed_ms = (time.time() - self.created) * 1000
        if elapsed_ms < QUEUED_MS:
            return "queued"
        return "running" if elapsed_ms < RUN_DURATION_MS else "completed"

    def describe(self) -> dict[str, Any]:
        status = self.status()
        return {
            "run_id": self.run_id,
            "status": status,
            "is_active": status != "completed",
            "processor": self.processor,
            "metadata": {},
            "created_at": _iso(self.created),
            "modified_at": _iso(time.time()),
        }


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


def _runs(request: Request) -> OrderedDict[str, Run]:
    state = request.app.state
    if not hasattr(state, "parallel_runs"):
        state.parallel_runs = OrderedDict()
    return state.parallel_runs


def _authorized(request: Request) -> bool:
    return request.headers.get("x-api-key") == sandbox_credential(PROVIDER)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"ref_id": uuid.uuid4().hex, "message": message}}, status)


def _company(data: dict[str, Any]) -> Company | None:
    if url := text(data, "company_linkedin_url"):
        return company_for_linkedin(url)
    for key in ("company_domain", "domain", "company_website", "website"):
        if domain := text(data, key):
            return company_for_domain(domain)
    for key in ("company", "company_name"):
        if name := text(data, key):
            return company_for_domain(name) if "." in name else company_named(name)
    return None


def _subject(data: dict[str, Any]) -> tuple[Person | None, Company | None]:
    """The person and/or company a task input designates."""
    for key in ("linkedin_url", "person_linkedin_url", "profile_url"):
        if url := text(data, key):
            person = person_for_linkedin(url)
            return (person, person.company) if person else (None, company_for_linkedin(url))
    company = _company(data)
    names = {key: text(data, key) or "" for key in ("full_name", "first_name", "last_name")}
    # Other spellings of a full name some task inputs use.
    names["full_name"] = (
        names["full_name"] or text(data, "person_full_name") or text(data, "person_name") or ""
    )
    if company is None or not any(names.values()):
        return None, company
    person = find_person(company, **names)
    # A named person who does not work there is unknown: the company's data must not answer for them.
    return (person, company) if person else (None, None)


def _output(request: Request, run: Run) -> dict[str, Any]:
    """The run's JSON output: every requested field the world can fill (null when unknown), each filled one
    with its basis."""
    person, company = _subject(run.input if isinstance(run.input, dict) else {})
    content: dict[str, Any] = dict.fromkeys(run.output_fields)
    key = person.person_id if person else company.domain if company else None
    if company is not None and key is not None and known(request, PROVIDER, key):
        for field in run.output_fields:
            if person is not None and field in PERSON_FIELDS:
                content[field] = PERSON_FIELDS[field](person)
            elif field in COMPANY_FIELDS:
                content[field] = COMPANY_FIELDS[field](company)
    basis = [
        {
            "field": field,
            "citations": [{"url": company.website, "excerpts": []}] if company else [],
            "reasoning": f"The {field} was found in public sources.",
            "confidence": "high",
        }
        for field, value in content.items()
        if value is not None
    ]
    return {"type": "json", "content": content, "basis": basis}


@router.post("/v1/tasks/runs")
async def create_run(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> JSONResponse:
        processor = text(payload, "processor")
        if processor is None or payload.get("input") in (None, "", {}):
            return _error(422, "input and processor are required")
        schema = section(section(section(payload, "task_spec"), "output_schema"), "json_schema")
        run = Run(
            run_id=f"trun_{uuid.uuid4().hex}",
            processor=processor,
            input=payload["input"],
            output_fields=tuple(section(schema, "properties")),
            created=time.time(),
        )
        runs = _runs(request)
        runs[run.run_id] = run
        while len(runs) > MAX_REMEMBERED_RUNS:
            runs.popitem(last=False)
        return JSONResponse(run.describe(), 202)

    return await sandbox_state(request).handle(
        request, PROVIDER, "create_run", authorized=_authorized(request), answer=answer
    )


@router.get("/v1/tasks/runs/{run_id}")
async def retrieve_run(request: Request, run_id: str):
    def answer() -> JSONResponse | dict[str, Any]:
        run = _runs(request).get(run_id)
        return run.describe() if run else _error(404, f"Run {run_id} not found")

    return await sandbox_state(request).handle(
        request, PROVIDER, "retrieve_run", authorized=_authorized(request), answer=answer, billable=False
    )


@router.get("/v1/tasks/runs/{run_id}/result")
async def run_result(request: Request, run_id: str):
    async def answer() -> JSONResponse | dict[str, Any]:
        run = _runs(request).get(run_id)
        if run is None:
            return _error(404, f"Run {run_id} not found")
        # Parallel's result endpoint blocks until the run has completed.
        await asyncio.sleep(max(0.0, run.created + RUN_DURATION_MS / 1000 - time.time()))
        return {"run": run.describe(), "output": _output(request, run)}

    return await sandbox_state(request).handle(
        request, PROVIDER, "run_result", authorized=_authorized(request), answer=answer, billable=False
    )
