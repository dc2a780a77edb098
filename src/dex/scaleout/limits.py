"""Provider limits shared by every scale-out worker, kept in Redis.

Each provider's ``ProviderLimits`` (catalog defaults, ``DEX_PROVIDER_LIMITS``) apply across all workers:
``concurrency`` as a counter of held slots, ``rate_per_second`` as evenly spaced send times. The provider
client holds a slot around each HTTP attempt (:class:`dex.providers.http.SharedLimiter`): first a
concurrency slot, then a reserved send time, right before the request goes out.

Send times are reserved, not polled for: one script takes the provider's next free time (by Redis's
clock, so workers' clocks do not matter), moves it one spacing on, and tells the worker how long to wait.
Requests leave one spacing apart instead of a window's worth at once, so a loaded machine does not send
a burst whose tail lands in the provider's next second, and no worker spends round trips asking again.

Every acquisition is a Lua script — atomic in Redis — sent from the worker's own event loop with Redis's
asyncio client: no thread hops and no optimistic-locking retries on the hot path of each provider request
(the thread-pooled WATCH/MULTI limiters this replaced cost a worker more CPU than its steps). Slot takes
and give-backs are group-committed like the database's writes (``dex.db.batching``): the requests of a
moment take their slots of a provider in one script call and give them back in another, so a worker's
round trips to Redis follow Redis's speed rather than its number of requests (one script call per request
and per give-back was a sixth of a worker's CPU). Waiting for a concurrency slot is polling with jitter,
and a slot this worker gives back wakes one of its own waiters at once (with no latency at the provider,
a slot is free again within a millisecond: a 20 ms poll alone would leave it idle most of the time). A
worker killed while holding concurrency slots leaks them until the provider's counter idles for its TTL
(the counter is one number, not a set of holders); a send time reserved by a killed or cancelled request
is simply not used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NamedTuple

import redis
import redis.asyncio

from dex.db.batching import Batcher
from dex.providers.http import ProviderLimits
from dex.scaleout.broker import REDIS_CONNECTION_WAIT_SECONDS, REDIS_CONNECTIONS

log = logging.getLogger(__name__)

# A request leaves a moment after its reserved time, and that moment varies (a busy event loop, a loaded
# machine). Spacing ``limit`` requests over 1 s plus this margin keeps every 1 s window *at the provider*
# within the limit as long as no request is delayed by more than the margin relative to the one
# ``limit`` places after it — at the cost of running below the limit (10/s sends one per 130 ms).
ARRIVAL_JITTER_MARGIN_MS = 300
REDIS_RETRY_SECONDS = 1.0
# A concurrency slot frees up when a request ends (tens of ms).
SLOT_POLL_SECONDS = 0.02

# KEYS[1] the provider's slot counter; ARGV: the limit, the counter's TTL (ms), the slots wanted. Returns
# how many were taken (as many as are free, up to those wanted).
TAKE_SLOTS = """
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
local taken = math.max(0, math.min(tonumber(ARGV[3]), tonumber(ARGV[1]) - held))
if taken > 0 then
  redis.call('INCRBY', KEYS[1], taken)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return taken
"""
# KEYS[1] the counter; ARGV[1] the slots given back. Slots whose counter lapsed (its TTL) are not given
# back below zero.
GIVE_BACK_SLOTS = """
if redis.call('DECRBY', KEYS[1], ARGV[1]) < 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
end
return 1
"""
# KEYS[1] the provider's next free send time (µs, Redis's clock); ARGV[1] the spacing (µs). Reserves the
# next free time and returns how many µs from now it is.
RESERVE_SEND_TIME = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local spacing = tonumber(ARGV[1])
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local free_from = at + spacing
redis.call('SET', KEYS[1], string.format('%d', free_from), 'PX', math.ceil((free_from - now) / 1000) + 1000)
return at - now
"""


class SlotRequest(NamedTuple):
    counter: str
    limit: int
    ttl_ms: int


def send_spacing_seconds(rate_per_second: float) -> float:
    """The time between two requests that keeps every 1 s window at the provider within
    ``rate_per_second`` (a fractional rate above 1 rounds down; below 1/s, one request per ``1/rate`` s)."""
    period_ms = 1000 if rate_per_second >= 1 else math.ceil(1000 / rate_per_second)
    limit = max(1, math.floor(rate_per_second * period_ms / 1000))
    return (period_ms + ARRIVAL_JITTER_MARGIN_MS) / limit / 1000


