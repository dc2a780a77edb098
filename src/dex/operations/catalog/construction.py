"""Construction and local-market intelligence (Shovels): building permits, the contractors who pull them
and their employees, geographies (cities, counties, zip codes, jurisdictions) and their permit metrics,
addresses and their residents.

These operations are about places and the trades working in them, not about the company being enriched,
so they run on company-type entities (the reference's rule for Shovels operations) and take their search
filters as step options. Contractors are companies and fan out as such; employees and residents are
people."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from dex.operations.catalog.common import distinctive, operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import CostTier, FanOut, OperationSpec, Requirements
from dex.providers import shovels
from dex.providers.base import AdapterResult

DEFAULT_SIZE = 50
MAX_SIZE = 100
GEO_TYPES = ("city", "county", "jurisdiction", "address")
DETAIL_GEO_TYPES = ("city", "county", "jurisdiction")
PERMIT_WINDOW = ("permit_from", "permit_to", "geo_id")
PERMIT_FILTERS = (
    "permit_tags",
    "property_type",
    "permit_min_job_value",
    "contractor_classification_derived",
    "size",
    "permit_has_contractor",
    "permit_q",
    "permit_status",
    "cursor",
)
CONTRACTOR_FILTERS = (
    "permit_tags",
    "contractor_classification_derived",
    "contractor_name",
    "contractor_website",
    "contractor_min_total_job_value",
    "size",
    "cursor",
)
ADDRESS_FILTERS = (
    "street_no",
    "street",
    "city",
    "county",
    "state",
    "zip_code",
    "zip_code_ext",
    "jurisdiction",
    "property_type",
    "cursor",
    "size",
)


class Permit(BaseModel):
    permit_id: str | None
    number: str | None
    description: str | None
    status: str | None
    file_date: str | None
    issue_date: str | None
    final_date: str | None
    job_value: float | None
    fees: float | None
    contractor_id: str | None
    contractor_name: str | None
    address: str | None
    property_type: str | None
    source_provider: str


class PermitSearchOutput(BaseModel):
    results: list[Permit]
    result_count: int
    next_cursor: str | None
    source_provider: str


class Contractor(BaseModel):
    id: str | None
    name: str | None
    business_name: str | None
    business_type: str | None
    classification: str | None
    classification_derived: str | None
    primary_email: str | None
    primary_phone: str | None
    email: str | None
    phone: str | None
    website: str | None
    linkedin_url: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    county: str | None
    license: str | None
    employee_count: str | None
    revenue: str | None
    rating: float | None
    review_count: int | None
    permit_count: int | None
    total_job_value: float | None
    avg_job_value: float | None
    avg_inspection_pass_rate: float | None
    primary_industry: str | None
    source_provider: str


class ContractorSearchOutput(BaseModel):
    results: list[Contractor]
    result_count: int
    next_cursor: str | None
    source_provider: str


class Employee(BaseModel):
    id: str | None
    name: str | None
    email: str | None
    business_email: str | None
    phone: str | None
    linkedin_url: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    source_provider: str


class EmployeesOutput(BaseModel):
    employees: list[Employee]
    employee_count: int
    source_provider: str


class Resident(BaseModel):
    name: str | None
    personal_emails: list[str]
    phone: str | None
    linkedin_url: str | None
    net_worth: str | None
    income_range: str | None
    is_homeowner: bool | None
    city: str | None
    state: str | None
    zip_code: str | None
    source_provider: str


class ResidentsOutput(BaseModel):
    residents: list[Resident]
    resident_count: int
    source_provider: str


class Geography(BaseModel):
    geo_id: str
    name: str | None
    state: str | None
    source_provider: str


class GeoSearchOutput(BaseModel):
    results: list[Geography]
    result_count: int
    source_provider: str


class DataPoint(BaseModel):
    month: str
    value: float | None


class MonthlyMetricsOutput(BaseModel):
    geo_id: str
    metric: str
    data_points: list[DataPoint]
    source_provider: str


class CurrentMetricsOutput(BaseModel):
    geo_id: str
    metrics: dict[str, Any]
    source_provider: str


class GeoDetailOutput(BaseModel):
    geo_id: str
    name: str | None
    state: str | None
    details: dict[str, Any]
    source_provider: str


class Address(BaseModel):
    geo_id: str | None
    address: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    property_type: str | None
    source_provider: str


class AddressSearchOutput(BaseModel):
    results: list[Address]
    result_count: int
    source_provider: str


def tagged(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "source_provider": shovels.PROVIDER} for item in items]


def filters(config: OperationInput, names: tuple[str, ...]) -> dict[str, Any]:
    """The named filters that have a value, as given (lists stay lists: Shovels repeats the key)."""
    return {name: config.raw[name] for name in names if config.has(name)}


def size_of(config: OperationInput) -> int:
    return config.integer("size", DEFAULT_SIZE, minimum=1, maximum=MAX_SIZE) or DEFAULT_SIZE


def geography_of(config: OperationInput, allowed: tuple[str, ...]) -> tuple[str, str | None] | Outcome:
    """The (geo_type, geo_id) a step names; a geo_type outside ``allowed`` is a failed outcome whose missing
    input names the values that are."""
    geo_type = (config.text("geo_type") or "").lower()
    if geo_type not in allowed:
        return Outcome("failed", missing_inputs=[f"geo_type_supported_values_{'_'.join(allowed)}"])
    return geo_type, config.text("geo_id")


def listing(
    result: AdapterResult, key: str = "results", count_key: str = "result_count", *, cursor: bool = True
) -> Outcome:
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    mapped = result.mapped or {}
    items = tagged(mapped.get(key, []))
    output: dict[str, Any] = {key: items, count_key: len(items), "source_provider": shovels.PROVIDER}
    if cursor:
        output["next_cursor"] = mapped.get("next_cursor")
    return Outcome(status, output)


async def permit_search(inv: Invocation) -> Outcome:
    config = inv.configured()
    params = filters(config, (*PERMIT_WINDOW, *PERMIT_FILTERS))
    params["size"] = size_of(config)
    return listing(await shovels.search_permits(inv.providers, params=params))


async def contractor_search(inv: Invocation) -> Outcome:
    config = inv.configured()
    params = filters(config, (*PERMIT_WINDOW, *CONTRACTOR_FILTERS))
    params["size"] = size_of(config)
    return listing(await shovels.search_contractors(inv.providers, params=params))


async def contractor_enrich(inv: Invocation) -> Outcome:
    result = await shovels.get_contractor(inv.providers, contractor_id=inv.input.text("contractor_id"))
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    return Outcome(status, {**result.mapped, "source_provider": shovels.PROVIDER})


async def contractor_employees(inv: Invocation) -> Outcome:
    config = inv.configured()
    result = await shovels.contractor_employees(
        inv.providers,
        contractor_id=inv.input.text("contractor_id"),
        size=size_of(config),
        cursor=config.text("cursor"),
    )
    return listing(result, "employees", "employee_count", cursor=False)


async def address_residents(inv: Invocation) -> Outcome:
    config = inv.configured()
    result = await shovels.address_residents(
        inv.providers, geo_id=config.text("geo_id"), size=size_of(config), cursor=config.text("cursor")
    )
    return listing(result, "residents", "resident_count", cursor=False)


async def address_search(inv: Invocation) -> Outcome:
    config = inv.configured()
    params = {"q": config.text("q"), **filters(config, ADDRESS_FILTERS)}
    return listing(await shovels.search_addresses(inv.providers, params=params), cursor=False)


def geo_searcher(kind: str, text_key: str) -> Callable[[Invocation], Awaitable[Outcome]]:
    async def search(inv: Invocation) -> Outcome:
        config = inv.configured()
        result = await shovels.search_geos(
            inv.providers,
            kind=kind,
            state=(config.text("state") or "").upper(),
            text_filter=config.text(text_key),
            size=size_of(config),
        )
        return listing(result, cursor=False)

    return search


async def metrics_monthly(inv: Invocation) -> Outcome:
    config = inv.configured()
    geography = geography_of(config, GEO_TYPES)
    if isinstance(geography, Outcome):
        return geography
    (geo_type, geo_id), metric = geography, config.text("metric") or "all"
    result = await shovels.metrics_monthly(
        inv.providers,
        geo_type=geo_type,
        geo_id=geo_id,
        metric=metric,
        start_date=config.text("start_date"),
        end_date=config.text("end_date"),
    )
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    points = (result.mapped or {}).get("data_points", [])
    return Outcome(
        status,
        {"geo_id": geo_id, "metric": metric, "data_points": points, "source_provider": shovels.PROVIDER},
    )


async def found_geography(
    inv: Invocation, allowed: tuple[str, ...], fetch: Callable[..., Awaitable[AdapterResult]]
) -> tuple[str | None, AdapterResult] | Outcome:
    """The geo_id and what ``fetch`` found for the step's geography; any other answer is the outcome."""
    geography = geography_of(inv.configured(), allowed)
    if isinstance(geography, Outcome):
        return geography
    geo_type, geo_id = geography
    result = await fetch(inv.providers, geo_type=geo_type, geo_id=geo_id)
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    return geo_id, result


