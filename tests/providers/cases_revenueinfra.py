from __future__ import annotations

from dex.providers import revenueinfra
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase

DOMAIN = {"domain": "acme.io"}
UNKNOWN = {"domain": "nobody-knows.example"}
PRICING = {"domain": "acme.io", "pricing_page_url": "https://acme.io/pricing"}


def _customers_have_domains(result: AdapterResult) -> None:
    customers = result.mapped["customers"]
    assert customers and all(c["customer_domain"] for c in customers)
    # Website-shaped domains from HQ arrive normalized.
    assert not any(
        "://" in c["customer_domain"] or c["customer_domain"].startswith("www.") for c in customers
    )


def _scores_are_floats(result: AdapterResult) -> None:
    assert all(isinstance(c["similarity_score"], float) for c in result.mapped["similar_companies"])


def _vc_counts(result: AdapterResult) -> None:
    mapped = result.mapped
    assert isinstance(mapped["has_raised_vc"], bool)
    assert mapped["vc_count"] >= len(mapped["vc_names"])


def _answered(question: str):  # type: ignore[no-untyped-def]
    def check(result: AdapterResult) -> None:
        value = result.mapped[question]
        assert value in ("yes", "no"), value

    return check


CASES = [
    AdapterCase(
        revenueinfra.discover_competitors,
        {**DOMAIN, "company_name": "Acme"},
        {**UNKNOWN, "company_name": "Nobody"},
        check_found=lambda r: r.mapped["competitors"][0]["domain"],
    ),
    AdapterCase(revenueinfra.find_similar_companies, DOMAIN, UNKNOWN, check_found=_scores_are_floats),
    AdapterCase(revenueinfra.lookup_customers, DOMAIN, UNKNOWN, check_found=_customers_have_domains),
    AdapterCase(revenueinfra.lookup_alumni, DOMAIN, UNKNOWN),
    AdapterCase(revenueinfra.lookup_champions, DOMAIN, UNKNOWN),
    AdapterCase(
        revenueinfra.lookup_champion_testimonials,
        DOMAIN,
        UNKNOWN,
        check_found=lambda r: r.mapped["champions"][0]["testimonial"],
    ),
    AdapterCase(revenueinfra.check_vc_funding, DOMAIN, check_found=_vc_counts),
    AdapterCase(
        revenueinfra.infer_pricing_field,
        {**PRICING, "question": "free_trial"},
        {**PRICING, "question": "free_trial", "domain": "nobody-knows.example"},
        check_found=_answered("free_trial"),
    ),
    AdapterCase(
        revenueinfra.infer_pricing_field,
        {**PRICING, "question": "annual_commitment_required"},
        check_found=_answered("annual_commitment_required"),
        name="revenueinfra.infer_pricing_field.legacy_endpoint",
    ),
]
