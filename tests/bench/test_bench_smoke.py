"""`dex bench` workload A at a tiny size, end to end (separate dex and sandbox processes, the counting
proxy, the statistics): the figures are produced and well formed. No figure's value is asserted."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from dex.bench.pipeline import STEPS_PER_COMPANY
from dex.bench.report import summary_table
from dex.bench.runner import BenchOptions, run_benchmark
from dex.bench.stack import StackOptions
from tests.conftest import TEST_STATE_DIR
from tests.scaleout.conftest import require_installed

COMPANIES = 20


def assert_figure(value: object) -> None:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    assert math.isfinite(value) and value >= 0, value


@pytest.mark.parametrize("executor", ["embedded", "dramatiq"])
async def test_workload_a_produces_well_formed_figures(tmp_path: Path, executor: str) -> None:
    if executor == "dramatiq":
        require_installed("redis-server", "redis-server")
    options = BenchOptions(
        stack=StackOptions(TEST_STATE_DIR, tmp_path, executor=executor, workers=2),
        workloads=("A",),
        companies=COMPANIES,
        timeout_seconds=60,
    )
    report = await run_benchmark(options, progress=lambda _: None)

    figures = report["workloads"]["A"]
    assert figures["submission_status"] == "completed"
    assert figures["steps"]["executed"] == COMPANIES * STEPS_PER_COMPANY
    for value in (
        figures["steps_per_second"],
        figures["submit_seconds"],
        figures["dex_peak_rss_mb"],
        *figures["cpu_ms_per_step"].values(),
        figures["database"]["round_trips_per_step"],
        figures["database"]["statements_per_step"],
        figures["database"]["transactions_per_step"],
        figures["database"]["rows_written_per_step"],
        figures["provider_calls"]["per_step"],
    ):
        assert_figure(value)
    assert {"dex", "sandbox", "bench"} <= figures["cpu_ms_per_step"].keys()
    if executor == "dramatiq":  # the workers ran the steps, and their CPU is counted
        assert {"worker1", "worker2", "broker"} <= figures["cpu_ms_per_step"].keys()
        assert figures["executor"] == {"kind": "dramatiq", "workers": 2}
        assert "recording" not in figures
    else:  # the embedded executor's writer, from dex's metrics
        recording = figures["recording"]
        assert recording["recordings"] > 0 and recording["steps_per_recording"] > 0
        for value in recording.values():
            assert_figure(value)
    for group in figures["ready_to_start_ms"].values():
        assert_figure(group["p50"])
        assert group["p50"] <= group["p99"]
    assert figures["ready_to_start_ms"]["all"]["steps"] == COMPANIES * STEPS_PER_COMPANY

    json.loads(json.dumps(report))
    rendered = io.StringIO()
    Console(file=rendered, width=140).print(summary_table(report))
    assert "steps/s" in rendered.getvalue()
