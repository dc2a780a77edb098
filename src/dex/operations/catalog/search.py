"""Search operations whose results fan out into child entities: ``company.search`` and
``person.search``.

Each result item carries the canonical fields and, as ``raw``, the provider's own item for that entity
(size-capped), which clients of the seed system read. The fan-out leaves ``raw`` out of a child's input, so
a child's context holds the canonical fields only rather than a copy of the provider's blob.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from dex.normalize import normalize_domain
from dex.operations.catalog.company_enrich import company_fields, company_linkedin_url, settled_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import FanOut, OperationSpec, Requirements
from dex.providers import blitzapi, companyenrich, leadmagic, prospeo
from dex.providers.base import AdapterResult, skipped, with_raw
from dex.providers.payload import section

MAX_LIMIT = 1000
# Results a search returns when neither ``limit`` nor ``max_results`` says otherwise.
DEFAULT_LIMIT = 100
MAX_PAGE_SIZE = 100
SEARCH_PROVIDERS = ("prospeo", "blitzapi", "companyenrich", "leadmagic")


def bounded(inp: OperationInput, key: str, default: int, maximum: int) -> int:
    """An integer input in ``1..maximum``; anything unusable (junk text, "inf", objects) is the default."""
    try:
        value = inp.integer(key, default, minimum=1, maximum=maximum)
    except OverflowError:
        value = default
    return value if value is not None else default


def provider_filters(inp: OperationInput, provider: str) -> dict[str, Any]:
    """The caller's filters for ``provider`` (``provider_filters.<provider>``, only when an object)."""
    value = inp.mapping("provider_filters").get(provider)
    return value if isinstance(value, dict) else {}


Item = dict[str, Any]


@dataclass
class Accumulator:
    """Results gathered across providers, projected onto the result contract and deduplicated on arrival
    (the first provider's copy of an entity wins)."""

    limit: int
    project: Callable[[Item, str], Item]
    identity: Callable[[Item], set[tuple[str, str]]]
    results: list[Item] = field(default_factory=list)
    pagination: dict[str, Any] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, step: str, result: AdapterResult | None) -> int:
        """Takes a plan step's answer (None: nothing to take); returns how many new entities it brought."""
        if result is None or result.status != "found" or not isinstance(result.mapped, dict):
            return 0
        provider = result.attempt.provider
        self.pagination[step] = result.mapped.get("pagination") or {}
        added = 0
        for raw in result.mapped.get("results") or []:
            item = self.project(raw, provider) if isinstance(raw, dict) else {}
            identity = self.identity(item)
            if not identity or identity & self._seen:
                continue
            self._seen |= identity
            self.results.append(item)
            added += 1
        return added

    @property
    def full(self) -> bool:
        return len(self.results) >= self.limit

    def outcome(self, inv: Invocation) -> Outcome:
        results = self.results[: self.limit]
        # The providers actually asked, in order (a provider skipped for lack of inputs was not).
        asked = [attempt.provider for attempt in inv.providers.attempts if attempt.status != "skipped"]
        output = {
            "results": results,
            "result_count": len(results),
            "provider_order_used": list(dict.fromkeys(asked)),
            "pagination": self.pagination,
        }
        return Outcome(settled_status(bool(results), inv), output)


# --- company.search ------------------------------------------------------------------------------------


class CompanySearchResult(BaseModel):
    """One company found: canonical fields and the provider's own item (see the module docstring)."""

    company_name: str | None = None
    company_domain: str | None = None
    company_website: str | None = None
    company_linkedin_url: str | None = None
    industry_primary: str | None = None
    employee_range: str | None = None
    founded_year: int | None = None
    hq_country_code: str | None = None
    source_company_id: str | None = None
    source_provider: str | None = None
    raw: Any = None


class CompanySearchOutput(BaseModel):
    results: list[CompanySearchResult]
    result_count: int
    provider_order_used: list[str]
    pagination: dict[str, Any]


# The item keys a fan-out child does not inherit.
PROVIDER_ITEM_KEYS = ("raw",)
COMPANY_RESULT_FIELDS = tuple(
    key for key in CompanySearchResult.model_fields if key not in PROVIDER_ITEM_KEYS
)


def company_identity(item: Item) -> set[tuple[str, str]]:
    """Companies are the same when their domains or LinkedIn URLs agree; a result with neither is compared
    by its provider id, then by name (a result with no identifier at all is dropped)."""
    strong = {(key, item[key].lower()) for key in ("company_domain", "company_linkedin_url") if item.get(key)}
    if strong:
        return strong
    weak = next(
        ((key, str(item[key]).lower()) for key in ("source_company_id", "company_name") if item.get(key)),
        None,
    )
    return {weak} if weak else set()


