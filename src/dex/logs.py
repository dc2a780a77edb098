"""Structured logs: ``DEX_LOG_FORMAT=json`` (the default of ``dex serve``) writes one JSON object per line
with the run, step, submission and org ids of the work being done (:func:`log_context`). In both formats
known secret values, bearer tokens and webhook secrets are redacted before anything is written.

Apart from the metrics (``dex.observability``) so that every ``dex`` command can set up its logs without
importing the web and database stack.
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

if TYPE_CHECKING:
    from dex.config import Settings

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
