"""The bounded chaos runs of CI: one round of the workload under faulty providers and faults from outside,
with the executor embedded in `dex serve` and scaled out to workers behind a Redis broker (``dex chaos
--minutes N`` runs the long version). On failure the report names the seed, the fault schedule and the
replay command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dex.chaos.harness import ChaosOptions, run_chaos
from tests.scaleout.conftest import require_installed

# A fixed seed by default so CI is repeatable; DEX_CHAOS_SEED explores others.
SEED = int(os.environ.get("DEX_CHAOS_SEED", "20261122"))


@pytest.mark.parametrize("mode", ["embedded", "scaleout"])
async def test_invariants_hold_under_injected_faults(mode: str, tmp_path: Path) -> None:
    if mode == "scaleout":
        require_installed("redis-server", "redis-server")
    options = ChaosOptions(run_dir=tmp_path / "chaos", seed=SEED, companies=40, faults_per_round=6, mode=mode)
    report = await run_chaos(options)
    print(report.describe())
    assert report.passed, report.describe()
    assert report.schedule, "no fault was injected: the run finished before the first one"
    assert sum(report.provider_faults.values()) > 0
