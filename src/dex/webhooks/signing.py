"""How deliveries are signed, and how a receiver checks them.

Each request carries ``X-Dex-Timestamp`` (Unix seconds) and ``X-Dex-Signature: v1=<hex>``, the
HMAC-SHA256 under the endpoint's secret of ``"<timestamp>.<raw body>"``. A receiver recomputes it over the
raw body it received, compares in constant time, and refuses timestamps too far from its clock, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Dex-Signature"
TIMESTAMP_HEADER = "X-Dex-Timestamp"
EVENT_HEADER = "X-Dex-Event"
DELIVERY_HEADER = "X-Dex-Delivery"
SCHEME = "v1"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    body: bytes,
    *,
    timestamp: str | None,
    signature_header: str | None,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether a received request was signed with ``secret`` recently enough. ``signature_header`` may
    list several comma-separated signatures (as during a secret rotation); one match suffices."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_seconds:
        return False
    expected = signature(secret, int(timestamp), body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in signature_header.split(","))
