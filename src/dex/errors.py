"""One typed error hierarchy; the API maps it to HTTP status codes in one place (dex.api.app)."""

from __future__ import annotations


class DexError(Exception):
    """Base of every error dex raises on purpose. ``status_code`` is what the API answers with."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DexError):
    status_code = 400


class Unauthorized(DexError):
    status_code = 401


class Forbidden(DexError):
    status_code = 403


class NotFound(DexError):
    status_code = 404


class Conflict(DexError):
    status_code = 409


class Unprocessable(DexError):
    """Well-formed, but in conflict with what the server already holds (an idempotency key reused with
    another body)."""

    status_code = 422


class TooManyRequests(DexError):
    """Refused for now; ``retry_after_seconds`` says when to try again (the ``Retry-After`` header)."""

    status_code = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConfigurationError(DexError):
    """Bad or missing configuration, detected at startup."""


class DatabaseUnavailable(DexError):
    """The database cannot be reached; startup stops with a one-line message."""

    status_code = 503
