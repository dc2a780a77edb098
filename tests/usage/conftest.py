from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from dex.db.engine import Database
from dex.pipeline.executor import Executor
from tests.conftest import TEST_EXECUTOR_CONFIG, PipelineHarness


@pytest.fixture
async def serial(pipeline: PipelineHarness, database: Database) -> AsyncIterator[PipelineHarness]:
    """The pipeline harness with one step in flight per org, so steps spend in order and which of them
    the budget lets through is known."""
    await pipeline.executor.stop()
    executor = Executor(
        database,
        pipeline.executor.deps,
        replace(TEST_EXECUTOR_CONFIG, per_org_concurrency=1),
        plans=pipeline.executor.plans,
    )
    await executor.start()
    try:
        yield PipelineHarness(pipeline.client, executor, pipeline.tenant)
    finally:
        await executor.stop()
