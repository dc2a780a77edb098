"""``GET /metrics``: this process's Prometheus metrics, with the queue gauges read from the database at
each scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dex.db.engine import Database
from dex.observability import STEPS, STEPS_READY, WEBHOOK_BACKLOG
from dex.tenancy.auth import SuperAdminAuth

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
