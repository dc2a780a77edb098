"""The sandbox's synthetic market: who competes with, buys from, funded and used to work at a company, what
its pricing page says, which ads it runs, its online store and its card revenue.

Everything is derived from the company's domain through ``dex.sandbox.world``, so every provider describes
the same market and the same domain always gets the same answer. Related companies are ordinary world
companies (their own domains resolve to the same names, LinkedIn pages and staff everywhere), so a fan-out
child enriched by another provider finds what its parent listed. Whether a provider *knows* a company stays
the provider module's decision (``world.known_to``); this module only says what the truth is.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dex.sandbox.world import (
    FIRST_NAMES,
    LAST_NAMES,
    TITLES,
    Company,
    Person,
    company_for_domain,
    digest,
    pick,
    slug,
    staff,
)

# Synthetic facts are dated relative to this day, so answers never change with the wall clock.
DATA_AS_OF = date(2026, 1, 1)

STEMS: tuple[str, ...] = ("nova", "apex", "lumen", "orbit", "vertex", "quill", "atlas", "ember")
STEMS += ("pulse", "cobalt", "helix", "zenith", "harbor", "summit", "cedar", "prism")
SUFFIXES = ("labs", "hq", "works", "stack", "flow", "base", "ly", "ware")
TLDS = ("com", "io", "co", "ai")
VC_FIRMS = (
    ("Northbeam Ventures", "northbeam.vc"),
    ("Granite Peak Capital", "granitepeak.capital"),
    ("Bluefin Partners", "bluefin.partners"),
    ("Lighthouse Seed", "lighthouseseed.com"),
    ("Meridian Growth", "meridiangrowth.com"),
    ("Foundry Row", "foundryrow.vc"),
)


def count_for(key: str, relation: str, low: int, high: int) -> int:
    return low + digest("count", relation, key) % (high - low + 1)


def related_domains(domain: str, relation: str, count: int) -> list[str]:
    """``count`` distinct made-up domains standing in ``relation`` to ``domain`` (never ``domain`` itself)."""
    found: list[str] = []
    index = 0
    while len(found) < count:
        key = (relation, domain, str(index))
        candidate = f"{pick(STEMS, 's', *key)}{pick(SUFFIXES, 'x', *key)}.{pick(TLDS, 't', *key)}"
        if candidate != domain and candidate not in found:
            found.append(candidate)
        index += 1
    return found


def related_companies(domain: str, relation: str, low: int, high: int) -> list[Company]:
    return [
        company_for_domain(d)
        for d in related_domains(domain, relation, count_for(domain, relation, low, high))
    ]


def company_for_name(name: str) -> Company:
    """The company a bare name most plausibly means: ``Acme Corp`` → ``acmecorp.com``."""
    return company_for_domain(f"{slug(name).replace('-', '')}.com")


def one_word(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


# --- research (RevenueInfra "HQ") ----------------------------------------------------------------------


def competitors(domain: str) -> list[Company]:
    return related_companies(domain, "competitor", 3, 5)


def similar_companies(domain: str) -> list[tuple[Company, float]]:
    peers = related_companies(domain, "similar", 4, 8)
    scores = sorted((0.55 + digest("score", domain, p.domain) % 4000 / 10_000 for p in peers), reverse=True)
    return list(zip(peers, (round(score, 3) for score in scores), strict=True))


def customers(domain: str) -> list[Company]:
    return related_companies(domain, "customer", 3, 8)


@dataclass(frozen=True)
class Alumnus:
    person: Person
    past_job_title: str


def alumni(domain: str) -> list[Alumnus]:
    """People now at other companies who used to work at ``domain``."""
    found = []
    for employer in related_companies(domain, "alumni-employer", 3, 6):
        person = staff(employer)[1 + digest("alumnus", domain, employer.domain) % 2]
        found.append(Alumnus(person, pick(TITLES, "past-title", domain, person.person_id)[0]))
    return found


@dataclass(frozen=True)
class Champion:
    person: Person
    case_study_url: str
    testimonial: str


def champions(domain: str) -> list[Champion]:
    """Customers' people quoted in ``domain``'s case studies."""
    vendor = company_for_domain(domain)
    found = []
    for customer in customers(domain)[:4]:
        person = staff(customer)[digest("champion", domain, customer.domain) % 3]
        found.append(
            Champion(
                person,
                f"https://{domain}/customers/{slug(customer.name)}",
                f"With {vendor.name}, {customer.name} cut its reporting time in half.",
            )
        )
    return found


def vc_funding(domain: str) -> dict[str, Any]:
    company = company_for_domain(domain)
    raised = digest("vc", domain) % 3 != 0
    firms = [pick(VC_FIRMS, "vc-firm", domain, str(i)) for i in range(1 + digest("vc-count", domain) % 3)]
    unique = list(dict.fromkeys(firms)) if raised else []
    return {
        "has_raised_vc": raised,
        "vc_names": [name for name, _ in unique],
        "vcs": [{"vc_name": name, "vc_domain": vc_domain} for name, vc_domain in unique],
        "founded_date": f"{company.founded_year}-01-01",
    }


# The pricing page as the HQ's LLM endpoints read it. Values come the way an LLM writes them: yes/no as
# booleans or words, categories capitalised, counts as numbers or "N+".
PRICING_ANSWERS: dict[str, tuple[Any, ...]] = {
    "free_trial": (True, False, "Yes", "No"),
    "pricing_visibility": ("Public", "Partially public", "Hidden"),
    "sales_motion": ("Self-serve", "Sales-led", "Hybrid"),
    "pricing_model": ("Per seat", "Usage-based", "Flat rate", "Tiered"),
    "billing_default": ("Monthly", "Annual"),
    "number_of_tiers": (1, 2, 3, 3, 4, "5+"),
    "add_ons_offered": (True, False),
    "enterprise_tier_exists": ("Yes", "No", True),
    "security_compliance_gating": (True, False),
    "annual_commitment_required": ("No", "Yes", False),
    "plan_naming_style": ("Good-better-best", "Persona-based", "Size-based", "Feature-based"),
    "custom_pricing_mentioned": (True, False, "Yes"),
    "money_back_guarantee": (False, "No", True),
    "minimum_seats": (1, 1, 3, 5, "10+"),
}


def pricing_answer(domain: str, field: str) -> Any:
    return pick(PRICING_ANSWERS[field], "pricing", field, domain)


# --- LLM research answers ------------------------------------------------------------------------------

PROMPT_NAME = re.compile(r"^Company name:\s*(.+?)\s*$", re.MULTILINE)
PROMPT_DOMAIN = re.compile(r"^Company domain:\s*(.+?)\s*$", re.MULTILINE)


def g2_url(company: Company) -> str:
    return f"https://www.g2.com/products/{slug(company.name)}/reviews"


def pricing_page_url(company: Company) -> str:
    host = company.domain if digest("pricing-host", company.domain) % 2 else f"www.{company.domain}"
    return f"https://{host}/pricing"


def company_in_prompt(prompt: str) -> Company | None:
    """The company a research prompt is about (its ``Company name:`` / ``Company domain:`` lines)."""
    domain = PROMPT_DOMAIN.search(prompt)
    if domain and "." in domain.group(1):
        return company_for_domain(domain.group(1))
    name = PROMPT_NAME.search(prompt)
    return company_for_name(name.group(1)) if name else None


def research_answer(prompt: str, known: Callable[[str], bool]) -> dict[str, Any]:
    """What a well-read model answers to a research prompt, in the JSON shape the prompt requests: the URL
    asked for when the model knows the company (``known(domain)``), else nulls and zero confidence."""
    if '"desired_fields"' in prompt:
        return field_request_answer(prompt)
    if '"analysis"' in prompt:
        return filing_analysis_answer(prompt)
    company = company_in_prompt(prompt)
    recognised = company is not None and known(company.domain)
    for key, url_of in (("g2_url", g2_url), ("pricing_page_url", pricing_page_url)):
        if f'"{key}"' in prompt:
            if company is None or not recognised:
                return {key: None, "confidence": 0.0, "reason": "No reliable source found for this company."}
            return {key: url_of(company), "confidence": 0.9, "reason": f"Official page of {company.name}."}
    return {"answer": None, "confidence": 0.0, "reason": "The question is outside this model's knowledge."}


REQUEST_LINE = re.compile(r"^Request: (.*)$", re.MULTILINE)
VALID_FIELDS_LINE = re.compile(r"^Valid fields: (.*)$", re.MULTILINE)
KEYWORD_RULE = re.compile(r'^- "([^"]+)" -> (.*)$', re.MULTILINE)


def _option_value(text: str) -> Any:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    return int(text) if text.isdigit() else text


def field_request_answer(prompt: str) -> dict[str, Any]:
    """What a model answers to the assembler's field-extraction prompt: it applies the prompt's keyword
    rules (``- "emails" -> email; job_title=VP``) to the request line, adds any valid field the request names
    verbatim, and reads the first number in the request as ``max_results``. Deterministic by construction."""
    found = REQUEST_LINE.search(prompt)
    request = found.group(1) if found else ""
    fields: list[str] = []
    options: dict[str, Any] = {}
    for keyword, outcome in KEYWORD_RULE.findall(prompt):
        if not re.search(rf"\b{re.escape(keyword)}(?:e?s)?\b", request, re.IGNORECASE):
            continue
        named, _, settings = outcome.partition(";")
        fields += [name.strip() for name in named.split(",") if name.strip()]
        for setting in settings.split(","):
            key, assigned, value = setting.strip().partition("=")
            if assigned:
                options[key] = _option_value(value)
    valid = VALID_FIELDS_LINE.search(prompt)
    for name in valid.group(1).split(", ") if valid else []:
        if re.search(rf"\b{re.escape(name)}\b", request):
            fields.append(name)
    number = re.search(r"\b(\d+)\b", request)
    if number and "max_results" in prompt:
        options["max_results"] = int(number.group(1))
    return {"desired_fields": list(dict.fromkeys(fields)), "options": options}


# --- ads (Adyntel) -------------------------------------------------------------------------------------


def ad_count(domain: str, network: str) -> int:
    return count_for(domain, f"ads-{network}", 1, 24)


def ads(domain: str, network: str) -> list[dict[str, Any]]:
    """Every ad ``domain`` runs on ``network`` (linkedin, meta or google), newest first."""
    company = company_for_domain(domain)
    found = []
    for index in range(ad_count(domain, network)):
        ad_id = str(digest("ad", network, domain, str(index)) % 10**12)
        started = date.fromordinal(DATA_AS_OF.toordinal() - 7 * index - digest("ad-day", ad_id) % 7)
        landing = f"https://{domain}/lp/{pick(('demo', 'trial', 'guide', 'webinar'), 'lp', ad_id)}"
        headline = (
            f"{company.name}: {pick(('Book a demo', 'Start free', 'Read the guide', 'Join us'), 'h', ad_id)}"
        )
        if network == "linkedin":
            found.append(
                {
                    "ad_id": ad_id,
                    "advertiser_name": company.name,
                    "creative_type": pick(("SPONSORED_STATUS_UPDATE", "SPONSORED_VIDEO"), "type", ad_id),
                    "headline": headline,
                    "commentary": company.description,
                    "cta": "Learn more",
                    "landing_page": landing,
                    "first_seen": started.isoformat(),
                }
            )
        elif network == "meta":
            found.append(
                {
                    "ad_archive_id": ad_id,
                    "page_name": company.name,
                    "is_active": index < 5,
                    "publisher_platform": ["facebook", "instagram"],
                    "start_date": started.isoformat(),
                    "snapshot": {
                        "title": headline,
                        "body": {"text": company.description},
                        "link_url": landing,
                    },
                }
            )
        else:
            found.append(
                {
                    "advertiser_id": f"AR{digest('advertiser', domain) % 10**17:017d}",
                    "creative_id": f"CR{ad_id}",
                    "format": pick(("text", "image", "video"), "format", ad_id),
                    "original_url": landing,
                    "first_shown": started.isoformat(),
                    "last_shown": DATA_AS_OF.isoformat(),
                }
            )
    return found


def keyword_ads(keyword: str) -> list[dict[str, Any]]:
    """Meta ads matching a keyword: the ads of the advertisers that bid on it."""
    advertisers = related_domains(one_word(keyword), "keyword-advertiser", 2)
    return [ad for advertiser in advertisers for ad in ads(advertiser, "meta")[:3]]


# --- online stores (StoreLeads) ------------------------------------------------------------------------

PLATFORMS = {
    "shopify": ("Basic Shopify", "Shopify", "Advanced Shopify", "Shopify Plus"),
    "woocommerce": ("WooCommerce",),
    "bigcommerce": ("Standard", "Plus", "Pro", "Enterprise"),
    "magento": ("Open Source", "Commerce"),
    "wix": ("Business Basic", "Business Unlimited"),
}
STORE_CATEGORIES = ("/Apparel", "/Beauty & Fitness", "/Home & Garden", "/Food & Drink", "/Sports", "/Pets")
# (name, categories, monthly cost in cents)
APPS = (
    ("Klaviyo", ["Marketing", "Email"], 4500),
    ("Judge.me Product Reviews", ["Reviews"], 1500),
    ("Recharge Subscriptions", ["Subscriptions"], 9900),
    ("Gorgias", ["Customer support"], 6000),
    ("Yotpo", ["Reviews", "Loyalty"], 7900),
    ("Privy", ["Marketing", "Pop-ups"], 3000),
)
TECHNOLOGIES = (
    ("Google Analytics", "Web analytics"),
    ("Meta Pixel", "Advertising pixel"),
    ("Cloudflare", "CDN"),
    ("Stripe", "Payments"),
    ("Hotjar", "Session recording"),
)


def store(
    domain: str, *, platform: str | None = None, country_code: str | None = None, category: str | None = None
) -> dict[str, Any]:
    """StoreLeads' record of ``domain``; a search result is built with the platform, country and category
    searched for."""
    company = company_for_domain(domain)
    platform = platform or pick(tuple(PLATFORMS), "platform", domain)
    plans = PLATFORMS.get(platform, ("Standard",))
    apps = [pick(APPS, "app", domain, str(i)) for i in range(1 + digest("apps", domain) % 4)]
    apps = list({app[0]: app for app in apps}.values())
    created = date(2012 + digest("store-created", domain) % 12, 1 + digest("store-month", domain) % 12, 1)
    return {
        "name": domain,
        "merchant_name": company.name,
        "platform": platform,
        "plan": pick(plans, "plan", domain),
        "estimated_sales": (digest("sales", domain) % 5_000_000 + 10_000) * 100,
        "employee_count": company.employee_count,
        "product_count": 5 + digest("products", domain) % 2000,
        "rank": 1 + digest("rank", domain) % 2_000_000,
        "platform_rank": 1 + digest("platform-rank", domain) % 500_000,
        "monthly_app_spend": sum(cents for _, _, cents in apps),
        "apps": [
            {"name": name, "categories": cats, "monthly_cost": f"${cents / 100:.2f}/month"}
            for name, cats, cents in apps
        ],
        "technologies": [
            {"name": name, "description": description}
            for name, description in TECHNOLOGIES[: 2 + digest("techs", domain) % 3]
        ],
        "contact_info": [
            {"type": "email", "value": f"hello@{domain}", "source": "/pages/contact"},
            {"type": "instagram", "value": f"https://www.instagram.com/{slug(company.name)}", "source": "/"},
        ],
        "categories": [category or pick(STORE_CATEGORIES, "category", domain)],
        "country_code": country_code or company.hq_country_code,
        "city": company.hq_city,
        "state": "Active",
        "description": company.description,
        "created_at": f"{created.isoformat()}T00:00:00Z",
        "shipping_carriers": ["UPS", "USPS"] if digest("carriers", domain) % 2 else ["DHL"],
        "sales_carriers": ["Shop Pay"] if platform == "shopify" else [],
        "features": ["Free shipping", "Gift cards"][: 1 + digest("features", domain) % 2],
    }


def store_search(filters: dict[str, str], page: int, page_size: int) -> tuple[int, list[dict[str, Any]]]:
    """All stores matching ``filters`` (total) and one page of them, consistent across pages."""
    key = "&".join(f"{name}={value.lower()}" for name, value in sorted(filters.items()))
    total = count_for(key, "stores", 3, 120)
    start = page * page_size
    domains = related_domains(key, "store", min(total, start + page_size))[start:]
    return total, [
        store(
            d,
            platform=filters.get("platform"),
            country_code=filters.get("country_code"),
            category=filters.get("category"),
        )
        for d in domains
    ]


# --- card revenue (Enigma) -----------------------------------------------------------------------------


def brand_id(domain: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"enigma-brand:{domain}"))


def location_count(domain: str) -> int:
    return 1 + digest("locations", domain) % 400


def card_quantity(brand: str, quantity_type: str, period: str, months_ago: int) -> float:
    """One card-transaction figure of a brand; monthly figures are about a twelfth of annual ones."""
    scale = {
        "card_revenue_amount": 2_000_000.0,
        "card_revenue_yoy_growth": 0.4,
        "card_customers_average_daily_count": 900.0,
        "card_transactions_count": 60_000.0,
        "average_transaction_size": 90.0,
        "refunds_amount": 40_000.0,
    }.get(quantity_type, 1.0)
    base = scale * (0.2 + digest("card", brand, quantity_type) % 1000 / 1000)
    if quantity_type == "card_revenue_yoy_growth":
        base -= scale / 2
    if period == "1m" and quantity_type not in ("card_revenue_yoy_growth", "average_transaction_size"):
        base /= 12
    wobble = 1 + (digest("month", brand, quantity_type, str(months_ago)) % 200 - 100) / 1000
    return round(base * wobble, 2)


def month_start(months_ago: int) -> date:
    index = DATA_AS_OF.year * 12 + DATA_AS_OF.month - 1 - months_ago
    return date(index // 12, index % 12 + 1, 1)


# --- SEC filings (HQ's filing index, EDGAR's documents) ------------------------------------------------

EDGAR_ARCHIVE = "https://www.sec.gov/Archives/edgar/data"
FILING_FORMS = {"10k": "10-K", "10q": "10-Q", "8k": "8-K"}
DOCUMENT_NAME = re.compile(r"^([a-z0-9]+)-(10k|10q|8k)-(\d{8})\.htm$")
PROMPT_LINE = r"^{}: (.*)$"


def is_public(company: Company) -> bool:
    return company.company_type == "Public Company"


def cik_of(domain: str) -> int:
    return 1_000_000 + digest("cik", domain) % 900_000


def ticker_of(company: Company) -> str:
    return one_word(company.name)[:4].upper() or "XXXX"


def _filing(company: Company, form: str, days_ago: int, sequence: int, items: list[str]) -> dict[str, Any]:
    cik, ticker = cik_of(company.domain), ticker_of(company)
    filed = DATA_AS_OF - timedelta(days=days_ago)
    accession = f"{cik:010d}-{filed.year % 100:02d}-{sequence:06d}"
    document = f"{ticker.lower()}-{form}-{filed:%Y%m%d}.htm"
    report = filed - timedelta(days=35 if form != "8k" else 0)
    return {
        "filing_date": filed.isoformat(),
        "report_date": report.isoformat(),
        "accession_number": accession,
        "document_url": f"{EDGAR_ARCHIVE}/{cik}/{accession.replace('-', '')}/{document}",
        "items": items,
    }


def sec_filings(domain: str) -> dict[str, Any]:
    """HQ's filing index of a company: public companies have a 10-K, a 10-Q and a few 8-Ks; others none."""
    company = company_for_domain(domain)
    if not is_public(company):
        return {"cik": None, "ticker": None, "company_name": company.name, "filings": {}}
    exec_changes = digest("8k-exec", domain) % 3
    return {
        "cik": cik_of(domain),
        "ticker": ticker_of(company),
        "company_name": company.name,
        "filings": {
            "latest_10k": _filing(company, "10k", 60, 1, []),
            "latest_10q": _filing(company, "10q", 20, 2, []),
            "recent_8k_executive_changes": [
                _filing(company, "8k", 10 + 30 * i, 10 + i, ["5.02"]) for i in range(exec_changes)
            ],
            "recent_8k_earnings": [_filing(company, "8k", 25, 20, ["2.02", "9.01"])],
            "recent_8k_material_contracts": [],
        },
    }