class RedisProviderLimiter:
    """A :class:`dex.providers.http.SharedLimiter` over one Redis (the Redis broker's, or its own)."""

    def __init__(self, redis_url: str, *, namespace: str = "dex:providers") -> None:
        # A blocking pool, as the broker's (dex.scaleout.broker): a burst of requests waits for a connection.
        self.client = redis.asyncio.Redis(
            connection_pool=redis.asyncio.BlockingConnectionPool.from_url(
                redis_url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_CONNECTION_WAIT_SECONDS
            )
        )
        self.namespace = namespace
        self._take_slots = self.client.register_script(TAKE_SLOTS)
        self._give_back_slots = self.client.register_script(GIVE_BACK_SLOTS)
        self._takes: Batcher[SlotRequest, bool] = Batcher(self._take_batch, "provider-slot-takes")
        self._give_backs: Batcher[str, None] = Batcher(self._give_back_batch, "provider-slot-returns")
        self._reserve_send_time = self.client.register_script(RESERVE_SEND_TIME)
        # Slots given back after a cancellation, referenced until done (the loop keeps only weak ones).
        self._late_returns: set[asyncio.Task[None]] = set()
        # This worker's requests waiting for a slot of a provider, by slot counter, in arrival order.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)

    def _key(self, provider: str) -> str:
        # One hash tag per provider: its keys stay in one slot of a Redis Cluster, as a script needs.
        return f"{{{self.namespace}:{provider}}}"

    @asynccontextmanager
    async def slot(self, provider: str, limits: ProviderLimits) -> AsyncIterator[None]:
        key = self._key(provider)
        counter = f"{key}:concurrency"
        # The TTL only matters for slots a killed worker leaked.
        ttl_ms = int((limits.timeout_seconds + 30) * 1000)
        await self._take_slot_waiting(counter, limits.concurrency, ttl_ms)
        try:
            if limits.rate_per_second:
                spacing_us = round(send_spacing_seconds(limits.rate_per_second) * 1_000_000)
                wait_us = await self._until_redis_answers(
                    lambda: self._reserve_send_time(keys=[f"{key}:next-send"], args=[spacing_us])
                )
                if wait_us > 0:
                    await asyncio.sleep(wait_us / 1_000_000)
            yield
        finally:
            # Shielded: the slot goes back even if this task is cancelled meanwhile.
            await asyncio.shield(self._give_back(counter))

    @staticmethod
    async def _until_redis_answers(call: Callable[[], Awaitable[int]]) -> int:
        while True:
            try:
                return await call()
            except redis.RedisError as exc:
                await RedisProviderLimiter._wait_for_redis(exc)

    @staticmethod
    async def _wait_for_redis(exc: redis.RedisError) -> None:
        # Without Redis the limits cannot be shared: wait for it (the step timeout bounds the wait).
        log.warning("provider limits unavailable (%s); waiting for Redis", exc)
        await asyncio.sleep(REDIS_RETRY_SECONDS)

    async def _take_slot_waiting(self, counter: str, limit: int, ttl_ms: int) -> None:
        """Until a slot is taken; woken early by this worker's own give-backs."""
        while True:
            # Only the script call is shielded: a cancelled wait leaves no retrying task behind.
            trying = self._takes.start(SlotRequest(counter, limit, ttl_ms))
            try:
                taken = await asyncio.shield(trying)
            except asyncio.CancelledError:
                # Cancelled (the step's timeout) while Redis may already have counted the slot: give it back.
                trying.add_done_callback(lambda done: self._give_back_if_taken(done, counter))
                raise
            except redis.RedisError as exc:
                await self._wait_for_redis(exc)
                continue
            if taken:
                return
            await self._pause(SLOT_POLL_SECONDS * random.uniform(0.5, 1.5), counter)

    async def _pause(self, seconds: float, counter: str) -> None:
        woken = asyncio.get_running_loop().create_future()
        waiting = self._waiting[counter]
        waiting.append(woken)
        try:
            await asyncio.wait_for(woken, seconds)
        except TimeoutError:
            pass
        finally:
            with contextlib.suppress(ValueError):
                waiting.remove(woken)

    async def _take_batch(self, requests: list[SlotRequest]) -> list[bool]:
        """One script call per provider for the slots its requests of this moment want: the first as many
        as were free get one."""
        wanted = Counter(requests)
        async with self.client.pipeline(transaction=False) as pipe:
            for request, count in wanted.items():
                await self._take_slots(
                    keys=[request.counter], args=[request.limit, request.ttl_ms, count], client=pipe
                )
            taken = dict(zip(wanted, await pipe.execute(), strict=True))
        granted = []
        for request in requests:
            granted.append(taken[request] > 0)
            taken[request] -= 1
        return granted

    async def _give_back_batch(self, counters: list[str]) -> list[None]:
        async with self.client.pipeline(transaction=False) as pipe:
            for counter, count in Counter(counters).items():
                await self._give_back_slots(keys=[counter], args=[count], client=pipe)
            await pipe.execute()
        return [None] * len(counters)

    def _give_back_if_taken(self, done: asyncio.Future[bool], counter: str) -> None:
        if not done.cancelled() and done.exception() is None and done.result():
            returning = asyncio.ensure_future(self._give_back(counter))
            self._late_returns.add(returning)
            returning.add_done_callback(self._late_returns.discard)

    async def _give_back(self, counter: str) -> None:
        try:
            await self._give_backs.submit(counter)
            waiting = self._waiting.get(counter)
            while waiting:
                woken = waiting.popleft()
                if not woken.done():
                    woken.set_result(None)
                    break
        except redis.RedisError as exc:
            # The request itself is done; a slot Redis could not take back lapses with its TTL (or went
            # with a restarted Redis), so this is no reason to fail the provider call.
            log.warning("could not give back a provider slot (%s)", exc)

    async def close(self) -> None:
        await self.client.aclose()
