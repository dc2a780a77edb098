"""Company research: HQ (RevenueInfra) lookups of competitors, similar companies, customers, alumni and
case-study champions; VC funding; and the LLM resolvers of a company's G2 and pricing page URLs.

The list lookups are one table (:data:`LOOKUPS`). Each declares its fan-out: the list a fan-out step turns
into child runs, the child entity type, and how item keys map to the child's canonical inputs — so a
customer's ``customer_domain`` reaches the child company as ``company_domain``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import GenericAlias
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, create_model

from dex.config import Settings
from dex.normalize import normalize_domain
from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import FanOut, OperationSpec, Requirements
from dex.providers import anthropic, gemini, openai, revenueinfra
from dex.providers.base import AdapterResult

# --- HQ list lookups -----------------------------------------------------------------------------------


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Competitor(Item):
    name: str | None
    domain: str | None
    linkedin_url: str | None


class SimilarCompany(Item):
    company_name: str | None
    company_domain: str | None
    company_linkedin_url: str | None
    similarity_score: float | None


class Customer(Item):
    customer_name: str | None
    customer_domain: str
    customer_linkedin_url: str | None
    origin_company_name: str | None
    origin_company_domain: str | None


class Alumnus(Item):
    full_name: str | None
    linkedin_url: str | None
    current_company_name: str | None
    current_company_domain: str | None
    current_company_linkedin_url: str | None
    current_job_title: str | None
    past_company_name: str | None
    past_company_domain: str | None
    past_job_title: str | None


class Champion(Item):
    full_name: str | None
    job_title: str | None
    company_name: str | None
    company_domain: str | None
    company_linkedin_url: str | None
    case_study_url: str | None


class ChampionTestimonial(Champion):
    testimonial: str | None


NEEDS_DOMAIN = Requirements(all_of=("company_domain",))


@dataclass(frozen=True)
class ListLookup:
    operation_id: str
    description: str
    lookup: Callable[..., Awaitable[AdapterResult]]
    list_key: str
    count_key: str
    item_model: type[Item]
    fan_out: FanOut
    requirements: Requirements = NEEDS_DOMAIN
    # Canonical inputs passed to the provider besides the domain, under the same names.
    context_inputs: tuple[str, ...] = ()

    def output_contract(self) -> type[BaseModel]:
        name = "".join(part.capitalize() for part in self.list_key.split("_")) + "Output"
        fields: dict[str, Any] = {
            self.list_key: (GenericAlias(list, self.item_model), ...),
            self.count_key: (int, ...),
            "source_provider": (str, ...),
        }
        return create_model(name, **fields)

    async def run(self, inv: Invocation) -> Outcome:
        context = {key: inv.input.text(key) for key in self.context_inputs}
        result = await self.lookup(inv.providers, domain=inv.input.text("company_domain"), **context)
        status = operation_status(result)
        if status == "failed":
            return Outcome("failed")
        items = (result.mapped or {}).get(self.list_key, [])
        return Outcome(
            status,
            {self.list_key: items, self.count_key: len(items), "source_provider": revenueinfra.PROVIDER},
        )

    def spec(self) -> OperationSpec:
        return OperationSpec(
            operation_id=self.operation_id,
            entity_type="company",
            category="research",
            description=self.description,
            requirements=self.requirements,
            optional_inputs=tuple(
                key for key in self.context_inputs if key not in self.requirements.fields()
            ),
            produces=(self.list_key, self.count_key, "source_provider", *self.item_model.model_fields),
            providers=(revenueinfra.PROVIDER,),
            strategy="single",
            cost_tier="medium",
            output_contract=self.output_contract(),
            handler=self.run,
            fan_out=self.fan_out,
        )


COMPANY_ITEM = (
    ("domain", "company_domain"),
    ("name", "company_name"),
    ("linkedin_url", "company_linkedin_url"),
)
CUSTOMER_ITEM = (
    ("customer_domain", "company_domain"),
    ("customer_name", "company_name"),
    ("customer_linkedin_url", "company_linkedin_url"),
)
ALUMNUS_ITEM = (
    ("current_company_domain", "company_domain"),
    ("current_company_name", "company_name"),
    ("current_company_linkedin_url", "company_linkedin_url"),
    ("current_job_title", "job_title"),
)

LOOKUPS = (
    ListLookup(
        "company.research.discover_competitors",
        "A company's direct competitors (HQ competitor inference; needs the company's domain and name). "
        "Fans out to the competitor companies.",
        revenueinfra.discover_competitors,
        "competitors",
        "competitor_count",
        Competitor,
        FanOut("competitors", "company", COMPANY_ITEM),
        Requirements(all_of=("company_domain", "company_name")),
        context_inputs=("company_name", "company_linkedin_url"),
    ),
    ListLookup(
        "company.research.find_similar_companies",
        "Companies similar to this one, with similarity scores (HQ). Fans out to the similar companies.",
        revenueinfra.find_similar_companies,
        "similar_companies",
        "similar_count",
        SimilarCompany,
        FanOut("similar_companies", "company"),
    ),
    ListLookup(
        "company.research.lookup_customers",
        "The company's known customers (HQ customer database). Fans out to the customer companies.",
        revenueinfra.lookup_customers,
        "customers",
        "customer_count",
        Customer,
        FanOut("customers", "company", CUSTOMER_ITEM),
    ),
    ListLookup(
        "company.research.lookup_alumni",
        "Former employees of the company and where they work now (HQ). Fans out to the people.",
        revenueinfra.lookup_alumni,
        "alumni",
        "alumni_count",
        Alumnus,
        FanOut("alumni", "person", ALUMNUS_ITEM),
    ),
    ListLookup(
        "company.research.lookup_champions",
        "People at customer companies featured in the company's case studies (HQ). Fans out to the people.",
        revenueinfra.lookup_champions,
        "champions",
        "champion_count",
        Champion,
        FanOut("champions", "person"),
    ),
    ListLookup(
        "company.research.lookup_champion_testimonials",
        "Case-study champions with their testimonial quotes (HQ). Fans out to the people.",
        revenueinfra.lookup_champion_testimonials,
        "champions",
        "champion_count",
        ChampionTestimonial,
        FanOut("champions", "person"),
    ),
)


# --- VC funding ----------------------------------------------------------------------------------------


class VentureCapitalist(Item):
    vc_name: str | None
    vc_domain: str | None


class VcFundingOutput(BaseModel):
    has_raised_vc: bool | None
    vc_count: int
    vc_names: list[str]
    vcs: list[VentureCapitalist]
    founded_date: str | None
    source_provider: str


async def check_vc_funding(inv: Invocation) -> Outcome:
    result = await revenueinfra.check_vc_funding(inv.providers, domain=inv.input.text("company_domain"))
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    return Outcome(status, {**result.mapped, "source_provider": revenueinfra.PROVIDER})


# --- LLM URL resolvers ---------------------------------------------------------------------------------

LlmAdapter = Callable[..., Awaitable[AdapterResult]]
URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
G2_URL = re.compile(r"^https?://(?:www\.)?g2\.com/\S+$", re.IGNORECASE)


def llm_models(settings: Settings) -> dict[str, tuple[LlmAdapter, str]]:
    """Each LLM provider's adapter and the model it is asked with."""
    return {
        "gemini": (gemini.generate_json, gemini.resolve_model(settings.llm_primary_model)),
        "openai": (openai.generate_json, settings.llm_fallback_model),
        "anthropic": (anthropic.generate_json, settings.llm_anthropic_model),
    }


