"""Online-store intelligence (StoreLeads): one store's profile, and store search by platform, category
or installed app."""

from __future__ import annotations

from pydantic import BaseModel

from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import FanOut, OperationSpec, Requirements
from dex.providers import storeleads

MAX_PAGE_SIZE = 50
DEFAULT_DOMAIN_STATE = "Active"


class InstalledApp(BaseModel):
    name: str | None
    categories: list[str]
    monthly_cost: str | None


class Technology(BaseModel):
    name: str | None
    description: str | None


class ContactInfo(BaseModel):
    type: str | None
    value: str | None
    source: str | None


class StoreSummary(BaseModel):
    merchant_name: str | None
    ecommerce_platform: str | None
    ecommerce_plan: str | None
    estimated_monthly_sales_cents: int | None
    global_rank: int | None
    country_code: str | None
    description: str | None
    source_provider: str


class EcommerceOutput(StoreSummary):
    employee_count: int | None
    product_count: int | None
    platform_rank: int | None
    monthly_app_spend_cents: int | None
    installed_apps: list[InstalledApp]
    technologies: list[Technology]
    contact_info: list[ContactInfo]
    city: str | None
    domain_state: str | None
    store_created_at: str | None
    shipping_carriers: list[str]
    sales_carriers: list[str]
    features: list[str]


class StoreResult(StoreSummary):
    domain: str


class EcommerceSearchOutput(BaseModel):
    results: list[StoreResult]
    result_count: int
    page: int
    source_provider: str


async def enrich_ecommerce(inv: Invocation) -> Outcome:
    result = await storeleads.enrich_domain(inv.providers, domain=inv.input.text("company_domain"))
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    return Outcome(status, {**result.mapped, "source_provider": storeleads.PROVIDER})


def search_filters(query: OperationInput) -> dict[str, str | int]:
    text = query.text
    filters: dict[str, str | int | None] = {
        # StoreLeads spells platforms in lowercase and countries as upper-case ISO codes.
        "platform": (text("platform") or "").lower() or None,
        "country_code": (text("country_code") or "").upper() or None,
        "app_installed": text("app_installed"),
        "category": text("category"),
        "domain_state": text("domain_state") or DEFAULT_DOMAIN_STATE,
        **{
            bound: query.integer(bound, minimum=0)
            for bound in ("rank_min", "rank_max", "monthly_app_spend_min", "monthly_app_spend_max")
        },
    }
    return {name: value for name, value in filters.items() if value is not None}


SEARCH_OPTIONAL_INPUTS = (
    "country_code",
    "domain_state",
    "rank_min",
    "rank_max",
    "monthly_app_spend_min",
    "monthly_app_spend_max",
    "page",
    "page_size",
)


async def search_ecommerce(inv: Invocation) -> Outcome:
    # Each filter from the input, else from the step's configuration (options or input.step_config).
    query = inv.configured()
    page = query.integer("page", 0, minimum=0) or 0
    page_size = query.integer("page_size", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    result = await storeleads.search_domains(
        inv.providers, filters=search_filters(query), page=page, page_size=page_size
    )
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    results = [
        {**store, "source_provider": storeleads.PROVIDER}
        for store in (result.mapped or {}).get("results", [])
    ]
    output = {
        "results": results,
        "result_count": len(results),
        "page": page,
        "source_provider": storeleads.PROVIDER,
    }
    return Outcome(status, output)


OPERATIONS = [
    OperationSpec(
        operation_id="company.enrich.ecommerce",
        entity_type="company",
        category="enrich",
        description="The company's online store (StoreLeads): platform and plan, estimated monthly sales, "
        "ranks, installed apps and their spend, technologies, contacts.",
        requirements=Requirements(all_of=("company_domain",)),
        produces=tuple(EcommerceOutput.model_fields),
        providers=(storeleads.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=EcommerceOutput,
        handler=enrich_ecommerce,
    ),
    OperationSpec(
        operation_id="company.search.ecommerce",
        entity_type="company",
        category="search",
        description="Online stores by platform, category or installed app (StoreLeads), optionally by "
        "country, domain state (default Active), global rank and monthly app spend; page/page_size "
        "(≤ 50). Fans out to the stores.",
        requirements=Requirements(any_of=("platform", "category", "app_installed")),
        optional_inputs=SEARCH_OPTIONAL_INPUTS,
        options=("platform", "category", "app_installed", *SEARCH_OPTIONAL_INPUTS),
        produces=("results", "result_count", "page", "source_provider"),
        providers=(storeleads.PROVIDER,),
        strategy="single",
        cost_tier="high",
        output_contract=EcommerceSearchOutput,
        handler=search_ecommerce,
        fan_out=FanOut(
            "results", "company", (("domain", "company_domain"), ("merchant_name", "company_name"))
        ),
    ),
]
