"""Group commit: many concurrent tasks, one database round trip.

Hundreds of steps run at once and each makes small, independent statements (a cache lookup, a journal
row). A :class:`Batcher` gathers the items submitted while its previous call is in flight and hands them
to one call together, so the number of round trips follows the database's speed rather than the number
of tasks, without any timer or added latency when the system is idle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar, cast

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """``run`` takes a batch of items (at most ``max_batch``) and returns their results in the same order;
    if it raises, every submitter of that batch gets the exception.

    With ``lanes`` above one, that many batches may run at once — their order is then not kept — and a
    further one starts beside those running only once ``lane_after`` items wait: a straggler waits for a
    running batch rather than costing a batch of its own."""

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[Sequence[Result]]],
        name: str,
        *,
        max_batch: int | None = None,
        lanes: int = 1,
        lane_after: int = 1,
    ) -> None:
        self._run = run
        self._name = name
        self._max_batch = max_batch
        self._lanes = lanes
        self._lane_after = lane_after
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        return await self.start(item)

    def post(self, item: Item) -> None:
        """Submit without waiting; a failure is logged (for writes whose loss is tolerable)."""
        self.start(item).add_done_callback(self._log_failure)

    def start(self, item: Item) -> asyncio.Future[Result]:
        """Submit now and wait later: the item's result (or exception), once its batch has run."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, done))
        if not self._draining or (
            len(self._draining) < self._lanes and len(self._pending) >= self._lane_after
        ):
            self._draining.add(loop.create_task(self._drain(), name=f"dex-batch-{self._name}"))
        return done

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            # At once, not by a done callback: a lane deciding whether another still runs must not count it.
            self._draining.discard(cast("asyncio.Task[None]", asyncio.current_task()))

    async def _drain_pending(self) -> None:
        while self._pending:
            if len(self._draining) > 1 and len(self._pending) < self._lane_after:
                return  # a lane that is still running takes them
            cut = self._max_batch or len(self._pending)
            batch, self._pending = self._pending[:cut], self._pending[cut:]
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    def _log_failure(self, done: asyncio.Future[Result]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning("%s: a batched write failed: %s", self._name, done.exception())
