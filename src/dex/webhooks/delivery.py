"""The delivery loop: sends due deliveries from the outbox, signed, after the changes they announce were
committed; retries failures with capped exponential backoff; logs every HTTP attempt.

It runs in the process that runs the executor (started in the app lifespan), woken by ``NOTIFY`` when
deliveries are written, polling as a fallback. Deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` and a
lease (their next attempt is pushed past the send timeout while in flight), so several processes share the
work and a process that dies mid-send only delays its deliveries until the lease runs out: delivery is
at least once, and receivers deduplicate on the event ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import insert, text

from dex.config import Settings
from dex.db.engine import Database, libpq_url
from dex.db.queries import dumps
from dex.observability import WEBHOOK_DELIVERIES, log_context
from dex.webhooks.destinations import DestinationRefused, check_destination
from dex.webhooks.models import WebhookDeliveryAttempt
from dex.webhooks.outbox import DELIVERIES_NOTIFY_CHANNEL
from dex.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, signed_headers

log = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class DeliveryConfig:
    timeout_seconds: float = 10.0
    max_attempts: int = 12
    backoff_base_seconds: float = 10.0
    backoff_cap_seconds: float = 3600.0
    batch: int = 50
    concurrency: int = 16
    poll_interval_seconds: float = 5.0
    allow_private_urls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            timeout_seconds=settings.dex_webhook_timeout_seconds,
            max_attempts=settings.dex_webhook_max_attempts,
            backoff_base_seconds=settings.dex_webhook_backoff_base_seconds,
            backoff_cap_seconds=settings.dex_webhook_backoff_cap_seconds,
            allow_private_urls=settings.dex_webhook_allow_private_urls,
        )

    def retry_delay_seconds(self, attempts: int) -> float:
        """Doubling from the base after each failed attempt, capped, with jitter so that an endpoint coming
        back is not hit by every waiting delivery at once."""
        return min(
            self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (attempts - 1)
        ) * random.uniform(0.75, 1.0)


CLAIM_DUE = text(
    """
    WITH due AS MATERIALIZED (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = now(),
        next_attempt_at = now() + make_interval(secs => :lease_seconds)
    FROM due, webhook_endpoints endpoint
    WHERE d.id = due.id AND endpoint.id = d.endpoint_id
    RETURNING d.id, d.org_id, d.event_type, d.payload, d.attempts, endpoint.url, endpoint.secret
    """
)

# Applied only while the delivery is still the one claimed (a redelivery in between starts afresh).
RECORD_RESULTS = text(
    """
    UPDATE webhook_deliveries d
    SET status = v.status,
        next_attempt_at = CASE WHEN v.status = 'pending'
                               THEN now() + make_interval(secs => v.retry_in_seconds) END,
        last_response_status = v.response_status,
        last_error = v.error,
        delivered_at = CASE WHEN v.status = 'succeeded' THEN now() ELSE d.delivered_at END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
        id uuid, attempts int, status text, retry_in_seconds float8, response_status int, error text)
    WHERE d.id = v.id AND d.attempts = v.attempts AND d.status = 'pending'
    """
)


@dataclass
class Sent:
    delivery: Any
    response_status: int | None
    error: str | None
    duration_ms: int
    response_body: str | None

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


class WebhookDispatcher:
    def __init__(self, database: Database, config: DeliveryConfig | None = None) -> None:
        self.database = database
        self.config = config or DeliveryConfig()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        try:
            self._listener = await asyncpg.connect(libpq_url(self.database.url))
            await self._listener.add_listener(DELIVERIES_NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("webhook deliveries cannot LISTEN (%s); polling instead", exc)
            self._listener = None
        self._task = asyncio.create_task(self._loop(), name="dex-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        if self._http is not None:
            await self._http.close()

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:
                # Whatever went wrong in one round (the database away, a bug), deliveries must go on:
                # claimed ones are retried when their lease runs out.
                log.exception("webhook delivery round failed")
                sent = 0
            if sent == self.config.batch:
                continue  # more may be due: go on at once
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_seconds)

    async def deliver_due(self) -> int:
        """Send the deliveries due now (up to a batch) and record the results; returns how many were sent."""
        lease = self.config.timeout_seconds + 30
        async with self.database.transaction() as session:
            claimed = list(
                (
                    await session.execute(CLAIM_DUE, {"limit": self.config.batch, "lease_seconds": lease})
                ).mappings()
            )
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.config.concurrency)

        async def send(delivery: Any) -> Sent:
            async with gate:
                return await self._send(delivery)

        results = await asyncio.gather(*(send(delivery) for delivery in claimed))
        await self._record(results)
        return len(results)

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(headers={"User-Agent": "dex-webhooks/1"})
        return self._http

    async def _send(self, delivery: Any) -> Sent:
        body = json.dumps(delivery["payload"], separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery["event_type"],
            DELIVERY_HEADER: str(delivery["id"]),
            **signed_headers(delivery["secret"], body),
        }
        started = time.monotonic()
        status, excerpt, error = None, None, None
        with log_context(webhook_delivery_id=delivery["id"], org_id=delivery["org_id"]):
            try:
                await check_destination(delivery["url"], allow_private=self.config.allow_private_urls)
                async with self._client().post(
                    delivery["url"],
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds),
                    allow_redirects=False,  # a redirect is an answer, not a delivery
                ) as response:
                    status = response.status
                    excerpt = (await response.content.read(RESPONSE_EXCERPT_BYTES)).decode(errors="replace")
            except DestinationRefused as exc:
                error = f"destination_refused: {exc}"
            except TimeoutError:
                error = "timeout"
            except aiohttp.ClientError as exc:
                error = f"connection_error:{type(exc).__name__}"
            sent = Sent(delivery, status, error, int((time.monotonic() - started) * 1000), excerpt or None)
            if not sent.succeeded:
                log.info(
                    "webhook delivery %s attempt %d failed: %s",
                    delivery["id"],
                    delivery["attempts"],
                    error or f"HTTP {status}",
                )
        return sent

    def _outcome(self, sent: Sent) -> dict[str, Any]:
        attempts = sent.delivery["attempts"]
        refused = sent.error is not None and sent.error.startswith("destination_refused")
        if sent.succeeded:
            status = "succeeded"
        elif refused or attempts >= self.config.max_attempts:
            status = "failed"
        else:
            status = "pending"
        return {
            "id": sent.delivery["id"],
            "attempts": attempts,
            "status": status,
            "retry_in_seconds": self.config.retry_delay_seconds(attempts) if status == "pending" else 0,
            "response_status": sent.response_status,
            "error": sent.error or (None if sent.succeeded else f"HTTP {sent.response_status}"),
        }

    async def _record(self, results: list[Sent]) -> None:
        outcomes = [self._outcome(sent) for sent in results]
        async with self.database.transaction() as session:
            await session.execute(
                insert(WebhookDeliveryAttempt),
                [
                    {
                        "delivery_id": sent.delivery["id"],
                        "org_id": sent.delivery["org_id"],
                        "response_status": sent.response_status,
                        "error": sent.error,
                        "duration_ms": sent.duration_ms,
                        "response_body": sent.response_body,
                    }
                    for sent in results
                ],
            )
            await session.execute(RECORD_RESULTS, {"rows": dumps(outcomes)})
        for sent, outcome in zip(results, outcomes, strict=True):
            WEBHOOK_DELIVERIES.labels(sent.delivery["event_type"], outcome["status"]).inc()
