"""Parallel.ai Task API, key in the ``x-api-key`` header.

A task run is asynchronous, so every adapter here performs Parallel's documented lifecycle: POST
``/v1/tasks/runs`` creates the run (status ``queued``, billed), GET ``/v1/tasks/runs/{run_id}`` is polled
while the run is ``queued`` / ``running`` / ``cancelling``, and once it is ``completed`` GET
``/v1/tasks/runs/{run_id}/result`` returns ``output.content``. Status reads and the result fetch are free
(``billable=False``). The seed system read only the creation answer and so almost never found anything.

Polling starts after a short delay and doubles up to a cap: runs of the fast processors finish in seconds and
are picked up promptly, long ones are not hammered. The wait is bounded by ``max_wait_ms``; a run still active
then is a ``failed`` attempt with error ``poll_timeout``.

:func:`run_task` is the generic entry point (one structured lookup, JSON in, JSON out); :func:`find_email` is
the email findability task of ``person.contact.resolve_email`` built on the same lifecycle.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dex.normalize import clean_text, normalize_email, normalize_linkedin_url
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "parallel"
ACTIVE_STATUSES = frozenset({"queued", "running", "cancelling"})
FIRST_POLL_DELAY_SECONDS = 0.05
MAX_POLL_INTERVAL_SECONDS = 5.0
DEFAULT_MAX_WAIT_MS = 180_000

EMAIL_TASK_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "full_name": {"type": "string", "description": "The person's full name."},
        "company": {"type": "string", "description": "The person's employer: company name or domain."},
    },
    "required": ["full_name", "company"],
}
EMAIL_TASK_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {
            "type": ["string", "null"],
            "description": "The person's work email address at that company; null if it cannot be found.",
        },
        "linkedin_url": {
            "type": ["string", "null"],
            "description": "The person's LinkedIn profile URL; null if it cannot be found.",
        },
    },
    "required": ["email", "linkedin_url"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class CompletedRun:
    run_id: str
    result: ProviderResponse  # the answer of the result fetch

    @property
    def output(self) -> dict[str, Any]:
        output = self.result.json_body.get("output")
        return output if isinstance(output, dict) else {}


@adapter(PROVIDER, "run_task", unkeyed=("max_wait_ms",))
async def run_task(
    call: ProviderCall,
    *,
    input: dict[str, Any],
    output_schema: dict[str, Any],
    processor: str,
    input_schema: dict[str, Any] | None = None,
    max_wait_ms: int = DEFAULT_MAX_WAIT_MS,
) -> AdapterResult:
    """Run one Parallel task to completion and return its structured output.

    - ``input``: the task's input object (e.g. ``{"company_domain": "acme.io"}``).
    - ``output_schema``: the JSON Schema of the output object; the ``description`` of each property is the
      research instruction Parallel follows. Sent as ``task_spec.output_schema = {"type": "json",
      "json_schema": output_schema}``.
    - ``processor``: Parallel processor (``lite``, ``base``, ``core``, …; dex's default is the
      ``PARALLEL_PROCESSOR`` setting, which the caller passes).
    - ``input_schema``: optional JSON Schema of ``input`` (Parallel validates the input against it).
    - ``max_wait_ms``: how long to wait for the run to finish before giving up (``poll_timeout``; the run
      created is still paid for).

    Every keyword input is part of the enrichment-cache key (so leave ``max_wait_ms`` at its default unless
    a lookup needs another bound), and the same lookup for the same org is paid once.
    Status ``found`` when the output has at least one non-empty value, else ``not_found``; ``mapped`` is
    ``{"run_id", "content", "basis"}`` — ``content`` the output object, ``basis`` Parallel's per-field
    citations / reasoning / confidence.
    """
    run = await _run_to_completion(
        call,
        input=input,
        output_schema=output_schema,
        processor=processor,
        input_schema=input_schema,
        max_wait_ms=max_wait_ms,
    )
    if isinstance(run, AdapterResult):
        return run
    content = run.output.get("content")
    if not _has_value(content):
        return call.result("not_found", run.result, provider_status="completed", run_id=run.run_id)
    basis = run.output.get("basis")
    mapped = {"run_id": run.run_id, "content": content, "basis": basis if isinstance(basis, list) else []}
    return call.result("found", run.result, mapped=mapped, provider_status="completed", run_id=run.run_id)


@adapter(PROVIDER, "find_email")
async def find_email(
    call: ProviderCall, *, full_name: str | None, company: str | None, processor: str
) -> AdapterResult:
    """The work email (and LinkedIn URL) of ``full_name`` at ``company`` (a name or a domain); ``found`` iff
    the run produced an email address. Without both no run is created (``missing_required_inputs``)."""
    if not (full_name and company):
        return call.result("skipped", skip_reason="missing_required_inputs")
    run = await _run_to_completion(
        call,
        input={"full_name": full_name, "company": company},
        output_schema=EMAIL_TASK_OUTPUT_SCHEMA,
        processor=processor,
        input_schema=EMAIL_TASK_INPUT_SCHEMA,
        max_wait_ms=DEFAULT_MAX_WAIT_MS,
    )
    if isinstance(run, AdapterResult):
        return run
    content = run.output.get("content")
    content = content if isinstance(content, dict) else {}
    email = normalize_email(clean_text(content.get("email")) or "")
    if email is None:
        return call.result("not_found", run.result, provider_status="completed", run_id=run.run_id)
    linkedin_url = clean_text(content.get("linkedin_url"))
    mapped = {"email": email, "linkedin_url": normalize_linkedin_url(linkedin_url) if linkedin_url else None}
    return call.result("found", run.result, mapped=mapped, provider_status="completed", run_id=run.run_id)


async def _run_to_completion(
    call: ProviderCall,
    *,
    input: dict[str, Any],
    output_schema: dict[str, Any],
    processor: str,
    input_schema: dict[str, Any] | None,
    max_wait_ms: int,
) -> CompletedRun | AdapterResult:
    """Create the run, wait for it, fetch its result: the completed run, or the failed attempt."""
    headers = {"x-api-key": call.key}
    task_spec: dict[str, Any] = {"output_schema": {"type": "json", "json_schema": output_schema}}
    if input_schema is not None:
        task_spec["input_schema"] = {"type": "json", "json_schema": input_schema}
    created = await call.request(
        "POST",
        "/v1/tasks/runs",
        headers=headers,
        json_body={"input": input, "processor": processor, "task_spec": task_spec},
    )
    if not created.ok:
        return call.failed_response(created)
    run_id = clean_text(created.json_body.get("run_id"))
    if run_id is None:
        return call.result("failed", created, error="missing_run_id")
    run_path = f"/v1/tasks/runs/{quote(run_id, safe='')}"

    deadline = time.monotonic() + max_wait_ms / 1000
    delay = FIRST_POLL_DELAY_SECONDS
    latest, status = created, _status(created)
    while status in ACTIVE_STATUSES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return call.result("failed", latest, provider_status=status, error="poll_timeout", run_id=run_id)
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_INTERVAL_SECONDS)
        latest = await call.request("GET", run_path, headers=headers, billable=False)
        if not latest.ok:
            return call.failed_response(latest)
        status = _status(latest)
    if status != "completed":
        error = latest.json_body.get("error")
        message = clean_text(error.get("message")) if isinstance(error, dict) else clean_text(error)
        return call.result(
            "failed",
            latest,
            provider_status=status or None,
            error=message or f"run_{status or 'unknown'}",
            run_id=run_id,
        )
    result = await call.request("GET", f"{run_path}/result", headers=headers, billable=False)
    if not result.ok:
        return call.failed_response(result)
    return CompletedRun(run_id, result)


def _status(response: ProviderResponse) -> str:
    return str(response.json_body.get("status") or "").strip().lower()


def _has_value(value: Any) -> bool:
    """Whether an output holds anything: a non-blank string, a number or boolean, or a container of those."""
    if isinstance(value, dict):
        return any(_has_value(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_value(item) for item in value)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


# Parallel has no account endpoint; reading a run that does not exist is free and answers 404 for a good key.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/v1/tasks/runs/dex-key-check",
    lambda credentials: ProbeRequest(headers={"x-api-key": credentials[0]}),
    accepted=frozenset({200, 404}),
)
