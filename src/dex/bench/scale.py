"""Workload C (scale): one very large submission, through the API and through ``dex submit`` (CSV), the
batch status of its first page, and an export of a very large entity table.

dex runs with its executor off (``DEX_EXECUTOR=none``): what is measured is accepting the batch and
reading it back, not processing it (A and B measure that)."""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
import time
from typing import Any

from dex.bench.pipeline import BLUEPRINT, MB, Progress, company_entities
from dex.bench.processes import BenchError, CpuWindow, WatchedProcess, dex_command, measured_processes
from dex.bench.stack import Stack, StackOptions, open_stack
from dex.sandbox.state import SandboxConfig

EXPORT_PATH = "/api/v1/entities/export"
STATUS_REPEATS = 5
CLI_SUBMIT_TIMEOUT_SECONDS = 1800


async def run_scale_workload(
    options: StackOptions, *, entities: int, export_rows: int, progress: Progress
) -> dict[str, Any]:
    async with open_stack(
        options,
        "c",
        blueprint=BLUEPRINT,
        sandbox_config=SandboxConfig(),
        dex_settings={"DEX_EXECUTOR": "none"},
        count_round_trips=False,
    ) as stack:
        window = CpuWindow(measured_processes(*stack.measured))
        progress(f"workload C: submitting {entities} entities through the API")
        result: dict[str, Any] = {"workload": "C", "entities": entities}
        result["api_submit"] = await _api_submit(stack, entities)
        progress("workload C: batch status, first page")
        result["status_first_page_ms"] = await _status_latency(stack, result["api_submit"]["submission_id"])
        progress(f"workload C: submitting {entities} entities with `dex submit` (CSV)")
        result["cli_submit"] = await _cli_submit(stack, options, entities, window)
        progress(f"workload C: exporting {export_rows} company entities")
        result["export"] = await _export(stack, export_rows)
        cpu, result["machine"] = window.close()
        result["cpu_seconds"] = {name: round(seconds, 3) for name, seconds in cpu.items()}
        return result


async def _api_submit(stack: Stack, entities: int) -> dict[str, Any]:
    batch = company_entities(entities, prefix="scale-api")
    stack.dex.watch.reset_peak()
    started = time.monotonic()
    submitted = await stack.client.submit(stack.blueprint["id"], batch, source="bench")
    return {
        "submission_id": submitted["submission_id"],
        "seconds": round(time.monotonic() - started, 3),
        "dex_peak_rss_mb": round(stack.dex.watch.peak_rss / MB, 1),
    }


async def _status_latency(stack: Stack, submission_id: str) -> dict[str, Any]:
    """``POST /api/v1/batch/status`` with the default page (1000 root runs), timed at the client, a few
    times (the first call meets cold caches)."""
    timings = []
    for _ in range(STATUS_REPEATS):
        started = time.monotonic()
        await stack.client.status(submission_id)
        timings.append((time.monotonic() - started) * 1000)
    return {
        "timings": [round(timing, 1) for timing in timings],
        "median": round(statistics.median(timings), 1),
    }


async def _cli_submit(
    stack: Stack, options: StackOptions, entities: int, window: CpuWindow
) -> dict[str, Any]:
    """``dex submit FILE --api-url … --token …`` in its own process, timed from its start to its
    "submitted N entities" line (it then follows the batch, which never ends with the executor off, so
    it is stopped there)."""
    path = options.run_dir / "c-companies.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["domain"])
    writer.writerows([entity["input"]["domain"]] for entity in company_entities(entities, prefix="scale-cli"))
    path.write_text(buffer.getvalue())
    token = await stack.create_api_token()
    command = dex_command(
        "submit", str(path), "--blueprint", BLUEPRINT["name"], "--api-url", stack.dex.url, "--token", token
    )
    stack.dex.watch.reset_peak()
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    watch = WatchedProcess("dex submit", process.pid)
    stack.sampler.watched.append(watch)
    window.add(watch)
    try:
        await asyncio.wait_for(_read_until(process, b"submitted "), CLI_SUBMIT_TIMEOUT_SECONDS)
        seconds = time.monotonic() - started
    finally:
        stack.sampler.watched.remove(watch)
        watch.sample()
        watch.cpu_seconds()  # its last reading stays available once it is killed
        process.kill()
        await process.wait()
    return {
        "seconds": round(seconds, 3),
        "cli_peak_rss_mb": round(watch.peak_rss / MB, 1),
        "dex_peak_rss_mb": round(stack.dex.watch.peak_rss / MB, 1),
    }


async def _read_until(process: asyncio.subprocess.Process, prefix: bytes) -> None:
    """Until the process prints a line starting with ``prefix``."""
    assert process.stdout is not None
    output = []
    while line := await process.stdout.readline():
        if line.startswith(prefix):
            return
        output.append(line.decode(errors="replace"))
    raise BenchError("dex submit ended before submitting:\n" + "".join(output[-15:]))


class ByteCounter(io.RawIOBase):
    """A sink for the export stream that keeps only its size and line count."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.bytes += len(data)
        self.lines += bytes(data).count(b"\n")
        return len(data)


async def _export(stack: Stack, rows: int) -> dict[str, Any]:
    async with stack.http.get(f"{stack.dex.url}/openapi.json") as response:
        paths = (await response.json())["paths"]
    if EXPORT_PATH not in paths:
        return {"skipped": f"this dex has no {EXPORT_PATH} endpoint yet"}
    await _insert_company_entities(stack, rows)
    sink = ByteCounter()
    stack.dex.watch.reset_peak()
    started = time.monotonic()
    await stack.client.export_entities("company", "csv", sink)
    return {
        "rows": rows,
        "seconds": round(time.monotonic() - started, 3),
        "lines": sink.lines,
        "megabytes": round(sink.bytes / MB, 1),
        "dex_peak_rss_mb": round(stack.dex.watch.peak_rss / MB, 1),
    }


async def _insert_company_entities(stack: Stack, rows: int) -> None:
    """Synthetic canonical companies for the bench org, straight in SQL (setup, not measured)."""
    await stack.db.execute(
        """
        INSERT INTO company_entities (
            org_id, entity_id, company_id, canonical_domain, canonical_name, linkedin_url, industry,
            employee_count, employee_range, hq_country, description, source_providers, last_enriched_at,
            last_operation_id, canonical_payload)
        SELECT $1, gen_random_uuid(), $2, 'export-' || g || '.com', 'Export ' || g,
               'https://www.linkedin.com/company/export-' || g, 'Software Development', 10 + g % 5000,
               '51-200', 'US', 'Export ' || g || ' is a software development company.',
               ARRAY['prospeo', 'leadmagic'], now(), 'company.enrich.profile',
               jsonb_build_object('company_linkedin_id', (1000000 + g)::text)
        FROM generate_series(1, $3) AS g
        """,
        stack.client.org_id,
        stack.client.company_id,
        rows,
    )
