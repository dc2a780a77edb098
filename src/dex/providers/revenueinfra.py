"""RevenueInfra ("HQ") — JSON POSTs to ``REVENUEINFRA_API_URL``, no credentials.

Every research lookup must say ``success: true``; anything else is a failed attempt. The pricing inferences
are looser (contracts/providers/revenueinfra/infer_pricing_field.json): an answer without ``success`` is
read for its value, as HQ's deployed endpoints were never held to the flag; only an explicit
``success: false`` (or an HTTP failure) is a failed attempt. The research lookups are one
table (:data:`LOOKUPS`): each names its path, the body key carrying the domain, the list it answers and the
fields of its items. The pricing-intelligence questions are a second table (:data:`PRICING_QUESTIONS`), one
LLM-backed endpoint per question; two of them still live only under their earlier names, reached when the
current path answers 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from dex.normalize import clean_text, normalize_domain, normalize_linkedin_url
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "revenueinfra"
DEFAULT_TIMEOUT_SECONDS = 60


def _failure(
    call: ProviderCall, response: ProviderResponse, *, success_required: bool = True
) -> AdapterResult | None:
    """The failed attempt for an unusable answer (HTTP error, transport error, ``success`` not true — or,
    when ``success`` is not required, explicitly false)."""
    if not response.ok:
        return call.failed_response(response)
    body = response.json_body
    success = body.get("success")
    if success is False or (success_required and success is not True):
        message = clean_text(body.get("error")) or clean_text(body.get("message")) or "success_not_true"
        return call.result("failed", response, provider_status=message, error=message)
    return None


def _field_value(field: str, value: Any) -> Any:
    """One item field, normalized by what its name says it holds."""
    if field.endswith("_score"):
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    text = clean_text(value)
    if text is None:
        return None
    if field.endswith("domain"):
        return normalize_domain(text)
    if field.endswith("linkedin_url"):
        return normalize_linkedin_url(text)
    return text


@dataclass(frozen=True)
class ListLookup:
    action: str
    path: str
    list_key: str
    item_fields: tuple[str, ...]
    # The request body key that carries the company's domain.
    domain_field: str = "domain"
    # Items lacking this field are useless downstream (nothing to fan out on) and are dropped.
    required_field: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def items(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        raw = body.get(self.list_key)
        items = [
            {field: _field_value(field, item.get(field)) for field in self.item_fields}
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, dict)
        ]
        return [
            item
            for item in items
            if any(value is not None for value in item.values())
            and (self.required_field is None or item[self.required_field] is not None)
        ]


PERSON_AT_COMPANY = ("full_name", "job_title", "company_name", "company_domain", "company_linkedin_url")
CHAMPION_FIELDS = (*PERSON_AT_COMPANY, "case_study_url")

LOOKUPS = {
    lookup.action: lookup
    for lookup in (
        ListLookup(
            "discover_competitors",
            "/run/companies/parallel-task/competitors/infer/db-direct",
            "competitors",
            ("name", "domain", "linkedin_url"),
            # The competitor inference runs a research task upstream; it routinely takes minutes.
            timeout_seconds=180,
        ),
        ListLookup(
            "find_similar_companies",
            "/run/companies/db/similar-companies/list",
            "similar_companies",
            ("company_name", "company_domain", "company_linkedin_url", "similarity_score"),
        ),
        ListLookup(
            "lookup_customers",
            "/run/companies/db/company-customers/lookup",
            "customers",
            (
                "customer_name",
                "customer_domain",
                "customer_linkedin_url",
                "origin_company_name",
                "origin_company_domain",
            ),
            required_field="customer_domain",
        ),
        ListLookup(
            "lookup_alumni",
            "/run/companies/db/alumni/lookup",
            "alumni",
            (
                "full_name",
                "linkedin_url",
                "current_company_name",
                "current_company_domain",
                "current_company_linkedin_url",
                "current_job_title",
                "past_company_name",
                "past_company_domain",
                "past_job_title",
            ),
            domain_field="past_company_domain",
        ),
        ListLookup(
            "lookup_champions",
            "/run/companies/db/case-study-champions/lookup",
            "champions",
            CHAMPION_FIELDS,
        ),
        ListLookup(
            "lookup_champion_testimonials",
            "/run/companies/db/case-study-champions-detailed/lookup",
            "champions",
            (*CHAMPION_FIELDS, "testimonial"),
        ),
    )
}


def _list_adapter(lookup: ListLookup) -> Callable[..., Awaitable[AdapterResult]]:
    async def run(call: ProviderCall, *, domain: str, **context: str | None) -> AdapterResult:
        body = {lookup.domain_field: domain, **{key: value for key, value in context.items() if value}}
        response = await call.request(
            "POST", lookup.path, json_body=body, timeout_seconds=lookup.timeout_seconds
        )
        failure = _failure(call, response)
        if failure:
            return failure
        items = lookup.items(response.json_body)
        return call.result("found" if items else "not_found", response, mapped={lookup.list_key: items})

    run.__name__ = run.__qualname__ = lookup.action
    run.__doc__ = f"POST {lookup.path}: the company's {lookup.list_key.replace('_', ' ')}."
    return adapter(PROVIDER, lookup.action)(run)


# Called as ``await revenueinfra.lookup_customers(ctx, domain=...)``; competitors also take
# ``company_name`` (required upstream) and ``company_linkedin_url``.
discover_competitors = _list_adapter(LOOKUPS["discover_competitors"])
find_similar_companies = _list_adapter(LOOKUPS["find_similar_companies"])
lookup_customers = _list_adapter(LOOKUPS["lookup_customers"])
lookup_alumni = _list_adapter(LOOKUPS["lookup_alumni"])
lookup_champions = _list_adapter(LOOKUPS["lookup_champions"])
lookup_champion_testimonials = _list_adapter(LOOKUPS["lookup_champion_testimonials"])


@adapter(PROVIDER, "check_vc_funding")
async def check_vc_funding(call: ProviderCall, *, domain: str) -> AdapterResult:
    """Whether the company raised venture capital, and from whom. Any successful answer is found — "has not
    raised" is a fact, not an absence of data."""
    response = await call.request(
        "POST",
        "/run/companies/db/has-raised-vc-status/check",
        json_body={"domain": domain},
        timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
    )
    failure = _failure(call, response)
    if failure:
        return failure
    body = response.json_body
    raw_names = body.get("vc_names")
    vc_names = [name.strip() for name in raw_names if clean_text(name)] if isinstance(raw_names, list) else []
    raw_vcs = body.get("vcs")
    vcs = [
        {
            "vc_name": clean_text(vc.get("vc_name")),
            "vc_domain": _field_value("vc_domain", vc.get("vc_domain")),
        }
        for vc in (raw_vcs if isinstance(raw_vcs, list) else [])
        if isinstance(vc, dict) and clean_text(vc.get("vc_name"))
    ]
    reported = body.get("vc_count")
    reported = reported if isinstance(reported, int) and not isinstance(reported, bool) else 0
    has_raised = body.get("has_raised_vc")
    mapped = {
        "has_raised_vc": has_raised if isinstance(has_raised, bool) else None,
        "vc_count": max(reported, len(vc_names), len(vcs)),
        "vc_names": vc_names,
        "vcs": vcs,
        "founded_date": clean_text(body.get("founded_date")),
    }
    return call.result("found", response, mapped=mapped)