def first_url(value: Any) -> str | None:
    match = URL.search(value) if isinstance(value, str) else None
    return match.group(0).rstrip(".,;:)") if match else None


def g2_page(answer: Any, company_domain: str | None) -> str | None:
    url = first_url(answer)
    return url if url and G2_URL.match(url) else None


def pricing_page(answer: Any, company_domain: str | None) -> str | None:
    """The answer's URL if it is a pricing page on the company's own site (or a subdomain of it)."""
    url = first_url(answer)
    if not url or "pricing" not in url.lower():
        return None
    host = normalize_domain(urlsplit(url).netloc) or ""
    if company_domain and host != company_domain and not host.endswith(f".{company_domain}"):
        return None
    return url


def confidence_of(answer: dict[str, Any]) -> float:
    value = answer.get("confidence")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0.0
    try:
        return min(1.0, max(0.0, float(value)))
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class UrlResolver:
    operation_id: str
    description: str
    url_key: str
    question: str
    accept: Callable[[Any, str | None], str | None]

    def prompt(self, company_name: str | None, company_domain: str | None) -> str:
        # One line per fact: a name spanning lines must not smuggle text into the rest of the prompt.
        name = " ".join(company_name.split()) if company_name else "unknown"
        return (
            f"{self.question}\n"
            f"Company name: {name}\n"
            f"Company domain: {company_domain or 'unknown'}\n"
            f'Answer with one JSON object: {{"{self.url_key}": "<the URL, or null>", '
            '"confidence": <a number from 0 to 1>, "reason": "<one sentence>"}. '
            "Use null and 0 when you are not sure; never guess a URL."
        )

    def output_contract(self) -> type[BaseModel]:
        fields: dict[str, Any] = {
            "company_name": (str | None, ...),
            "company_domain": (str | None, ...),
            self.url_key: (str | None, ...),
            "confidence": (float, ...),
            "provider_used": (str | None, ...),
        }
        return create_model(f"{self.url_key.title().replace('_', '')}Output", **fields)

    async def run(self, inv: Invocation) -> Outcome:
        """Ask each LLM in the configured order until one names an acceptable URL; ``not_found`` when none
        did — whether the LLMs declined or failed to answer (their attempts say which), as the original
        reported it. ``confidence`` is the last answer's (0 without one)."""
        company_name, company_domain = inv.input.text("company_name"), inv.input.text("company_domain")
        prompt = self.prompt(company_name, company_domain)
        models = llm_models(inv.settings)
        url, confidence, provider_used = None, 0.0, None
        for provider in inv.provider_order():
            generate, model = models[provider]
            result = await generate(inv.providers, model=model, prompt=prompt)
            if result.status != "found":
                continue
            confidence = confidence_of(result.mapped)
            url = self.accept(result.mapped.get(self.url_key), company_domain)
            if url:
                provider_used = provider
                break
        output = {
            "company_name": company_name,
            "company_domain": company_domain,
            self.url_key: url,
            "confidence": confidence,
            "provider_used": provider_used,
        }
        return Outcome("found" if url else "not_found", output)

    def spec(self) -> OperationSpec:
        return OperationSpec(
            operation_id=self.operation_id,
            entity_type="company",
            category="research",
            description=self.description,
            requirements=Requirements(all_of=("company_name",)),
            optional_inputs=("company_domain",),
            produces=(self.url_key, "confidence", "provider_used"),
            providers=("gemini", "openai", "anthropic"),
            strategy="waterfall",
            cost_tier="medium",
            output_contract=self.output_contract(),
            handler=self.run,
            order_setting="llm_provider_order",
        )


