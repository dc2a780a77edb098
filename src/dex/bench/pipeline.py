"""Workloads A (engine-bound) and B (provider-bound): one batch of companies through
``company.enrich.profile`` → ``person.search`` (fan-out, 3 people each) → ``person.contact.resolve_email``.

Every provider knows every entity (sandbox hit rate 1), so each company makes exactly 5 steps: its
profile, its people search, and one email resolution per person. The two workloads differ only in the
sandbox's latency (and optional rate limit) and the executor's concurrency.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from dex.bench.dbstats import StatsSnapshot, enable_statement_statistics, snapshot, usage
from dex.bench.processes import BenchError, CpuWindow, measured_processes
from dex.bench.stack import Stack, StackOptions, open_stack
from dex.client import TERMINAL_SUBMISSION_STATUSES
from dex.providers.catalog import configured_limits
from dex.sandbox.state import ProviderBehaviour, SandboxConfig

BLUEPRINT: dict[str, Any] = {
    "name": "bench-people-at-companies",
    "description": "dex bench workloads A and B: company profile, its people (3), their work email.",
    "entity_type": "company",
    "steps": [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 3}},
        {"position": 3, "operation_id": "person.contact.resolve_email"},
    ],
}
STEPS_PER_COMPANY = 5
POLL_SECONDS = 0.5
MB = 1024 * 1024

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PipelineWorkload:
    key: str
    description: str
    companies: int
    concurrency: int
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_limit_per_second: float | None = None
    timeout_seconds: float = 3600.0
    # dex's per-provider concurrency cap (``ProviderLimits.concurrency``, shared by scale-out workers).
    # None: every executor slot. A step makes one request at a time, so that cap never binds and the ideal,
    # which leaves dex's caps out, is what the workload could reach; below it, steps also queue for a
    # provider's slot.
    provider_concurrency: int | None = None
    # The executors running steps, ``concurrency`` each: the scale-out workers, or dex's own.
    executors: int = 1

    @property
    def slots(self) -> int:
        return self.concurrency * self.executors

    @property
    def provider_cap(self) -> int:
        return self.provider_concurrency or self.slots

    def dex_settings(self) -> dict[str, str]:
        """The dex process's environment: the executor's concurrency, and the provider cap on top of any
        other ``DEX_PROVIDER_LIMITS`` the bench's environment gives."""
        limits = {
            name: {**asdict(limit), "concurrency": self.provider_cap}
            for name, limit in configured_limits().items()
        }
        return {"DEX_EXECUTOR_CONCURRENCY": str(self.concurrency), "DEX_PROVIDER_LIMITS": json.dumps(limits)}

    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(
            default=ProviderBehaviour(
                latency_ms=self.latency_ms,
                latency_jitter_ms=self.latency_jitter_ms,
                hit_rate=1.0,
                rate_limit_per_second=self.rate_limit_per_second,
            )
        )


def company_entities(count: int, prefix: str = "bench") -> list[dict[str, Any]]:
    return [{"entity_type": "company", "input": {"domain": f"{prefix}-{i:07d}.com"}} for i in range(count)]


async def run_pipeline_workload(
    options: StackOptions, workload: PipelineWorkload, *, count_round_trips: bool, progress: Progress
) -> dict[str, Any]:
    async with open_stack(
        options,
        workload.key.lower(),
        blueprint=BLUEPRINT,
        sandbox_config=workload.sandbox_config(),
        dex_settings=workload.dex_settings(),
        count_round_trips=count_round_trips,
    ) as stack:
        return await _measure(stack, workload, progress)


