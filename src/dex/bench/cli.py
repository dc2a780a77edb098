"""``dex bench``: run the benchmark workloads, print a table, write the figures as JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dex.kit.cli import fail

console = Console()


def bench(
    workloads: Annotated[str, typer.Option("--workloads", "-w", help="Which workloads, e.g. A,B.")] = "A,B,C",
    companies: Annotated[
        int, typer.Option(min=1, help="Companies of workloads A and B (5 steps each).")
    ] = 10_000,
    entities: Annotated[int, typer.Option(min=1, help="Entities of workload C's submissions.")] = 100_000,
    export_rows: Annotated[int, typer.Option(min=1, help="Company rows workload C exports.")] = 1_000_000,
    concurrency: Annotated[int, typer.Option(min=1, help="DEX_EXECUTOR_CONCURRENCY of A and B.")] = 200,
    provider_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="dex's per-provider concurrency cap in A and B (default: every executor slot, which never "
            "binds).",
        ),
    ] = None,
    latency_ms: Annotated[float, typer.Option(min=0, help="Provider latency of workload B.")] = 200.0,
    jitter_ms: Annotated[float, typer.Option(min=0, help="Provider latency jitter (±) of B.")] = 50.0,
    rate_limit: Annotated[
        float | None, typer.Option(min=0, help="Sandbox rate limit of B, requests/s per provider.")
    ] = None,
    count_round_trips: Annotated[
        bool, typer.Option(help="Route dex's database connections through the counting proxy.")
    ] = True,
    results_dir: Annotated[Path, typer.Option(help="Where the JSON report and logs go.")] = Path(
        "bench/results"
    ),
    keep_databases: Annotated[bool, typer.Option(help="Keep each workload's database afterwards.")] = False,
    executor: Annotated[
        str,
        typer.Option(help="A and B's executor: embedded (in dex serve) or dramatiq (dex workers)."),
    ] = "embedded",
    workers: Annotated[int, typer.Option(min=1, help="dramatiq: how many dex worker processes.")] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds a workload may take.")] = 3600.0,
) -> None:
    """Benchmark dex: A engine-bound, B provider-bound, C scale (see bench/README.md). dex and the
    provider sandbox run in processes of their own on a fresh database of the embedded PostgreSQL (or of
    DATABASE_URL's server)."""
    from dex.config import Settings

    try:
        from dex.bench.processes import BenchError
        from dex.bench.report import summary_table
        from dex.bench.runner import WORKLOADS, BenchOptions, run_benchmark
        from dex.bench.stack import StackOptions
    except ImportError as exc:
        fail(f"{exc.name} is missing: install the bench extra (pip install -e '.[bench]')")
    if executor not in ("embedded", "dramatiq"):
        fail(f"unknown executor {executor!r}: choose embedded or dramatiq")
    chosen = tuple(key.strip().upper() for key in workloads.split(",") if key.strip())
    unknown = [key for key in chosen if key not in WORKLOADS]
    if unknown or not chosen:
        fail(f"unknown workload {', '.join(unknown) or workloads!r}: choose among {', '.join(WORKLOADS)}")

    timestamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = results_dir / timestamp
    run_dir.mkdir(parents=True, exist_ok=True)
    options = BenchOptions(
        # Only DEX_HOME is needed (where the embedded server lives); dex's secrets are the bench's own.
        stack=StackOptions(
            Settings().dex_home,
            run_dir.resolve(),
            keep_databases,
            "dramatiq" if executor == "dramatiq" else "embedded",
            workers,
        ),
        workloads=chosen,
        companies=companies,
        entities=entities,
        export_rows=export_rows,
        concurrency=concurrency,
        provider_concurrency=provider_concurrency,
        latency_ms=latency_ms,
        latency_jitter_ms=jitter_ms,
        rate_limit_per_second=rate_limit,
        count_round_trips=count_round_trips,
        timeout_seconds=timeout,
    )
    with console.status("starting") as status:
        try:
            report = asyncio.run(run_benchmark(options, status.update))
        except BenchError as exc:
            fail(f"{exc.message}\n(logs in {run_dir})")
    path = results_dir / f"{timestamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(summary_table(report))
    console.print(f"figures: {path}   logs: {run_dir}")