async def metrics_current(inv: Invocation) -> Outcome:
    geography = await found_geography(inv, GEO_TYPES, shovels.metrics_current)
    if isinstance(geography, Outcome):
        return geography
    geo_id, result = geography
    return Outcome(
        "found", {"geo_id": geo_id, "metrics": result.mapped["metrics"], "source_provider": shovels.PROVIDER}
    )


async def geo_detail(inv: Invocation) -> Outcome:
    geography = await found_geography(inv, DETAIL_GEO_TYPES, shovels.geo_detail)
    if isinstance(geography, Outcome):
        return geography
    geo_id, result = geography
    detail = result.mapped
    output = {
        "geo_id": detail["geo_id"] or geo_id,
        "name": detail["name"],
        "state": detail["state"],
        "details": detail["details"],
        "source_provider": shovels.PROVIDER,
    }
    return Outcome("found", output)


def shovels_spec(
    operation_id: str,
    description: str,
    handler: Callable[[Invocation], Awaitable[Outcome]],
    output_contract: type[BaseModel],
    *,
    required: tuple[str, ...],
    options: tuple[str, ...] = (),
    produces: tuple[str, ...] = (),
    fan_out: FanOut | None = None,
    cost_tier: CostTier = "medium",
) -> OperationSpec:
    return OperationSpec(
        operation_id=operation_id,
        entity_type="company",
        category=operation_id.split(".")[1],
        description=description,
        requirements=Requirements(all_of=required),
        optional_inputs=tuple(name for name in options if name not in required),
        produces=distinctive(*output_contract.model_fields, *produces),
        providers=(shovels.PROVIDER,),
        strategy="single",
        cost_tier=cost_tier,
        output_contract=output_contract,
        handler=handler,
        fan_out=fan_out,
        options=options,
    )


