"""How dex writes a domain, a LinkedIn URL, an email and a text value, wherever they come from (client
input, provider answers): the one set of normalizers below providers and operations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def normalize_domain(value: str) -> str | None:
    """trim, lowercase, drop the scheme, cut at the first ``/`` (and ``?``/``#``), drop ``www.``."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).netloc or text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split("@")[-1].split(":", 1)[0]
    if text.startswith("www."):
        text = text[4:]
    return text or None


def normalize_linkedin_url(value: str) -> str | None:
    text = value.strip().rstrip("/").lower()
    return text or None


def normalize_email(value: str) -> str | None:
    text = value.strip().lower()
    return text if "@" in text else None


def clean_text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