RESOLVERS = (
    UrlResolver(
        "company.research.resolve_g2_url",
        "The company's G2 review page URL, asked of LLMs in LLM_PROVIDER_ORDER (Gemini, then OpenAI) until "
        "one names a g2.com URL.",
        "g2_url",
        "Find the G2 (g2.com) product review page of this company.",
        g2_page,
    ),
    UrlResolver(
        "company.research.resolve_pricing_page_url",
        "The company's pricing page URL, asked of LLMs in LLM_PROVIDER_ORDER (Gemini, then OpenAI); only a "
        "URL mentioning pricing on the company's own domain (or a subdomain) is accepted.",
        "pricing_page_url",
        "Find the public pricing page on this company's own website.",
        pricing_page,
    ),
)


OPERATIONS = [
    *(lookup.spec() for lookup in LOOKUPS),
    OperationSpec(
        operation_id="company.research.check_vc_funding",
        entity_type="company",
        category="research",
        description="Whether the company has raised venture capital, from which firms, and when it was "
        "founded (HQ). A company that has not raised is found with has_raised_vc false.",
        requirements=NEEDS_DOMAIN,
        produces=("has_raised_vc", "vc_count", "vc_names", "vcs", "founded_date", "source_provider"),
        providers=(revenueinfra.PROVIDER,),
        strategy="single",
        cost_tier="low",
        output_contract=VcFundingOutput,
        handler=check_vc_funding,
    ),
    *(resolver.spec() for resolver in RESOLVERS),
]
