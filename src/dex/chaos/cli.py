"""``dex chaos``: a chaos run of the given length; exit 1 when an invariant fails."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dex.errors import DexError
from dex.kit.cli import fail

console = Console()


def chaos(
    minutes: Annotated[
        float, typer.Option(min=0, help="Run rounds until this many minutes passed (0: one).")
    ] = 30.0,
    companies: Annotated[
        int, typer.Option(min=1, help="Companies per round (each fans out to 3 people).")
    ] = 200,
    seed: Annotated[int | None, typer.Option(help="Replay a run: its seed (default: a random one).")] = None,
    faults_per_round: Annotated[int, typer.Option(min=0, help="Faults injected from outside per round.")] = 6,
    provider_fault_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of faulty provider answers.")
    ] = 0.2,
    mode: Annotated[
        str, typer.Option(help="embedded (executor in `dex serve`) or scaleout (workers and a Redis broker).")
    ] = "embedded",
    run_dir: Annotated[Path | None, typer.Option(help="Where the database, logs and sandbox live.")] = None,
) -> None:
    """Run the pipeline workload under injected faults (dex killed, PostgreSQL restarted, connections
    dropped, faulty providers) and check the system-wide invariants afterwards."""

    try:
        from dex.chaos.harness import ChaosOptions, run_chaos
    except ImportError as exc:
        fail(f"{exc.name} is missing: install the bench extra (pip install -e '.[bench]')")
    if mode not in ("embedded", "scaleout"):
        fail(f"--mode must be embedded or scaleout, not {mode!r}")
    options = ChaosOptions(
        run_dir=run_dir or Path(tempfile.mkdtemp(prefix="dex-chaos-")),
        seed=seed if seed is not None else random.SystemRandom().randrange(2**32),
        companies=companies,
        minutes=minutes,
        provider_fault_rate=provider_fault_rate,
        faults_per_round=faults_per_round,
        mode=mode,
    )
    console.print(f"dex chaos: seed {options.seed}, run directory {options.run_dir}")
    try:
        report = asyncio.run(run_chaos(options, progress=lambda line: console.print(f"  {line}")))
    except DexError as exc:  # a process did not start, or the run did not settle
        console.print(f"[red]chaos run did not complete (seed {options.seed}): {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(report.describe(), markup=False)
    if not report.passed:
        raise typer.Exit(1)
