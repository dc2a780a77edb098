"""Defensive readers of provider JSON, shared by the adapters: a field of an unexpected type must never
fail a call, so provider payloads are read as carefully as operation input."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dex.normalize import clean_text, normalize_domain, normalize_linkedin_url
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse


def section(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, else an empty one."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (anything else in it, or a non-list, is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def strings(value: Any) -> list[str]:
    """The non-blank strings of a list, trimmed."""
    return [item.strip() for item in value if clean_text(item)] if isinstance(value, list) else []


def first_text(data: dict[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-blank string."""
    return next((text for key in keys if (text := clean_text(data.get(key)))), None)


def domain_of(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_domain(text) if text else None


def linkedin_of(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_linkedin_url(text) if text else None


def id_text(value: Any) -> str | None:
    """A provider id (string or number) as text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return clean_text(str(value))


def settled_by_status(
    call: ProviderCall, response: ProviderResponse, not_found_statuses: Collection[int] = (404,)
) -> AdapterResult | None:
    """The attempt when the answer is a documented not-found status or unusable (failed); None when it is
    a 2xx JSON answer the adapter has to read."""
    if response.http_status in not_found_statuses and response.error is None:
        return call.result("not_found", response, provider_status=f"http_{response.http_status}")
    if not response.ok:
        return call.failed_response(response)
    return None