async def _measure(stack: Stack, workload: PipelineWorkload, progress: Progress) -> dict[str, Any]:
    entities = company_entities(workload.companies)
    with_statements = await enable_statement_statistics(stack.db)

    # The window: from just before the submission to the moment the bench sees it finished. A fresh
    # connection, so the statistics of the bench's earlier transactions are flushed before it opens.
    await stack.db.close()
    bench_transactions_before = stack.db.transactions
    before = await snapshot(stack.db, with_statements=with_statements)
    proxy_before = stack.proxy.totals() if stack.proxy else None
    window = CpuWindow(measured_processes(*stack.measured))
    stack.dex.watch.reset_peak()
    recording_before = await _recording_metrics(stack)
    started = time.monotonic()
    submitted = await stack.client.submit(stack.blueprint["id"], entities, source="bench")
    submit_seconds = time.monotonic() - started
    submission_id = uuid.UUID(submitted["submission_id"])
    status = await _wait_finished(stack, submission_id, workload, progress)
    cpu, machine = window.close()
    recording_after = await _recording_metrics(stack)
    dex_peak_rss = stack.dex.watch.peak_rss
    proxy_after = stack.proxy.totals() if stack.proxy else None
    bench_transactions = stack.db.transactions - bench_transactions_before

    # Statistics are complete once every backend of the window has exited (see dbstats).
    await stack.stop_executors()
    await stack.db.close()
    after = await snapshot(stack.db, with_statements=with_statements)
    steps = await _step_counts(stack, submission_id)
    executed = steps["executed"]
    if not executed:
        raise BenchError(f"workload {workload.key}: no step ran (submission {status})")
    calls = await _provider_calls(stack)
    result: dict[str, Any] = {
        "workload": workload.key,
        "description": workload.description,
        "parameters": {**asdict(workload), "provider_cap": workload.provider_cap},
        "executor": {"kind": "dramatiq" if stack.workers else "embedded", "workers": len(stack.workers)},
        "submission_status": status,
        "steps": steps,
        "submit_seconds": round(submit_seconds, 3),
        "busy_seconds": round(steps["busy_seconds"], 3),
        "steps_per_second": round(executed / steps["busy_seconds"], 1),
        "cpu_seconds": {name: round(seconds, 3) for name, seconds in cpu.items()},
        "cpu_ms_per_step": {name: round(seconds * 1000 / executed, 3) for name, seconds in cpu.items()},
        "dex_peak_rss_mb": round(dex_peak_rss / MB, 1),
        "machine": machine,
        "ready_to_start_ms": await _ready_to_start(stack, submission_id),
        "database": _database_figures(before, after, proxy_before, proxy_after, executed, bench_transactions),
        "provider_calls": {
            "total": sum(calls.values()),
            "per_step": round(sum(calls.values()) / executed, 3),
            "by_provider": dict(calls.most_common()),
        },
    }
    if recording_before is not None and recording_after is not None:
        result["recording"] = _recording_figures(recording_before, recording_after, steps["busy_seconds"])
    if workload.latency_ms > 0:
        result["ideal"] = ideal_throughput(workload, executed, calls, result["steps_per_second"])
    return result


RECORDING_METRICS = ("dex_recording_seconds_count", "dex_recording_seconds_sum", "dex_recorded_steps_total")


async def _recording_metrics(stack: Stack) -> dict[str, float] | None:
    """The embedded executor's recording counters (``dex.observability``), from dex's ``GET /metrics``;
    None when workers run the steps (they serve no metrics)."""
    if stack.workers:
        return None
    async with stack.http.get(f"{stack.client.base_url}/metrics", headers=stack.client.headers) as response:
        response.raise_for_status()
        exposition = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name in RECORDING_METRICS
    }


def _recording_figures(
    before: dict[str, float], after: dict[str, float], window_seconds: float
) -> dict[str, Any]:
    """How the executor's writer spent the workload: its recordings, their size and time, and the share of
    the window it was busy (near 1.0, the writer is what limits the throughput)."""
    delta = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in RECORDING_METRICS}
    recordings = delta["dex_recording_seconds_count"]
    per_recording = 1 / recordings if recordings else 0.0
    seconds = delta["dex_recording_seconds_sum"]
    return {
        "recordings": int(recordings),
        "steps_per_recording": round(delta["dex_recorded_steps_total"] * per_recording, 1),
        "ms_per_recording": round(seconds * 1000 * per_recording, 1),
        "writer_busy_fraction": round(seconds / window_seconds, 3) if window_seconds else 0.0,
    }


