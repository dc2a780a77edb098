"""Motor carriers (FMCSA QCMobile): one carrier's registration, safety scores and authority by USDOT
number, and carriers by name."""

from __future__ import annotations

from pydantic import BaseModel

from dex.operations.catalog.common import distinctive, operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import FanOut, OperationSpec, Requirements
from dex.providers import fmcsa

MAX_RESULTS = 50


class BasicScore(BaseModel):
    category: str | None
    percentile: float | None
    violation_count: int | None
    serious_violation_count: int | None
    deficiency: bool | None


class CarrierOutput(BaseModel):
    dot_number: str
    legal_name: str | None
    dba_name: str | None
    allow_to_operate: bool | None
    out_of_service: bool | None
    out_of_service_date: str | None
    total_drivers: int | None
    total_power_units: int | None
    bus_vehicles: int | None
    van_vehicles: int | None
    passenger_vehicles: int | None
    address_street: str | None
    address_city: str | None
    address_state: str | None
    address_zip: str | None
    phone: str | None
    complaint_count: int | None
    basic_scores: list[BasicScore]
    authority_status: str | None
    authority_grant_date: str | None
    source_provider: str


class CarrierResult(BaseModel):
    dot_number: str
    legal_name: str | None
    dba_name: str | None
    allow_to_operate: bool | None
    city: str | None
    state: str | None
    phone: str | None
    source_provider: str


class CarrierSearchOutput(BaseModel):
    results: list[CarrierResult]
    result_count: int
    source_provider: str


def dot_number(inp: OperationInput) -> str | None:
    """The USDOT number as digits, from a number or a string ("USDOT 123" counts too)."""
    value = inp.integer("dot_number")
    if value is None:
        digits = "".join(ch for ch in inp.text("dot_number") or "" if ch.isdigit())
        value = int(digits) if digits else None
    return str(value) if value is not None and value > 0 else None


async def enrich_carrier(inv: Invocation) -> Outcome:
    dot = dot_number(inv.input)
    if dot is None:
        return Outcome("failed")
    result = await fmcsa.enrich_carrier(inv.providers, dot_number=dot)
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    return Outcome(status, {**result.mapped, "source_provider": fmcsa.PROVIDER})


async def search_carriers(inv: Invocation) -> Outcome:
    name = inv.input.text("carrier_name") or inv.input.text("company_name")
    size = OperationInput({"size": inv.option("max_results")}).integer(
        "size", MAX_RESULTS, minimum=1, maximum=MAX_RESULTS
    )
    result = await fmcsa.search_carriers(inv.providers, name=name, size=size)
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    results = [
        {**carrier, "source_provider": fmcsa.PROVIDER} for carrier in (result.mapped or {}).get("results", [])
    ]
    return Outcome(
        status, {"results": results, "result_count": len(results), "source_provider": fmcsa.PROVIDER}
    )


OPERATIONS = [
    OperationSpec(
        operation_id="company.enrich.fmcsa",
        entity_type="company",
        category="enrich",
        description="A motor carrier by USDOT number (FMCSA QCMobile): registration, fleet and drivers, "
        "out-of-service status, BASIC safety percentiles and operating authority.",
        requirements=Requirements(all_of=("dot_number",)),
        produces=distinctive(*CarrierOutput.model_fields),
        providers=(fmcsa.PROVIDER,),
        strategy="single",
        cost_tier="free",
        output_contract=CarrierOutput,
        handler=enrich_carrier,
    ),
    OperationSpec(
        operation_id="company.search.fmcsa",
        entity_type="company",
        category="search",
        description="Motor carriers by legal or DBA name (FMCSA QCMobile), at most max_results (≤ 50). "
        "Fans out to the carriers, each with its USDOT number.",
        requirements=Requirements(any_of=("carrier_name", "company_name")),
        optional_inputs=("max_results",),
        produces=distinctive("results", "result_count", "source_provider", *CarrierResult.model_fields),
        providers=(fmcsa.PROVIDER,),
        strategy="single",
        cost_tier="free",
        output_contract=CarrierSearchOutput,
        handler=search_carriers,
        fan_out=FanOut("results", "company", (("legal_name", "company_name"),)),
        options=("max_results",),
    ),
]