# --- SEC filings ---------------------------------------------------------------------------------------

FILING_GROUPS = (
    "latest_10k",
    "latest_10q",
    "recent_8k_executive_changes",
    "recent_8k_earnings",
    "recent_8k_material_contracts",
)
SINGLE_FILINGS = ("latest_10k", "latest_10q")


def _filing(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    filing: dict[str, Any] = {
        key: clean_text(value.get(key))
        for key in ("filing_date", "report_date", "accession_number", "document_url")
    }
    items = value.get("items")
    filing["items"] = [item.strip() for item in items if clean_text(item)] if isinstance(items, list) else []
    return filing if filing["document_url"] or filing["accession_number"] else None


@adapter(PROVIDER, "fetch_sec_filings")
async def fetch_sec_filings(call: ProviderCall, *, domain: str) -> AdapterResult:
    """The company's SEC identity (CIK, ticker) and its latest 10-K and 10-Q and recent 8-Ks by kind; not
    found when HQ knows no filing of it."""
    response = await call.request(
        "POST", "/run/companies/sec/filings/fetch", json_body={"domain": domain}, timeout_seconds=60
    )
    failure = _failure(call, response)
    if failure:
        return failure
    body = response.json_body
    raw_filings = body.get("filings")
    filings = raw_filings if isinstance(raw_filings, dict) else {}
    mapped: dict[str, Any] = {
        "cik": clean_text(str(body["cik"])) if body.get("cik") is not None else None,
        "ticker": clean_text(body.get("ticker")),
        "company_name": clean_text(body.get("company_name")),
    }
    for group in FILING_GROUPS:
        value = filings.get(group)
        if group in SINGLE_FILINGS:
            mapped[group] = _filing(value)
        else:
            mapped[group] = [f for f in map(_filing, value if isinstance(value, list) else []) if f]
    found = any(mapped[group] for group in FILING_GROUPS)
    return call.result("found" if found else "not_found", response, mapped=mapped)


# --- pricing intelligence --------------------------------------------------------------------------------

AnswerKind = Literal["yes_no", "category", "count"]
YES = {"yes", "true", "y"}
NO = {"no", "false", "n"}


@dataclass(frozen=True)
class PricingQuestion:
    endpoint: str
    kind: AnswerKind
    # The endpoint's earlier name, asked when ``endpoint`` answers 404.
    legacy_endpoint: str | None = None

    def normalize(self, value: Any) -> str | int | None:
        """yes/no answers → "yes"/"no"; categories → lowercase text; counts → int, or text like "10+"."""
        if self.kind == "yes_no":
            if isinstance(value, bool):
                return "yes" if value else "no"
            text: str | None = (clean_text(value) or "").lower()
            return "yes" if text in YES else "no" if text in NO else None
        if self.kind == "count":
            if isinstance(value, bool):
                return None
            if isinstance(value, (int, float)):
                return int(value)
            text = clean_text(value)
            return int(text) if text and text.isdigit() else text
        text = clean_text(value)
        return text.lower() if text else None


PRICING_QUESTIONS: dict[str, PricingQuestion] = {
    "free_trial": PricingQuestion("free-trial", "yes_no"),
    "pricing_visibility": PricingQuestion("pricing-visibility", "category"),
    "sales_motion": PricingQuestion("sales-motion", "category"),
    "pricing_model": PricingQuestion("pricing-model", "category"),
    "billing_default": PricingQuestion("billing-default", "category"),
    "number_of_tiers": PricingQuestion("number-of-tiers", "count"),
    "add_ons_offered": PricingQuestion("add-ons-offered", "yes_no"),
    "enterprise_tier_exists": PricingQuestion("enterprise-tier-exists", "yes_no"),
    "security_compliance_gating": PricingQuestion("security-compliance-gating", "yes_no", "security-gating"),
    "annual_commitment_required": PricingQuestion(
        "annual-commitment-required", "yes_no", "annual-commitment"
    ),
    "plan_naming_style": PricingQuestion("plan-naming-style", "category"),
    "custom_pricing_mentioned": PricingQuestion("custom-pricing-mentioned", "yes_no"),
    "money_back_guarantee": PricingQuestion("money-back-guarantee", "yes_no"),
    "minimum_seats": PricingQuestion("minimum-seats", "count"),
}


@adapter(PROVIDER, "infer_pricing_field")
async def infer_pricing_field(
    call: ProviderCall, *, question: str, domain: str, pricing_page_url: str, company_name: str | None = None
) -> AdapterResult:
    """One pricing question (a key of :data:`PRICING_QUESTIONS`) answered from the pricing page."""
    spec = PRICING_QUESTIONS[question]
    body = {"domain": domain, "pricing_page_url": pricing_page_url}
    if company_name:
        body["company_name"] = company_name

    async def ask(endpoint: str) -> ProviderResponse:
        path = f"/run/companies/gemini/{endpoint}/infer"
        return await call.request("POST", path, json_body=body, timeout_seconds=DEFAULT_TIMEOUT_SECONDS)

    response = await ask(spec.endpoint)
    if response.http_status == 404 and response.error is None and spec.legacy_endpoint:
        response = await ask(spec.legacy_endpoint)
    failure = _failure(call, response, success_required=False)
    if failure:
        failure.attempt.extra["question"] = question
        return failure
    answer = response.json_body
    raw = answer.get(question)
    if raw is None and isinstance(answer.get("data"), dict):
        raw = answer["data"].get(question)
    value = spec.normalize(raw)
    return call.result(
        "found" if value is not None else "not_found", response, mapped={question: value}, question=question
    )
