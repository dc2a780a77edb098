"""Canonical entity fields and deterministic identity.

Identity is a UUIDv5 (namespace ``NAMESPACE_URL``) of the strongest natural key present, scoped by org:
company → domain, LinkedIn URL, name; person → LinkedIn URL, work email, full name. Unlike the seed system,
a context with none of those keys has no identity (no random "fallback" entity is invented).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit


def text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    result = str(value).strip()
    return result or None


def email(value: Any) -> str | None:
    result = text(value)
    return result.lower() if result and "@" in result else None


def linkedin(value: Any) -> str | None:
    result = text(value)
    return result.rstrip("/").lower() or None if result else None


def domain(value: Any) -> str | None:
    """Lowercased; a URL gives its network location; cut at the first ``/``; no leading ``www.``. A port
    stays part of the domain (``acme.io:8443`` and ``acme.io`` are different keys), as it did in the
    system whose entity ids dex keeps."""
    result = text(value)
    if result is None:
        return None
    result = result.lower()
    if "://" in result:
        result = urlsplit(result).netloc or result.split("://", 1)[1]
    result = result.split("/", 1)[0]
    if result.startswith("www."):
        result = result[4:]
    return result or None


def integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None


def number(value: Any) -> Decimal | None:
    """A Decimal of the value's shortest spelling: a float bound to a NUMERIC column would be stored with
    its binary expansion (0.85 → 0.84999999999999997779…)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def string_list(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    items = [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return items or None


def _first(context: dict[str, Any], keys: tuple[str, ...], normalize: Any) -> Any:
    for key in keys:
        value = normalize(context.get(key))
        if value is not None:
            return value
    return None


# column → (context keys in precedence order, normalizer)
COMPANY_COLUMNS: dict[str, tuple[tuple[str, ...], Any]] = {
    "canonical_domain": (("canonical_domain", "company_domain", "domain"), domain),
    "canonical_name": (("canonical_name", "company_name", "name"), text),
    "linkedin_url": (("linkedin_url", "company_linkedin_url"), linkedin),
    "industry": (("industry", "industry_primary"), text),
    "employee_count": (("employee_count",), integer),
    "employee_range": (("employee_range",), text),
    "revenue_band": (("revenue_band", "annual_revenue_range"), text),
    "hq_country": (("hq_country", "hq_country_code"), text),
    "description": (("description", "description_raw"), text),
    "enrichment_confidence": (("enrichment_confidence", "confidence"), number),
    "source_providers": (("source_providers",), string_list),
}

PERSON_COLUMNS: dict[str, tuple[tuple[str, ...], Any]] = {
    "full_name": (("full_name",), text),
    "first_name": (("first_name",), text),
    "last_name": (("last_name",), text),
    "linkedin_url": (("linkedin_url",), linkedin),
    "title": (("title", "current_title", "headline"), text),
    "seniority": (("seniority",), text),
    "department": (("department",), text),
    "work_email": (("work_email", "email"), email),
    "email_status": (("email_status",), text),
    "phone_e164": (("phone_e164", "mobile_phone"), text),
    "contact_confidence": (("contact_confidence", "confidence"), number),
    "company_domain": (("company_domain", "current_company_domain"), domain),
}

COLUMNS = {"company": COMPANY_COLUMNS, "person": PERSON_COLUMNS}


def canonical_columns(entity_type: str, context: dict[str, Any]) -> dict[str, Any]:
    columns = {name: _first(context, keys, fn) for name, (keys, fn) in COLUMNS[entity_type].items()}
    if entity_type == "person" and columns["email_status"] is None:
        verification = context.get("verification")
        if isinstance(verification, dict):
            columns["email_status"] = text(verification.get("status"))
    return columns


@dataclass(frozen=True)
class Identity:
    entity_type: str
    entity_id: uuid.UUID
    # (column, value) natural keys present, strongest first: how an existing row is found.
    natural_keys: tuple[tuple[str, str], ...]
    # The canonical columns of the context, which the identity was read from.
    columns: dict[str, Any] = field(compare=False)
    # The context named its entity (a valid ``entity_id``): that row is looked up before natural keys.
    explicit: bool = field(default=False, compare=False)


IDENTITY_KEYS = {
    "company": (("canonical_domain", "domain"), ("linkedin_url", "linkedin"), ("canonical_name", "name")),
    "person": (("linkedin_url", "linkedin"), ("work_email", "work_email"), ("full_name", "full_name")),
}
# Natural keys that are unique per org (the others only derive an id).
UNIQUE_KEYS = {"company": ("canonical_domain",), "person": ("linkedin_url", "work_email")}


def resolve_identity(org_id: uuid.UUID, entity_type: str, context: dict[str, Any]) -> Identity | None:
    """The entity a context describes, or None when it carries no natural key. An explicit valid
    ``entity_id`` in the context wins, as in the seed system."""
    return _identity(org_id, entity_type, context, canonical_columns(entity_type, context))


def entity_id_of(org_id: uuid.UUID, entity_type: str, context: dict[str, Any]) -> uuid.UUID | None:
    """The id :func:`resolve_identity` gives, from the identity columns alone (the timeline names an
    entity for every step; the other columns matter only to a merge)."""
    columns = {
        column: _first(context, *COLUMNS[entity_type][column]) for column, _ in IDENTITY_KEYS[entity_type]
    }
    identity = _identity(org_id, entity_type, context, columns)
    return identity.entity_id if identity else None


def _identity(
    org_id: uuid.UUID, entity_type: str, context: dict[str, Any], columns: dict[str, Any]
) -> Identity | None:
    keys = []
    for column, label in IDENTITY_KEYS[entity_type]:
        value = columns.get(column)
        if value is not None:
            keys.append((column, value.lower() if label in ("name", "full_name") else value))
    explicit = _uuid(context.get("entity_id"))
    if explicit is not None:
        return Identity(entity_type, explicit, tuple(keys), columns, explicit=True)
    if not keys:
        return None
    column, value = keys[0]
    label = dict(IDENTITY_KEYS[entity_type])[column]
    entity_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{entity_type}:{org_id}:{label}:{value}")
    return Identity(entity_type, entity_id, tuple(keys), columns)


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            return None
    return None