async def _wait_finished(
    stack: Stack, submission_id: uuid.UUID, workload: PipelineWorkload, progress: Progress
) -> str:
    deadline = time.monotonic() + workload.timeout_seconds
    while True:
        row = await stack.db.fetchrow(
            "SELECT status, runs_total, runs_succeeded + runs_failed + runs_canceled AS done "
            "FROM submissions WHERE id = $1",
            submission_id,
        )
        assert row is not None
        if row["status"] in TERMINAL_SUBMISSION_STATUSES:
            return row["status"]
        progress(f"workload {workload.key}: {row['done']}/{row['runs_total']} runs finished")
        for process in (stack.dex, *stack.workers):
            if process.popen.poll() is not None:
                raise BenchError(
                    f"{process.name} exited during workload {workload.key}; see {process.log_path}"
                )
        if time.monotonic() > deadline:
            raise BenchError(f"workload {workload.key} did not finish in {workload.timeout_seconds:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


async def _step_counts(stack: Stack, submission_id: uuid.UUID) -> dict[str, Any]:
    """Executed steps (claimed at least once; skipped rows never run), and the span from the first start
    to the last finish on the database's clock."""
    row = await stack.db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE attempt > 0) AS executed,
               count(*) FILTER (WHERE attempt > 1) AS retried,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'skipped') AS skipped_rows,
               EXTRACT(EPOCH FROM max(finished_at) FILTER (WHERE attempt > 0)
                                  - min(started_at) FILTER (WHERE attempt > 0))::float8 AS busy_seconds
        FROM step_results WHERE submission_id = $1
        """,
        submission_id,
    )
    assert row is not None
    return {**dict(row), "busy_seconds": row["busy_seconds"] or 0.0}


async def _ready_to_start(stack: Stack, submission_id: uuid.UUID) -> dict[str, Any]:
    """Percentiles of ``started_at - created_at`` of steps claimed once. A step row is inserted at the
    moment it becomes ready (``created_at`` is that transaction's ``now()``); ``available_at`` cannot be
    used after the fact: it is cleared when the step finishes and stamped 1 s early on purpose. Steps made
    ready by the submission itself (created in its transaction) wait behind the whole backlog; steps
    made ready by the executor (the next step of a run, fan-out children) show its pipeline latency."""
    rows = await stack.db.fetch(
        """
        SELECT GROUPING(at_submit) = 1 AS everything, at_submit, count(*) AS steps,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) * 1000 AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY wait) * 1000 AS p99
        FROM (
            SELECT s.created_at = sub.created_at AS at_submit,
                   EXTRACT(EPOCH FROM s.started_at - s.created_at)::float8 AS wait
            FROM step_results s JOIN submissions sub ON sub.id = s.submission_id
            WHERE s.submission_id = $1 AND s.attempt = 1
        ) waits
        GROUP BY GROUPING SETS ((), (at_submit))
        """,
        submission_id,
    )
    figures = {}
    for row in rows:
        key = (
            "all" if row["everything"] else ("queued_at_submit" if row["at_submit"] else "queued_by_executor")
        )
        figures[key] = {"steps": row["steps"], "p50": round(row["p50"], 1), "p99": round(row["p99"], 1)}
    return figures


def _database_figures(
    before: StatsSnapshot,
    after: StatsSnapshot,
    proxy_before: dict[str, int] | None,
    proxy_after: dict[str, int] | None,
    steps: int,
    bench_transactions: int,
) -> dict[str, Any]:
    figures = usage(before, after, steps=steps, bench_transactions=bench_transactions)
    if proxy_before is not None and proxy_after is not None:
        protocol = {name: proxy_after[name] - proxy_before[name] for name in proxy_after}
        figures["protocol"] = protocol
        figures["round_trips_per_step"] = round(protocol["round_trips"] / steps, 3)
        figures["statements_per_step"] = round(protocol["statements"] / steps, 3)
    return figures


async def _provider_calls(stack: Stack) -> Counter[str]:
    """Requests the sandbox received, by provider (its ledger: one entry per HTTP request)."""
    async with stack.http.get(f"{stack.sandbox.url}/_sandbox/ledger") as response:
        ledger = await response.json()
    return Counter(entry["provider"] for entry in ledger["entries"])


def ideal_throughput(
    workload: PipelineWorkload, steps: int, calls: Counter[str], measured: float
) -> dict[str, Any]:
    """What the provider latency allows. A step's provider calls are sequential (a waterfall, then the
    verification), so its mean provider time is (calls per step) x (mean latency — the jitter is uniform
    around it); with ``slots`` steps in flight, ``slots / step time`` steps finish per second.
    A sandbox rate limit (per provider) caps a provider's calls per second, hence steps per second at
    ``limit x steps / that provider's calls``. dex's own per-provider concurrency cap (``provider_cap``)
    bounds it the same way; that bound is reported beside the ideal, not in it."""
    calls_per_step = sum(calls.values()) / steps
    step_seconds = calls_per_step * workload.latency_ms / 1000
    bounds = {"executor_concurrency": workload.slots / step_seconds}
    if workload.rate_limit_per_second:
        bounds["sandbox_rate_limit"] = min(
            workload.rate_limit_per_second * steps / count for count in calls.values()
        )
    provider_cap_bound = min(
        workload.provider_cap / (workload.latency_ms / 1000) * steps / count
        for provider, count in calls.items()
    )
    ideal = min(bounds.values())
    return {
        "mean_provider_ms_per_step": round(step_seconds * 1000, 1),
        "bounds_steps_per_second": {name: round(value, 1) for name, value in bounds.items()},
        "ideal_steps_per_second": round(ideal, 1),
        "ratio_to_ideal": round(measured / ideal, 3),
        "dex_provider_concurrency_cap": workload.provider_cap,
        "dex_provider_concurrency_cap_bound": round(provider_cap_bound, 1),
    }
