"""Prometheus metrics (the structured logs live in ``dex.logs``).

Metrics (``GET /metrics``, super-admin credentials, Prometheus text format): steps finished by operation
and status, provider request latency by provider and outcome, 429s, enrichment-cache lookups (hit ratio =
hits / lookups), credits spent and saved per provider, webhook deliveries, and — read from the database at
each scrape — steps waiting or running by status, the ready queue's depth and the webhook backlog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text

from dex.tenancy.auth import SuperAdminAuth

if TYPE_CHECKING:
    from dex.db.engine import Database

# --- metrics --------------------------------------------------------------------------------------------

STEPS_FINISHED = Counter(
    "dex_steps_finished_total",
    "Steps the executor finished, by operation and status",
    ["operation", "status"],
)
PROVIDER_REQUEST_SECONDS = Histogram(
    "dex_provider_request_seconds",
    "Duration of each HTTP request to a provider (every try), by provider and outcome",
    ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
PROVIDER_RATE_LIMITED = Counter(
    "dex_provider_rate_limited_total", "HTTP 429 answers from providers", ["provider"]
)
PROVIDER_CACHE_LOOKUPS = Counter(
    "dex_provider_cache_lookups_total",
    "Enrichment cache lookups by provider and result",
    ["provider", "result"],
)
PROVIDER_CREDITS_SPENT = Counter(
    "dex_provider_credits_spent_total", "Credits spent on providers", ["provider"]
)
PROVIDER_CREDITS_SAVED = Counter(
    "dex_provider_credits_saved_total", "Credits not spent thanks to the enrichment cache", ["provider"]
)
WEBHOOK_DELIVERIES = Counter(
    "dex_webhook_deliveries_total",
    "Webhook delivery attempts by event type and resulting delivery status",
    ["event_type", "status"],
)
STEPS = Gauge("dex_steps", "Steps waiting or running, by status (read at scrape)", ["status"])
STEPS_READY = Gauge("dex_steps_ready", "Steps claimable now: the executor's queue depth (read at scrape)")
WEBHOOK_BACKLOG = Gauge(
    "dex_webhook_deliveries_pending", "Webhook deliveries not yet delivered (read at scrape)"
)


def request_outcome(http_status: int | None, error: str | None) -> str:
    if error is not None and http_status is None:
        return "timeout" if error == "timeout" else "connection_error"
    if http_status == 429:
        return "429"
    return f"{(http_status or 0) // 100}xx"


def observe_provider_request(
    provider: str, http_status: int | None, error: str | None, seconds: float
) -> None:
    PROVIDER_REQUEST_SECONDS.labels(provider, request_outcome(http_status, error)).observe(seconds)
    if http_status == 429:
        PROVIDER_RATE_LIMITED.labels(provider).inc()


# Each subquery matches a partial index's predicate, so a scrape never scans step_results.
QUEUE_STATE = text(
    """
    SELECT
        (SELECT count(*) FROM step_results WHERE status = 'queued' AND available_at IS NOT NULL)
            AS queued,
        (SELECT count(*) FROM step_results WHERE status = 'retrying' AND available_at IS NOT NULL)
            AS retrying,
        (SELECT count(*) FROM step_results WHERE status = 'running') AS running,
        (SELECT count(*) FROM step_results WHERE status = 'budget_exhausted') AS budget_exhausted,
        (SELECT count(*) FROM step_results
         WHERE status IN ('queued', 'retrying') AND available_at IS NOT NULL AND available_at <= now())
            AS ready,
        (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS webhooks_pending
    """
)


async def refresh_queue_gauges(database: Database) -> None:
    async with database.engine.connect() as conn:
        row = (await conn.execute(QUEUE_STATE)).mappings().one()
    for status in ("queued", "retrying", "running", "budget_exhausted"):
        STEPS.labels(status).set(row[status])
    STEPS_READY.set(row["ready"])
    WEBHOOK_BACKLOG.set(row["webhooks_pending"])


metrics_router = APIRouter(tags=["observability"])


@metrics_router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request, _: SuperAdminAuth) -> Response:
    """Prometheus metrics of this process (super-admin key or JWT as the bearer token)."""
    await refresh_queue_gauges(request.app.state.db)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
