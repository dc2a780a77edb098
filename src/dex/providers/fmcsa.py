"""FMCSA QCMobile — ``https://mobile.fmcsa.dot.gov/qc/services``, GET only, the key as the ``webKey`` query
parameter (FMCSA's QCMobile API documentation).

QCMobile wraps its answers in ``content`` (a list for searches, an object for one carrier) and each record
in a named object (``carrier``, ``basic``, ``carrierAuthority``); older deployments answer bare records
or use ``results``/``carriers``/``data``, so the readers below accept all of them. Yes/no fields come as
``Y``/``N`` strings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "fmcsa"
COLLECTION_KEYS = ("content", "results", "carriers", "data")
RECORD_KEYS = ("content", "carrier", "result", "data")
WRAPPERS = ("carrier", "basic", "carrierAuthority", "authority")
TRUE_WORDS = {"y", "yes", "true", "1"}
FALSE_WORDS = {"n", "no", "false", "0"}


def flag(value: Any) -> bool | None:
    """A QCMobile yes/no value (``Y``/``N``, booleans, 1/0) as a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = (clean_text(value) or "").lower()
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None


def count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = clean_text(value)
    return int(text) if text and text.isdigit() else None


def percentile(value: Any) -> float | None:
    """A BASIC percentile; QCMobile also answers words ("inconclusive", "insufficient data") for none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = (clean_text(value) or "").rstrip("%")
    try:
        return float(text)
    except ValueError:
        return None


def unwrap(item: Any) -> dict[str, Any]:
    """A record without QCMobile's naming wrapper (``{"carrier": {...}}`` → ``{...}``)."""
    if not isinstance(item, dict):
        return {}
    for key in WRAPPERS:
        if isinstance(item.get(key), dict):
            return item[key]
    return item


def collection(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The first list of records under one of :data:`COLLECTION_KEYS` (also one level down)."""
    for key in COLLECTION_KEYS:
        value = body.get(key)
        if isinstance(value, dict):
            value = next((value[k] for k in COLLECTION_KEYS if isinstance(value.get(k), list)), None)
        if isinstance(value, list):
            return [record for record in map(unwrap, value) if record]
    return []


def primary_record(body: dict[str, Any]) -> dict[str, Any]:
    """The one record of a single-carrier answer: the first object under :data:`RECORD_KEYS`, or the first
    element of a list there, else the body itself."""
    for key in RECORD_KEYS:
        value = body.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            return unwrap(value)
    return unwrap(body)


def dot_of(record: dict[str, Any]) -> str | None:
    value = record.get("dotNumber")
    number = count(value)
    return str(number) if number is not None else None


def _carrier_identity(record: dict[str, Any]) -> dict[str, Any]:
    """The fields a carrier's search summary and its full profile share."""
    return {
        "dot_number": dot_of(record),
        "legal_name": clean_text(record.get("legalName")),
        "dba_name": clean_text(record.get("dbaName")),
        "allow_to_operate": flag(record.get("allowToOperate")),
    }


def _carrier_summary(record: dict[str, Any]) -> dict[str, Any]:
    return {
        **_carrier_identity(record),
        "city": clean_text(record.get("phyCity")),
        "state": clean_text(record.get("phyState")),
        "phone": clean_text(record.get("telephone")),
    }


@adapter(PROVIDER, "search_carriers")
async def search_carriers(call: ProviderCall, *, name: str, size: int = 50) -> AdapterResult:
    """Carriers whose legal or DBA name matches ``name`` (QCMobile returns at most 50 per page)."""
    response = await call.request(
        "GET",
        f"/carriers/name/{quote(name, safe='')}",
        params={"webKey": call.key, "start": 1, "size": size},
    )
    if not response.ok:
        return call.failed_response(response)
    carriers = [_carrier_summary(r) for r in collection(response.json_body)]
    carriers = [carrier for carrier in carriers if carrier["dot_number"]]
    return call.result("found" if carriers else "not_found", response, mapped={"results": carriers})


def _basic(item: dict[str, Any]) -> dict[str, Any]:
    category = item.get("basic") if isinstance(item.get("basic"), str) else None
    return {
        "category": clean_text(category)
        or clean_text(item.get("basicShortDesc"))
        or clean_text(item.get("category")),
        "percentile": percentile(item.get("percentile")),
        "violation_count": count(item.get("violationCount")),
        "serious_violation_count": count(item.get("seriousViolationCount")),
        "deficiency": flag(item.get("deficiency", item.get("rdDeficient"))),
    }


@adapter(PROVIDER, "enrich_carrier")
async def enrich_carrier(call: ProviderCall, *, dot_number: str) -> AdapterResult:
    """One carrier by USDOT number: its registration record, then its BASIC safety scores and its operating
    authority. Without the registration there is nothing to enrich; the other two only add detail
    (``provider_status`` says ``partial`` when one of them is missing)."""
    dot = quote(dot_number, safe="")
    params = {"webKey": call.key}
    base = await call.request("GET", f"/carriers/{dot}", params=params)
    if not base.ok:
        return call.failed_response(base)
    record = primary_record(base.json_body)
    if dot_of(record) is None:
        return call.result("not_found", base)
    basics = await call.request("GET", f"/carriers/{dot}/basics", params=params)
    authority = await call.request("GET", f"/carriers/{dot}/authority", params=params)
    scores = [_basic(item) for item in collection(basics.json_body)] if basics.ok else []
    grant = primary_record(authority.json_body) if authority.ok else {}
    power_units = count(record.get("totalPowerUnits", record.get("powerUnit")))
    vehicles = [count(record.get(key)) for key in ("busVehicle", "vanVehicle", "passengerVehicle")]
    if power_units is None and any(v is not None for v in vehicles):
        power_units = sum(v or 0 for v in vehicles)
    mapped = {
        **_carrier_identity(record),
        "out_of_service": flag(record.get("outOfService")),
        "out_of_service_date": clean_text(record.get("outOfServiceDate")),
        "total_drivers": count(record.get("totalDrivers", record.get("driverTotal"))),
        "total_power_units": power_units,
        "bus_vehicles": vehicles[0],
        "van_vehicles": vehicles[1],
        "passenger_vehicles": vehicles[2],
        "address_street": clean_text(record.get("phyStreet")),
        "address_city": clean_text(record.get("phyCity")),
        "address_state": clean_text(record.get("phyState")),
        "address_zip": clean_text(record.get("phyZipcode")) or clean_text(record.get("phyZip")),
        "phone": clean_text(record.get("telephone")),
        "complaint_count": count(record.get("complaintCount")),
        "basic_scores": scores,
        "authority_status": clean_text(grant.get("authorityStatus"))
        or clean_text(grant.get("operatingStatus")),
        "authority_grant_date": clean_text(grant.get("authorityGrantDate"))
        or clean_text(grant.get("grantDate")),
    }
    complete = bool(scores) and mapped["authority_status"] is not None
    return call.result("found", base, mapped=mapped, provider_status="full" if complete else "partial")


# A carrier lookup is free; FMCSA's own documentation uses USDOT 44110 as its example.
ACCOUNT_PROBE = AccountProbe(
    "GET", "/carriers/44110", lambda credentials: ProbeRequest(params={"webKey": credentials[0]})
)
