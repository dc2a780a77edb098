"""Group commit: items submitted while a call is in flight share the next call; results stay aligned."""

from __future__ import annotations

import asyncio

import pytest

from dex.db.batching import Batcher


async def test_concurrent_items_share_calls_and_get_their_own_results() -> None:
    calls: list[list[int]] = []

    async def square(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0.01)
        return [item * item for item in items]

    batcher = Batcher(square, "squares")
    results = await asyncio.gather(*(batcher.submit(n) for n in range(50)))
    assert results == [n * n for n in range(50)]
    assert sorted(item for call in calls for item in call) == list(range(50))
    assert len(calls) <= 2  # the first item alone, then everything that arrived meanwhile


async def test_a_failed_call_fails_its_batch_only() -> None:
    async def fail_on_odd(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        if any(item % 2 for item in items):
            raise ValueError("odd")
        return items

    batcher = Batcher(fail_on_odd, "evens")
    with pytest.raises(ValueError):
        await batcher.submit(1)
    assert await batcher.submit(2) == 2
