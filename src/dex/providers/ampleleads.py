"""AmpleLeads — LinkedIn person enrichment with the full work history: POST
``/v1/linkedin/person/enrich?api_key=<key>`` with ``{"url": <linkedin url>}``.

``success: false`` is a failure (its ``message`` is the provider status); ``success: true`` with an empty
``data`` is not found.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text, normalize_email, normalize_linkedin_url
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "ampleleads"
EMAIL_KEYS = ("email", "work_email", "email_address")
MOBILE_KEYS = ("mobile", "phone", "phone_number")


@adapter(PROVIDER, "enrich_person")
async def enrich_person(call: ProviderCall, *, linkedin_url: str) -> AdapterResult:
    response = await call.request(
        "POST",
        "/v1/linkedin/person/enrich",
        params={"api_key": call.key},
        headers={"accept": "application/json"},
        json_body={"url": linkedin_url},
    )
    body = response.json_body
    if not response.ok:
        return call.failed_response(response)
    if body.get("success") is False:
        return call.failed_response(response, provider_status=clean_text(body.get("message")))
    data = body.get("data")
    if not isinstance(data, dict) or not data:
        return call.result("not_found", response)
    return call.result("found", response, mapped=_profile(data))


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    """AmpleLeads' person as person-profile fields."""
    first_name, last_name = clean_text(data.get("first_name")), clean_text(data.get("last_name"))
    contact = data.get("contact_details")
    contact = contact if isinstance(contact, dict) else {}
    linkedin_url = clean_text(data.get("linkedin_url"))
    email = _first_text(contact, EMAIL_KEYS)
    return {
        "full_name": " ".join(part for part in (first_name, last_name) if part)
        or clean_text(data.get("full_name")),
        "first_name": first_name,
        "last_name": last_name,
        "linkedin_url": normalize_linkedin_url(linkedin_url) if linkedin_url else None,
        "headline": clean_text(data.get("headline")),
        "location": clean_text(data.get("location")),
        "work_history": _objects(data.get("experience")),
        "education": _objects(data.get("education")),
        "skills": _skills(data.get("skills")),
        "recommendations": _objects(data.get("recommendations")),
        "people_also_viewed": _objects(data.get("people_also_viewed")),
        "email": normalize_email(email) if email else None,
        "mobile_phone": _first_text(contact, MOBILE_KEYS),
        "source_provider": PROVIDER,
    }


def _first_text(mapping: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((clean_text(mapping[key]) for key in keys if clean_text(mapping.get(key))), None)


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _skills(value: Any) -> list[str]:
    """Skills come as strings or as ``{"name": …}`` objects."""
    if not isinstance(value, list):
        return []
    names = (clean_text(item.get("name")) if isinstance(item, dict) else clean_text(item) for item in value)
    return [name for name in names if name]


# No account endpoint is known: the smallest request is one profile enrichment.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/v1/linkedin/person/enrich",
    lambda credentials: ProbeRequest(
        params={"api_key": credentials[0]}, json_body={"url": "https://www.linkedin.com/in/williamhgates"}
    ),
    cost="one profile enrichment",
)