def filing_document(cik: str, document: str) -> str | None:
    """The HTML of an EDGAR primary document named like those :func:`sec_filings` lists."""
    match = DOCUMENT_NAME.match(document)
    if not match:
        return None
    ticker, form, filed = match.group(1).upper(), FILING_FORMS[match.group(2)], match.group(3)
    officer = f"{pick(FIRST_NAMES, 'officer', cik, filed)} {pick(LAST_NAMES, 'officer', cik, filed)}"
    revenue = 20 + digest("revenue", cik, filed) % 900
    growth = digest("growth", cik, filed) % 30 - 5
    body = {
        "10-K": f"<p>Annual report. Revenue was ${revenue} million, {growth:+d}% year over year.</p>"
        "<p>Risk factors: competition, customer concentration and interest rates.</p>",
        "10-Q": f"<p>Quarterly report. Quarterly revenue was ${revenue // 4} million, {growth:+d}% year "
        "over year.</p>",
        "8-K": "<p>Item 5.02 Departure of Directors or Certain Officers; Election of Directors; "
        f"Appointment of Certain Officers. The board appointed {officer} as Chief Financial Officer.</p>",
    }[form]
    return (
        f"<html><head><title>{ticker} {form}</title><style>p {{margin: 0}}</style></head><body>"
        f"<h1>{ticker} Form {form} filed {filed}</h1>{body}<script>var x = 1;</script></body></html>"
    )


def filing_analysis_answer(prompt: str) -> dict[str, Any]:
    """A model's analysis of the filing text in the prompt: its first sentences, attributed."""
    form = re.search(PROMPT_LINE.format("Filing type"), prompt, re.MULTILINE)
    name = re.search(PROMPT_LINE.format("Company name"), prompt, re.MULTILINE)
    text = prompt.split("Filing text:", 1)[1].strip() if "Filing text:" in prompt else ""
    if not text:
        return {"analysis": None}
    summary = " ".join(text.split(". ")[:2])[:400]
    company = name.group(1) if name else "The company"
    return {"analysis": f"{company} ({form.group(1) if form else 'filing'}): {summary}"}
