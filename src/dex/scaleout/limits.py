"""Provider limits shared by every scale-out worker, kept in Redis by Dramatiq's rate limiters.

Each provider's ``ProviderLimits`` (catalog defaults, ``DEX_PROVIDER_LIMITS``) apply across all workers:
``concurrency`` through a :class:`~dramatiq.rate_limits.ConcurrentRateLimiter`, ``rate_per_second``
through :class:`SlidingRateLimiter`. The provider client holds a slot around each HTTP attempt
(:class:`dex.providers.http.SharedLimiter`): first a concurrency slot, then a rate token right before the
request goes out, so a token never waits in a queue and bunches up with later ones.

Dramatiq's limiters try once; waiting is polling with jitter. Their Redis calls block, so they run on a
small thread pool, off the event loop every step of the process shares. A worker killed while holding
concurrency slots leaks them until the provider's key idles for its TTL (Dramatiq's counter is one number,
not a set of holders).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager

import redis
from dramatiq.rate_limits import ConcurrentRateLimiter, RateLimiter, WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

from dex.providers.http import ProviderLimits

log = logging.getLogger(__name__)

BUCKET_MS = 100
# A token is taken a moment before the request reaches the provider, and that moment varies (a thread hop,
# a busy event loop, a loaded machine). Counting over 1 s plus a bucket plus this margin keeps every 1 s
# window *at the provider* within the limit as long as requests are not delayed by more than the margin
# relative to each other — at the cost of running below the limit (10/s allows 10 per 1.4 s).
ARRIVAL_JITTER_MARGIN_MS = 300
REDIS_RETRY_SECONDS = 1.0


class SlidingRateLimiter(WindowRateLimiter):
    """Dramatiq's sliding-window limiter counted in 100 ms buckets instead of whole seconds: at most
    ``limit`` acquisitions in any ``window_ms``. With 1 s buckets, ``limit`` requests at the end of one
    second and ``limit`` more at the start of the next would be twice the limit within one second."""

    def __init__(self, backend: RedisBackend, key: str, *, limit: int, window_ms: int) -> None:
        super().__init__(backend, key, limit=limit, window=math.ceil(window_ms / 1000))
        self.buckets = math.ceil(window_ms / BUCKET_MS)
        self.window_millis = self.buckets * BUCKET_MS

    def _get_keys(self) -> list[str]:
        bucket = int(time.time() * 1000) // BUCKET_MS
        return [f"{self.key}@{bucket - i}" for i in range(self.buckets)]


def rate_window(rate_per_second: float) -> tuple[int, int]:
    """``(limit, window_ms)`` that keeps every 1 s window at the provider within ``rate_per_second``
    (a rate below 1/s becomes one request per ``1/rate`` seconds; a fractional rate above 1 rounds down)."""
    period_ms = 1000 if rate_per_second >= 1 else math.ceil(1000 / rate_per_second)
    limit = max(1, math.floor(rate_per_second * period_ms / 1000))
    return limit, period_ms + BUCKET_MS + ARRIVAL_JITTER_MARGIN_MS


def _try_acquire(limiter: RateLimiter) -> AbstractContextManager[bool] | None:
    held = limiter.acquire(raise_on_failure=False)
    if held.__enter__():
        return held
    held.__exit__(None, None, None)
    return None


def _release(held: list[AbstractContextManager[bool]]) -> None:
    for slot in reversed(held):
        try:
            slot.__exit__(None, None, None)
        except redis.RedisError as exc:
            # The request itself is done; a slot Redis could not take back lapses with its expiry (or
            # went with a restarted Redis), so this is no reason to fail the provider call.
            log.warning("could not release a provider slot (%s)", exc)


class RedisProviderLimiter:
    """A :class:`dex.providers.http.SharedLimiter` over one Redis (the Redis broker's, or its own)."""

    def __init__(self, redis_url: str, *, namespace: str = "dex:providers") -> None:
        self.backend = RedisBackend(url=redis_url)
        self.namespace = namespace
        self._limiters: dict[str, list[RateLimiter]] = {}
        self._threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dex-limits")

    def limiters(self, provider: str, limits: ProviderLimits) -> list[RateLimiter]:
        """The provider's limiters, in the order they are taken: the concurrency slot, then the rate."""
        if provider not in self._limiters:
            key = f"{self.namespace}:{provider}"
            # A slot is held for one HTTP attempt; the TTL only matters for slots a killed worker leaked.
            ttl_ms = int((limits.timeout_seconds + 30) * 1000)
            concurrency = ConcurrentRateLimiter(
                self.backend, f"{key}:concurrency", limit=limits.concurrency, ttl=ttl_ms
            )
            chain: list[RateLimiter] = [concurrency]
            if limits.rate_per_second:
                limit, window_ms = rate_window(limits.rate_per_second)
                rate = SlidingRateLimiter(self.backend, f"{key}:rate", limit=limit, window_ms=window_ms)
                chain.append(rate)
            self._limiters[provider] = chain
        return self._limiters[provider]

    @asynccontextmanager
    async def slot(self, provider: str, limits: ProviderLimits) -> AsyncIterator[None]:
        held: list[AbstractContextManager[bool]] = []
        try:
            for limiter in self.limiters(provider, limits):
                held.append(await self._acquire(limiter))
            yield
        finally:
            if held:
                # Submitted before any await, so the slot is given back even if this task is cancelled.
                await asyncio.get_running_loop().run_in_executor(self._threads, _release, held)

    async def _acquire(self, limiter: RateLimiter) -> AbstractContextManager[bool]:
        # A rate token frees up within a bucket; a concurrency slot when a request ends (tens of ms).
        pause = BUCKET_MS / 1000 if isinstance(limiter, WindowRateLimiter) else 0.02
        while True:
            try:
                held = await self._try(limiter)
            except redis.RedisError as exc:
                # Without Redis the limits cannot be shared: wait for it (the step timeout bounds the wait).
                log.warning("provider limits unavailable (%s); waiting for Redis", exc)
                await asyncio.sleep(REDIS_RETRY_SECONDS)
                continue
            if held is not None:
                return held
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))

    async def _try(self, limiter: RateLimiter) -> AbstractContextManager[bool] | None:
        attempt = asyncio.get_running_loop().run_in_executor(self._threads, _try_acquire, limiter)
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # The step was cancelled (its timeout) while the attempt ran on: a slot it won goes back.
            attempt.add_done_callback(self._give_back)
            raise

    def _give_back(self, attempt: asyncio.Future[AbstractContextManager[bool] | None]) -> None:
        if not attempt.cancelled() and attempt.exception() is None and (held := attempt.result()):
            self._threads.submit(_release, [held])

    def close(self) -> None:
        self._threads.shutdown(wait=False)
        self.backend.client.close()
