"""Runs the chosen workloads one after the other and assembles the report (the JSON document)."""

from __future__ import annotations

import asyncio
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from dex import __version__
from dex.bench.pipeline import STEPS_PER_COMPANY, PipelineWorkload, Progress, run_pipeline_workload
from dex.bench.scale import run_scale_workload
from dex.bench.stack import StackOptions
from dex.testing import admin_uri

WORKLOADS = ("A", "B", "C")


@dataclass(frozen=True)
class BenchOptions:
    stack: StackOptions
    workloads: tuple[str, ...] = WORKLOADS
    companies: int = 10_000
    entities: int = 100_000
    export_rows: int = 1_000_000
    concurrency: int = 200
    provider_concurrency: int | None = None
    latency_ms: float = 200.0
    latency_jitter_ms: float = 50.0
    rate_limit_per_second: float | None = None
    count_round_trips: bool = True
    timeout_seconds: float = 3600.0

    def pipeline_workloads(self) -> list[PipelineWorkload]:
        steps = self.companies * STEPS_PER_COMPANY
        executors = self.stack.workers if self.stack.executor == "dramatiq" else 1
        definitions = {
            "A": PipelineWorkload(
                "A",
                f"engine-bound: {self.companies} companies, {steps} steps, provider latency 0 ms",
                self.companies,
                self.concurrency,
                timeout_seconds=self.timeout_seconds,
                provider_concurrency=self.provider_concurrency,
                executors=executors,
            ),
            "B": PipelineWorkload(
                "B",
                f"provider-bound: {self.companies} companies, {steps} steps, provider latency "
                f"{self.latency_ms:g} ± {self.latency_jitter_ms:g} ms",
                self.companies,
                self.concurrency,
                self.latency_ms,
                self.latency_jitter_ms,
                self.rate_limit_per_second,
                self.timeout_seconds,
                self.provider_concurrency,
                executors,
            ),
        }
        return [definitions[key] for key in self.workloads if key in definitions]


async def run_benchmark(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    report: dict[str, Any] = {
        "dex_version": __version__,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": await _machine(options.stack),
        "options": {
            "workloads": list(options.workloads),
            "companies": options.companies,
            "entities": options.entities,
            "export_rows": options.export_rows,
            "count_round_trips": options.count_round_trips,
        },
        "workloads": {},
    }
    for workload in options.pipeline_workloads():
        progress(f"workload {workload.key}: {workload.description}")
        report["workloads"][workload.key] = await run_pipeline_workload(
            options.stack, workload, count_round_trips=options.count_round_trips, progress=progress
        )
    if "C" in options.workloads:
        report["workloads"]["C"] = await run_scale_workload(
            options.stack, entities=options.entities, export_rows=options.export_rows, progress=progress
        )
    return report


async def _machine(stack: StackOptions) -> dict[str, Any]:
    connection = await asyncpg.connect(await asyncio.to_thread(admin_uri, stack.state_dir))
    try:
        postgres = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": postgres,
    }
