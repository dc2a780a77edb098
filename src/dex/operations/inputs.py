"""Input hardening and the one alias table every operation shares.

A pipeline hands each operation the whole cumulative context: noisy, full of other steps' keys and of
values of every JSON type. Operations read it only through :class:`OperationInput`, which accepts a string
only when it is a non-blank ``str`` (anything else counts as absent, never as a crash) and resolves the
aliases below, so ``domain``, ``website`` and ``company_domain`` all reach an operation as one normalized
``company_domain`` and a blueprint never fails because two operations name a key differently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dex.normalize import clean_text, normalize_domain, normalize_email, normalize_linkedin_url

# canonical key → (source keys in precedence order, normalizer name)
ALIASES: dict[str, tuple[tuple[str, ...], str]] = {
    "company_domain": (
        (
            "company_domain",
            "domain",
            "canonical_domain",
            "company_website",
            "website",
            "current_company_domain",
        ),
        "domain",
    ),
    "company_website": (("company_website", "website"), "text"),
    "company_name": (("company_name", "canonical_name", "current_company_name"), "text"),
    "company_linkedin_url": (("company_linkedin_url", "current_company_linkedin_url"), "linkedin"),
    "linkedin_url": (("linkedin_url", "profile_url", "person_linkedin_url"), "linkedin"),
    "email": (("email", "work_email"), "email"),
    "work_email": (("work_email", "email"), "email"),
    "personal_email": (("personal_email",), "email"),
    "full_name": (("full_name",), "text"),
    "first_name": (("first_name",), "text"),
    "last_name": (("last_name",), "text"),
    "job_title": (("job_title",), "text"),
    "pricing_page_url": (("pricing_page_url",), "text"),
    "document_url": (("document_url",), "text"),
    # Search and ads targets: text only (a number or list here is noise, not a filter).
    "platform": (("platform",), "text"),
    "category": (("category",), "text"),
    "app_installed": (("app_installed",), "text"),
    "keyword": (("keyword",), "text"),
    "facebook_url": (("facebook_url",), "text"),
}

_NORMALIZERS = {
    "domain": normalize_domain,
    "linkedin": normalize_linkedin_url,
    "email": normalize_email,
    "text": lambda value: value.strip() or None,
}


class OperationInput:
    """Read-only, type-safe view of an operation's input."""

    def __init__(self, raw: Mapping[str, Any] | None) -> None:
        self.raw: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
        self._resolved: dict[str, str | None] = {}

    def text(self, key: str) -> str | None:
        """The canonical value of ``key`` (aliases resolved and normalized) or a plain non-blank string."""
        if key in self._resolved:
            return self._resolved[key]
        if key in ALIASES:
            sources, normalizer = ALIASES[key]
            value = None
            for source in sources:
                candidate = clean_text(self.raw.get(source))
                if candidate is not None:
                    value = _NORMALIZERS[normalizer](candidate)
                    if value is not None:
                        break
        else:
            value = clean_text(self.raw.get(key))
        if value is None:
            value = next(filter(None, (nested.text(key) for nested in self._nested())), None)
        if value is None and key in ("first_name", "last_name"):
            value = self._name_part(key)
        if value is None and key == "full_name":
            parts = [self.text("first_name"), self.text("last_name")]
            value = " ".join(p for p in parts if p) or None
        self._resolved[key] = value
        return value

    def _nested(self) -> list[OperationInput]:
        """Where a text input missing at the top is looked for next: an explicit ``cumulative_context``
        object, then its ``company_profile`` — how callers of ``/api/v1/execute`` hand an operation a
        pipeline's context."""
        context = self.raw.get("cumulative_context")
        if not isinstance(context, Mapping):
            return []
        profile = context.get("company_profile")
        return [OperationInput(context), *([OperationInput(profile)] if isinstance(profile, Mapping) else [])]

    def _name_part(self, key: str) -> str | None:
        """First/last name split from ``full_name`` when neither part was given."""
        if clean_text(self.raw.get("first_name")) or clean_text(self.raw.get("last_name")):
            return None
        full = clean_text(self.raw.get("full_name"))
        if not full:
            return None
        first, _, rest = full.partition(" ")
        return first if key == "first_name" else (rest.strip() or None)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present with a usable value (strings non-blank; lists/objects non-empty)."""
        if self.text(key) is not None:
            return True
        if key in ALIASES:  # a text key counts only with text (a number or list is noise, not a value)
            return False
        value = self.raw.get(key)
        if isinstance(value, bool):
            return True
        if isinstance(value, (int, float)):
            return not (isinstance(value, float) and math.isnan(value))
        return isinstance(value, (list, dict)) and bool(value)

    def integer(
        self, key: str, default: int | None = None, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.raw.get(key)
        number: int | None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and math.isfinite(value):
            number = int(value)
        elif isinstance(value, str):
            try:
                number = int(float(value.strip()))
            except (ValueError, OverflowError):
                number = None
        else:
            number = None
        if number is None:
            number = default
        if number is not None and minimum is not None:
            number = max(minimum, number)
        if number is not None and maximum is not None:
            number = min(maximum, number)
        return number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "on"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"false", "no", "0", "off"}:
            return False
        return default

    def strings(self, key: str) -> list[str]:
        """A string or a list of strings, as a list of non-blank strings."""
        value = self.raw.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        return value if isinstance(value, dict) else {}

    def objects(self, key: str) -> list[dict[str, Any]]:
        value = self.raw.get(key)
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
