"""Derived company intelligence: the pricing model read off a company's pricing page by HQ's fourteen
LLM-backed questions.

The questions are independent, so they are asked concurrently: the operation takes about as long as the
slowest question, not the sum of fourteen (the seed system asked them one after another — up to 14 × 30 s).
A question that fails leaves its field null and is listed in ``failed_fields``; the operation fails only
when every question failed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, create_model

from dex.normalize import normalize_domain
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import revenueinfra
from dex.providers.revenueinfra import PRICING_QUESTIONS

# Attempt statuses of a question the provider answered (with or without a value).
ANSWERED = ("found", "not_found")
ANSWER_TYPES: dict[str, Any] = {
    "yes_no": Literal["yes", "no"] | None,
    "category": str | None,
    "count": int | str | None,
}
ANSWER_FIELDS: dict[str, Any] = {
    field: (ANSWER_TYPES[question.kind], None) for field, question in PRICING_QUESTIONS.items()
}

PricingIntelligenceOutput: type[BaseModel] = create_model(
    "PricingIntelligenceOutput",
    **ANSWER_FIELDS,
    pricing_page_url=(str, ...),
    fields_resolved=(int, ...),
    failed_fields=(list[str], ...),
    source_provider=(str, ...),
)


def page_url(value: str) -> str | None:
    """The pricing page as an absolute http(s) URL, or None when the value cannot be one."""
    url = value if "://" in value else f"https://{value}"
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and "." in parts.netloc else None


async def pricing_intelligence(inv: Invocation) -> Outcome:
    url = page_url(inv.input.text("pricing_page_url") or "")
    if url is None:
        return Outcome("failed")
    # The page's own host stands in for the company's domain when the context has none.
    domain = inv.input.text("company_domain") or normalize_domain(url)
    results = await asyncio.gather(
        *(
            revenueinfra.infer_pricing_field(
                inv.providers,
                question=question,
                domain=domain,
                pricing_page_url=url,
                company_name=inv.input.text("company_name"),
            )
            for question in PRICING_QUESTIONS
        )
    )
    by_question = dict(zip(PRICING_QUESTIONS, results, strict=True))
    answers = {question: (result.mapped or {}).get(question) for question, result in by_question.items()}
    failed = [question for question, result in by_question.items() if result.status not in ANSWERED]
    if len(failed) == len(PRICING_QUESTIONS):
        return Outcome("failed")
    resolved = sum(value is not None for value in answers.values())
    output = {
        **answers,
        "pricing_page_url": url,
        "fields_resolved": resolved,
        "failed_fields": failed,
        "source_provider": revenueinfra.PROVIDER,
    }
    return Outcome("found" if resolved else "not_found", output)


OPERATIONS = [
    OperationSpec(
        operation_id="company.derive.pricing_intelligence",
        entity_type="company",
        category="derive",
        description="Pricing model, free trial, sales motion, billing, tiers, enterprise tier, seat minimums "
        "and more, read off the company's pricing page by HQ's 14 LLM questions asked concurrently. Partial "
        "answers are kept (failed questions listed in failed_fields); fields_resolved counts the 14 answers "
        "only.",
        requirements=Requirements(all_of=("pricing_page_url",)),
        optional_inputs=("company_domain", "company_name"),
        produces=(
            *PRICING_QUESTIONS,
            "pricing_page_url",
            "fields_resolved",
            "failed_fields",
            "source_provider",
        ),
        providers=(revenueinfra.PROVIDER,),
        strategy="parallel",
        cost_tier="high",
        output_contract=PricingIntelligenceOutput,
        handler=pricing_intelligence,
    ),
]