def company_result(item: Item, provider: str) -> Item:
    """An adapter's company as a search result: typed profile fields, projected, provider-stamped, with
    the provider's item."""
    fields = company_fields(item)
    source_id = fields.get("source_company_id")
    return {
        **{key: fields.get(key) for key in COMPANY_RESULT_FIELDS},
        "source_company_id": str(source_id) if source_id is not None else None,
        "source_provider": provider,
        "raw": item.get("raw"),
    }


@dataclass(frozen=True)
class CompanyQuery:
    query: str | None
    page: int
    page_size: int
    inp: OperationInput


async def _companies_from_prospeo(inv: Invocation, q: CompanyQuery) -> AdapterResult:
    filters = provider_filters(q.inp, "prospeo") or (
        {"company": {"names": {"include": [q.query]}}} if q.query else {}
    )
    if not filters:
        return skipped(inv.providers, "prospeo", "search_company", "missing_required_inputs")
    return await prospeo.search_company(inv.providers, filters=filters, page=q.page)


def _looks_like_domain(text: str | None) -> str | None:
    domain = normalize_domain(text) if text else None
    return domain if domain and "." in domain and " " not in domain else None


async def _companies_from_blitzapi(inv: Invocation, q: CompanyQuery) -> AdapterResult | None:
    """BlitzAPI has no company search: a LinkedIn URL (or a domain bridged to one) gives one company. A
    free-text query is only bridged when it is a domain."""
    filters = OperationInput(provider_filters(q.inp, "blitzapi"))
    domain = filters.text("company_domain") or _looks_like_domain(q.query)
    url = await company_linkedin_url(
        inv, filters.text("company_linkedin_url"), domain, action="enrich_company"
    )
    if url is None:
        return None
    result = await blitzapi.enrich_company(inv.providers, company_linkedin_url=url)
    if result.status != "found" or not isinstance(result.mapped, dict):
        return result
    # An enrichment, not a search: its one company is the provider's answer's ``company`` object.
    company = section(result.attempt.raw_response, "company")
    return AdapterResult(result.attempt, {"results": [with_raw(result.mapped, company)], "pagination": {}})


async def _companies_from_companyenrich(inv: Invocation, q: CompanyQuery) -> AdapterResult:
    return await companyenrich.search_company(
        inv.providers,
        query=q.query,
        page=q.page,
        page_size=q.page_size,
        filters=provider_filters(q.inp, "companyenrich") or None,
    )


COMPANY_SOURCES: dict[str, Callable[[Invocation, CompanyQuery], Awaitable[AdapterResult | None]]] = {
    "prospeo": _companies_from_prospeo,
    "blitzapi": _companies_from_blitzapi,
    "companyenrich": _companies_from_companyenrich,
}


async def search_companies(inv: Invocation) -> Outcome:
    inp = inv.input
    q = CompanyQuery(
        query=inp.text("query"),
        page=bounded(inp, "page", 1, 10_000),
        page_size=bounded(inp, "page_size", 25, MAX_PAGE_SIZE),
        inp=inp,
    )
    found = Accumulator(bounded(inp, "limit", DEFAULT_LIMIT, MAX_LIMIT), company_result, company_identity)
    for provider in inv.provider_order():
        if found.full:
            break
        found.add(provider, await COMPANY_SOURCES[provider](inv, q))
    return found.outcome(inv)


# --- person.search -------------------------------------------------------------------------------------


class PersonSearchResult(BaseModel):
    """One person found: canonical fields and the provider's own item (see the module docstring)."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    linkedin_url: str | None = None
    headline: str | None = None
    current_title: str | None = None
    current_company_name: str | None = None
    current_company_domain: str | None = None
    location_name: str | None = None
    country_code: str | None = None
    source_person_id: str | None = None
    source_provider: str | None = None
    raw: Any = None


class PersonSearchOutput(BaseModel):
    results: list[PersonSearchResult]
    result_count: int
    provider_order_used: list[str]
    pagination: dict[str, Any]


PERSON_RESULT_FIELDS = tuple(key for key in PersonSearchResult.model_fields if key not in PROVIDER_ITEM_KEYS)
# Inputs a step may also give as options (or in ``input.step_config``); options win.
PERSON_SEARCH_PARAMETERS = (
    "query",
    "page",
    "limit",
    "max_results",
    "company_domain",
    "company_name",
    "company_linkedin_url",
    "job_title",
    "job_level",
    "job_function",
    "location",
    "cascade",
    "provider_filters",
)
# Title words that place a person at a BlitzAPI job level, most senior first; a vice
# president is a VP, not a president.
JOB_LEVEL_PATTERNS = tuple(
    (level, re.compile(pattern))
    for level, pattern in (
        ("C-Team", r"\b(chief|ceo|cfo|coo|cto|cmo|cro|founder|owner)\b|(?<!vice )\bpresident\b"),
        ("VP", r"\b(vp|svp|evp|vice president)\b"),
        ("Director", r"\b(director|head)\b"),
        ("Manager", r"\bmanager\b"),
    )
)


def person_identity(item: Item) -> set[tuple[str, str]]:
    """The seed system's identity: LinkedIn URL, else the provider's person id, else name at company."""
    if item.get("linkedin_url"):
        return {("linkedin_url", item["linkedin_url"].lower())}
    if item.get("source_person_id"):
        return {("source_person_id", f"{item['source_provider']}:{item['source_person_id']}")}
    if item.get("full_name"):
        return {
            ("name_at_company", f"{item['full_name']}::{item.get('current_company_domain') or ''}".lower())
        }
    return set()


def person_result(item: Item, provider: str) -> Item:
    """An adapter's person as a search result: the contract's keys only, provider-stamped, with the
    provider's item."""
    text_values = {key: item[key] if isinstance(item.get(key), str) else None for key in PERSON_RESULT_FIELDS}
    return {**text_values, "source_provider": provider, "raw": item.get("raw")}


