from __future__ import annotations

from dex.providers import millionverifier, reoon
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase


def _has_verdict(result: AdapterResult) -> None:
    assert result.mapped["status"] in {"ok", "catch_all", "unknown", "invalid", "safe"}
    assert isinstance(result.mapped["inconclusive"], bool)


CASES = [
    AdapterCase(
        millionverifier.verify_email,
        {"email": "ava.patel@acme.io"},
        found_status="verified",
        check_found=_has_verdict,
    ),
    AdapterCase(
        reoon.verify_email, {"email": "ava.patel@acme.io"}, found_status="verified", check_found=_has_verdict
    ),
]