GEO_SEARCHES = (
    ("market.search.cities", "city", "name_contains", "Cities"),
    ("market.search.counties", "county", "name_contains", "Counties"),
    ("market.search.zipcodes", "zipcode", "zipcode_contains", "Zip codes"),
    ("market.search.jurisdictions", "jurisdiction", "name_contains", "Permit jurisdictions"),
)

OPERATIONS = [
    shovels_spec(
        "permit.search",
        "Building permits filed in a geography (geo_id: a state, zip code or Shovels geo id) between "
        "permit_from and permit_to (Shovels), optionally by tags, property type, minimum job value, status, "
        "contractor classification or text; size ≤ 100, cursor.",
        permit_search,
        PermitSearchOutput,
        required=PERMIT_WINDOW,
        options=(*PERMIT_WINDOW, *PERMIT_FILTERS),
        produces=distinctive(*Permit.model_fields),
        cost_tier="high",
    ),
    shovels_spec(
        "contractor.enrich",
        "One contractor by Shovels contractor_id: licence, classification, contacts, website, ratings and "
        "permit history totals.",
        contractor_enrich,
        Contractor,
        required=("contractor_id",),
    ),
    shovels_spec(
        "contractor.search",
        "Contractors who pulled permits in a geography between permit_from and permit_to (Shovels), "
        "optionally by tags, classification, name, website or minimum total job value; size ≤ 100, cursor. "
        "Fans out to the contractors as companies.",
        contractor_search,
        ContractorSearchOutput,
        required=PERMIT_WINDOW,
        options=(*PERMIT_WINDOW, *CONTRACTOR_FILTERS),
        produces=distinctive(*Contractor.model_fields),
        fan_out=FanOut(
            "results", "company", (("name", "company_name"), ("linkedin_url", "company_linkedin_url"))
        ),
        cost_tier="high",
    ),
    shovels_spec(
        "contractor.search.employees",
        "A contractor's employees (Shovels): names, emails, phones, LinkedIn; size ≤ 100, cursor. Fans out "
        "to the employees as people.",
        contractor_employees,
        EmployeesOutput,
        required=("contractor_id",),
        options=("size", "cursor"),
        produces=distinctive(*Employee.model_fields),
        fan_out=FanOut("employees", "person", (("name", "full_name"), ("business_email", "work_email"))),
    ),
    *(
        shovels_spec(
            operation_id,
            f"{label} in a state (Shovels geography search), optionally whose name holds {text_key}; "
            "size ≤ 100. Each with the geo_id other market operations take.",
            geo_searcher(kind, text_key),
            GeoSearchOutput,
            required=("state",),
            options=("state", text_key, "size"),
            produces=distinctive(*Geography.model_fields),
            cost_tier="low",
        )
        for operation_id, kind, text_key, label in GEO_SEARCHES
    ),
    shovels_spec(
        "market.enrich.metrics_monthly",
        "Monthly permit metrics of a geography (geo_id; geo_type city, county, jurisdiction or address) from "
        "start_date to end_date (Shovels): one metric, or the permit count when metric is all.",
        metrics_monthly,
        MonthlyMetricsOutput,
        required=("geo_id", "geo_type", "start_date", "end_date"),
        options=("geo_id", "geo_type", "metric", "start_date", "end_date"),
        produces=distinctive(*DataPoint.model_fields),
    ),
    shovels_spec(
        "market.enrich.metrics_current",
        "Current permit metrics of a geography (geo_id; geo_type city, county, jurisdiction or address) "
        "(Shovels): permit and contractor counts, durations, job value.",
        metrics_current,
        CurrentMetricsOutput,
        required=("geo_id", "geo_type"),
        options=("geo_id", "geo_type"),
    ),
    shovels_spec(
        "market.enrich.geo_detail",
        "A city, county or jurisdiction by geo_id (Shovels): its name, state and everything Shovels "
        "reports of it.",
        geo_detail,
        GeoDetailOutput,
        required=("geo_id", "geo_type"),
        options=("geo_id", "geo_type"),
    ),
    shovels_spec(
        "address.search",
        "Addresses matching a free-text q (Shovels), optionally by street, city, county, state, zip code, "
        "jurisdiction or property type; each with the geo_id permits and residents take.",
        address_search,
        AddressSearchOutput,
        required=("q",),
        options=("q", *ADDRESS_FILTERS),
        produces=distinctive(*Address.model_fields),
    ),
    shovels_spec(
        "address.search.residents",
        "The residents of an address (geo_id from address.search) (Shovels): names, personal emails, phone, "
        "LinkedIn, wealth and income bands, homeownership; size ≤ 100, cursor. Fans out to the residents "
        "as people.",
        address_residents,
        ResidentsOutput,
        required=("geo_id",),
        options=("geo_id", "size", "cursor"),
        produces=distinctive(*Resident.model_fields),
        fan_out=FanOut("residents", "person", (("name", "full_name"),)),
    ),
]
