"""Prometheus metrics and structured logs.

Metrics (served at ``GET /metrics`` by :mod:`dex.api.metrics`): steps finished by operation
and status, the recordings of finished steps (their duration and steps), provider request latency by
provider and outcome, 429s, enrichment-cache lookups (hit ratio = hits / lookups), credits spent and saved
per provider, webhook deliveries, and — read from the database at each scrape — steps waiting or running by
status, the ready queue's depth and the webhook backlog.

Logs: ``DEX_LOG_FORMAT=json`` (the default of ``dex serve``) writes one JSON object per line with the run,
step, submission and org ids of the work being done (:func:`log_context`). In both formats known secret
values, bearer tokens and webhook secrets are redacted before anything is written.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from dex.config import Settings

# --- metrics --------------------------------------------------------------------------------------------

STEPS_FINISHED = Counter(
    "dex_steps_finished_total",
    "Steps the executor finished, by operation and status",
    ["operation", "status"],
)
# A process records its finished steps one batch (one transaction) at a time: the sum over the time it ran
# says how busy that writer is — at 1.0 it is what limits the process's throughput.
RECORDING_SECONDS = Histogram(
    "dex_recording_seconds",
    "Duration of each recording of a batch of finished steps (one transaction, its retries included)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECORDED_STEPS = Counter("dex_recorded_steps_total", "Finished steps handed to the recording")
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
LOGIN_LOCKOUTS = Counter(
    "dex_login_lockouts_total",
    "Login lockouts started, by login (tenant or super_admin) and what was locked (account or address)",
    ["login", "subject"],
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
# --- logs -----------------------------------------------------------------------------------------------

_LOG_CONTEXT: ContextVar[dict[str, str]] = ContextVar("dex_log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach ids (run, step, submission, org…) to every log record written inside, in this task."""
    token = _LOG_CONTEXT.set({**_LOG_CONTEXT.get(), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _LOG_CONTEXT.reset(token)


REDACTED = "[redacted]"
# Credentials that can show up in messages whatever the configuration: bearer tokens, webhook secrets.
SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()whsec_[A-Za-z0-9_-]+"),
)
SECRET_SETTING = re.compile(r"(key|secret|password|token)$")


def secret_values(settings: Settings) -> list[str]:
    """Every configured credential: settings named *_key, *_secret…, and the database password."""
    values = [
        value
        for name, value in settings.model_dump().items()
        if SECRET_SETTING.search(name) and isinstance(value, str) and len(value) >= 6
    ]
    password = urlsplit(settings.database_url or "").password
    return values + ([password] if password else [])


class RedactSecrets(logging.Filter):
    """Rewrites each record's message (and traceback) with secrets replaced, before any formatter runs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def redact(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, REDACTED)
        for pattern in SECRET_PATTERNS:
            message = pattern.sub(lambda match: match.group(1) + REDACTED, message)
        return message

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


# Attributes every LogRecord has; anything else was passed as ``extra`` and goes into the JSON object.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_LOG_CONTEXT.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(log_format: str, *, secrets: Iterable[str] = (), level: int = logging.WARNING) -> None:
    """Route every log record through one handler on stderr: ``json`` or ``text``, secrets redacted."""
    if log_format not in ("json", "text"):
        raise ValueError(f"DEX_LOG_FORMAT must be json or text, not {log_format!r}")
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
