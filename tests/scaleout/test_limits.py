"""The provider limits workers share through Redis: two limiters (two workers) against one real Redis,
each under its own namespace so tests never share counters."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from dex.providers.http import ProviderLimits
from dex.scaleout.limits import RedisProviderLimiter, rate_window


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[tuple[RedisProviderLimiter, RedisProviderLimiter]]:
    namespace = f"test:{uuid.uuid4().hex}"
    first, second = (RedisProviderLimiter(redis_url, namespace=namespace) for _ in range(2))
    yield first, second
    await first.close()
    await second.close()


async def test_the_concurrency_cap_holds_across_workers(
    limiters: tuple[RedisProviderLimiter, RedisProviderLimiter],
) -> None:
    limits = ProviderLimits(concurrency=3)
    inside, most = 0, 0

    async def request(limiter: RedisProviderLimiter) -> None:
        nonlocal inside, most
        async with limiter.slot("prospeo", limits):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(request(limiters[i % 2]) for i in range(24)))
    assert most == 3
    # Every slot was given back.
    assert int(await limiters[0].client.get(f"{limiters[0]._key('prospeo')}:concurrency")) == 0


async def test_the_rate_holds_across_workers(
    limiters: tuple[RedisProviderLimiter, RedisProviderLimiter],
) -> None:
    limits = ProviderLimits(concurrency=50, rate_per_second=10)
    limit, window_ms = rate_window(10)
    started: list[float] = []

    async def request(limiter: RedisProviderLimiter) -> None:
        async with limiter.slot("reoon", limits):
            started.append(time.monotonic())

    await asyncio.gather(*(request(limiters[i % 2]) for i in range(25)))
    ordered = sorted(started)
    # No window of the limiter's length holds more than its limit of tokens.
    for index, at in enumerate(ordered):
        within = [other for other in ordered[index:] if other - at < (window_ms - 100) / 1000]
        assert len(within) <= limit


async def test_a_cancelled_wait_gives_its_slot_back(
    limiters: tuple[RedisProviderLimiter, RedisProviderLimiter],
) -> None:
    first, second = limiters
    limits = ProviderLimits(concurrency=1)
    counter = f"{first._key('leadmagic')}:concurrency"
    async with first.slot("leadmagic", limits):
        waiting = asyncio.create_task(_hold(second, limits))
        await asyncio.sleep(0.1)  # the second worker polls for the only slot
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    for _ in range(100):
        if int(await first.client.get(counter)) == 0:
            break
        await asyncio.sleep(0.01)
    assert int(await first.client.get(counter)) == 0
    async with second.slot("leadmagic", limits):  # free again
        pass


async def _hold(limiter: RedisProviderLimiter, limits: ProviderLimits) -> None:
    async with limiter.slot("leadmagic", limits):
        await asyncio.sleep(10)
