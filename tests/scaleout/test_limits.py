"""The provider limits workers share through Redis: two limiters (two workers) against one real Redis,
each under its own namespace so tests never share counters."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from dex.providers.http import ProviderLimits
from dex.scaleout.limits import RedisProviderLimiter, send_spacing_seconds


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


async def test_the_rate_holds_across_workers_with_requests_evenly_spaced(
    limiters: tuple[RedisProviderLimiter, RedisProviderLimiter],
) -> None:
    limits = ProviderLimits(concurrency=50, rate_per_second=10)
    spacing = send_spacing_seconds(10)
    started: list[float] = []

    async def request(limiter: RedisProviderLimiter) -> None:
        async with limiter.slot("reoon", limits):
            started.append(time.monotonic())

    await asyncio.gather(*(request(limiters[i % 2]) for i in range(25)))
    ordered = sorted(started)
    # Sent one spacing apart, not a second's worth at once: no 1 s window holds more than the rate
    # (eleven requests span ten spacings, 1.3 s; 0.2 s of it is slack for this test's own event loop) ...
    for index, at in enumerate(ordered):
        assert len([other for other in ordered[index:] if other - at < 10 * spacing - 0.2]) <= 10
    # ... and the requests were spread over the whole time the rate asks for.
    assert ordered[-1] - ordered[0] >= 24 * spacing - 0.2


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
