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


async def test_a_second_lane_starts_only_once_enough_items_wait() -> None:
    running = 0
    most_at_once = 0
    release = asyncio.Event()
    calls: list[list[int]] = []

    async def held(items: list[int]) -> list[int]:
        nonlocal running, most_at_once
        calls.append(items)
        running += 1
        most_at_once = max(most_at_once, running)
        await release.wait()
        running -= 1
        return items

    batcher = Batcher(held, "held", lanes=2, lane_after=10)
    first = batcher.start(0)
    await asyncio.sleep(0)  # the first lane takes item 0 and waits
    few = [batcher.start(n) for n in range(1, 6)]
    await asyncio.sleep(0)
    assert most_at_once == 1  # five waiting items do not start a second lane
    more = [batcher.start(n) for n in range(6, 12)]
    await asyncio.sleep(0)
    assert most_at_once == 2 and calls[1] == list(range(1, 12))
    release.set()
    assert await asyncio.gather(first, *few, *more) == list(range(12))


async def test_lanes_ending_together_leave_no_item_behind() -> None:
    async def quick(items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        return items

    batcher = Batcher(quick, "quick", lanes=2, lane_after=3)
    for round_ in range(50):
        items = [batcher.start(round_ * 10 + n) for n in range(7)]
        # Every lane may end with fewer than lane_after items left: the last one must still take them.
        results = await asyncio.wait_for(asyncio.gather(*items), timeout=5)
        assert results == [round_ * 10 + n for n in range(7)]