def job_level_of(title: str) -> str | None:
    text = title.lower()
    return next((level for level, pattern in JOB_LEVEL_PATTERNS if pattern.search(text)), None)


@dataclass
class PersonQuery:
    """The search parameters, from the input and the step's options."""

    inp: OperationInput
    limit: int
    page: int

    @classmethod
    def of(cls, inv: Invocation) -> PersonQuery:
        overrides = {key: inv.option(key) for key in PERSON_SEARCH_PARAMETERS}
        inp = OperationInput({**inv.input.raw, **{k: v for k, v in overrides.items() if v is not None}})
        limit = bounded(inp, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        return cls(
            inp, limit=bounded(inp, "max_results", limit, MAX_LIMIT), page=bounded(inp, "page", 1, 10_000)
        )

    def text(self, key: str) -> str | None:
        return self.inp.text(key)

    @property
    def locations(self) -> list[str]:
        return self.inp.strings("location")

    @property
    def country_codes(self) -> list[str]:
        """Two-letter alphabetic tokens of the locations, as ISO country codes."""
        tokens = (token for place in self.locations for token in re.split(r"[^A-Za-z]+", place))
        return list(dict.fromkeys(token.upper() for token in tokens if len(token) == 2))

    @property
    def job_levels(self) -> list[str]:
        levels = self.inp.strings("job_level")
        derived = job_level_of(self.text("job_title") or "")
        return levels or ([derived] if derived else [])

    async def company_linkedin_url(self, inv: Invocation, action: str) -> str | None:
        return await company_linkedin_url(
            inv, self.text("company_linkedin_url"), self.text("company_domain"), action=action
        )

    def prospeo_filters(self) -> dict[str, Any]:
        """The caller's Prospeo filters with the computed ones merged over them (computed leaves win)."""
        computed: dict[str, Any] = {}
        title = self.text("job_title") or self.text("query")
        if title:
            computed["person_job_title"] = {"include": [title]}
        if self.locations:
            computed["person_location_search"] = {"include": self.locations}
        if self.text("company_domain"):
            computed["company"] = {"websites": {"include": [self.text("company_domain")]}}
        elif self.text("company_name"):
            computed["company"] = {"names": {"include": [self.text("company_name")]}}
        return deep_merge(provider_filters(self.inp, "prospeo"), computed)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        both_objects = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = deep_merge(merged[key], value) if both_objects else value
    return merged


async def _people_from_prospeo(inv: Invocation, q: PersonQuery) -> AdapterResult:
    filters = q.prospeo_filters()
    if not filters:
        return skipped(inv.providers, "prospeo", "search_person", "missing_required_inputs")
    return await prospeo.search_person(inv.providers, filters=filters, page=q.page)


async def _people_from_blitzapi(inv: Invocation, q: PersonQuery) -> AdapterResult | None:
    linkedin_url = await q.company_linkedin_url(inv, "employee_finder")
    if linkedin_url is None:
        return None
    return await blitzapi.employee_finder(
        inv.providers,
        company_linkedin_url=linkedin_url,
        max_results=min(q.limit, blitzapi.MAX_RESULTS_PER_PAGE),
        page=q.page,
        country_code=q.country_codes or None,
        job_level=q.job_levels or None,
        job_function=q.inp.strings("job_function") or None,
    )


async def _people_from_blitzapi_waterfall(inv: Invocation, q: PersonQuery) -> AdapterResult | None:
    linkedin_url = await q.company_linkedin_url(inv, "waterfall_icp_search")
    if linkedin_url is None:
        return None
    return await blitzapi.waterfall_icp_search(
        inv.providers,
        company_linkedin_url=linkedin_url,
        cascade=q.inp.objects("cascade"),
        max_results=min(q.limit, blitzapi.MAX_RESULTS_PER_PAGE),
    )


async def _people_from_companyenrich(inv: Invocation, q: PersonQuery) -> AdapterResult:
    return await companyenrich.search_person(
        inv.providers,
        position_query=q.text("job_title") or q.text("query"),
        domain=q.text("company_domain"),
        company_name=q.text("company_name"),
        page=q.page,
        page_size=min(q.limit, companyenrich.MAX_PAGE_SIZE),
        filters=provider_filters(q.inp, "companyenrich") or None,
    )


async def _people_from_leadmagic(inv: Invocation, q: PersonQuery) -> AdapterResult:
    return await leadmagic.employee_finder(
        inv.providers,
        company_domain=q.text("company_domain"),
        company_name=q.text("company_name"),
        limit=q.limit,
    )


async def _people_from_leadmagic_role(inv: Invocation, q: PersonQuery) -> AdapterResult:
    return await leadmagic.role_finder(
        inv.providers,
        job_title=q.text("job_title") or "",
        company_domain=q.text("company_domain"),
        company_name=q.text("company_name"),
    )


PERSON_SOURCES: dict[str, Callable[[Invocation, PersonQuery], Awaitable[AdapterResult | None]]] = {
    "prospeo": _people_from_prospeo,
    "blitzapi": _people_from_blitzapi,
    "blitzapi_waterfall": _people_from_blitzapi_waterfall,
    "companyenrich": _people_from_companyenrich,
    "leadmagic": _people_from_leadmagic,
    "leadmagic_role": _people_from_leadmagic_role,
}


def person_search_plan(providers: list[str], q: PersonQuery) -> list[str]:
    """The plan steps: a cascade is BlitzAPI's waterfall alone; a job title asks
    LeadMagic's role finder first, then Prospeo/CompanyEnrich in configured order, then BlitzAPI; anything
    else goes Prospeo → BlitzAPI → CompanyEnrich → LeadMagic (configuration chooses members, not order)."""
    if q.inp.objects("cascade"):
        return ["blitzapi_waterfall"] if "blitzapi" in providers else []
    if q.text("job_title"):
        middle = [name for name in providers if name in ("prospeo", "companyenrich")]
        return [
            *(["leadmagic_role"] if "leadmagic" in providers else []),
            *middle,
            *(["blitzapi"] if "blitzapi" in providers else []),
        ]
    return [name for name in SEARCH_PROVIDERS if name in providers]


async def search_people(inv: Invocation) -> Outcome:
    q = PersonQuery.of(inv)
    providers = inv.provider_order()
    if "leadmagic" not in providers:
        providers.append("leadmagic")
    found = Accumulator(q.limit, person_result, person_identity)
    for step in person_search_plan(providers, q):
        if found.add(step, await PERSON_SOURCES[step](inv, q)):
            break
    return found.outcome(inv)


OPERATIONS = [
    OperationSpec(
        operation_id="company.search",
        entity_type="company",
        category="search",
        description=(
            "Companies matching a query or provider filters, accumulated across Prospeo, BlitzAPI and "
            "CompanyEnrich until the limit; each result can fan out into a company."
        ),
        requirements=Requirements(any_of=("query", "provider_filters")),
        produces=("results", "result_count", "provider_order_used", "pagination", *COMPANY_RESULT_FIELDS),
        providers=("prospeo", "blitzapi", "companyenrich"),
        strategy="accumulate",
        cost_tier="high",
        output_contract=CompanySearchOutput,
        handler=search_companies,
        optional_inputs=("page", "page_size", "limit"),
        fan_out=FanOut("results", "company", item_omitted=PROVIDER_ITEM_KEYS),
        order_setting="company_search_order",
    ),
    OperationSpec(
        operation_id="person.search",
        entity_type="person",
        category="search",
        description=(
            "People at a company or matching a title, location or BlitzAPI cascade; the first provider "
            "with results wins; each result can fan out into a person."
        ),
        requirements=Requirements(
            any_of=(
                "query",
                "company_domain",
                "company_name",
                "company_linkedin_url",
                "job_title",
                "job_level",
                "job_function",
                "location",
                "cascade",
                "provider_filters",
            )
        ),
        produces=("results", "result_count", "provider_order_used", "pagination", *PERSON_RESULT_FIELDS),
        providers=SEARCH_PROVIDERS,
        strategy="waterfall",
        cost_tier="medium",
        output_contract=PersonSearchOutput,
        handler=search_people,
        optional_inputs=("page", "limit", "max_results"),
        fan_out=FanOut("results", "person", item_omitted=PROVIDER_ITEM_KEYS),
        order_setting="person_search_order",
        options=(
            "max_results",
            "limit",
            "page",
            "job_title",
            "job_level",
            "job_function",
            "location",
            "cascade",
        ),
    ),
]
