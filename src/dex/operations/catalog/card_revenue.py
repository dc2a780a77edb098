"""Card-transaction revenue (Enigma): match the company's brand, then read its card analytics.

When the brand matched but its analytics could not be read, the result is still ``found`` with the brand
and null figures — the match itself is information worth keeping.
"""

from __future__ import annotations

from pydantic import BaseModel

from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import enigma

DEFAULT_MONTHS_BACK = 12


class MonthlyValue(BaseModel):
    period_start: str | None
    value: float | None


class CardRevenueOutput(BaseModel):
    enigma_brand_id: str
    brand_name: str | None
    location_count: int | None
    annual_card_revenue: float | None = None
    annual_card_revenue_yoy_growth: float | None = None
    annual_avg_daily_customers: float | None = None
    annual_transaction_count: float | None = None
    annual_avg_transaction_size: float | None = None
    annual_refunds: float | None = None
    monthly_revenue: list[MonthlyValue] = []
    monthly_revenue_growth: list[MonthlyValue] = []
    monthly_avg_daily_customers: list[MonthlyValue] = []
    monthly_transactions: list[MonthlyValue] = []
    monthly_avg_transaction_size: list[MonthlyValue] = []
    monthly_refunds: list[MonthlyValue] = []
    source_provider: str


def months_back(inv: Invocation) -> int:
    """The ``months_back`` step option when it is a positive whole number (Enigma allows up to 24)."""
    value = inv.option("months_back")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        return DEFAULT_MONTHS_BACK
    return min(enigma.MAX_MONTHS_BACK, int(value)) or DEFAULT_MONTHS_BACK


async def card_revenue(inv: Invocation) -> Outcome:
    match = await enigma.match_business(
        inv.providers,
        company_name=inv.input.text("company_name"),
        company_domain=inv.input.text("company_domain"),
    )
    status = operation_status(match)
    if status != "found":
        return Outcome(status)
    analytics = await enigma.get_card_analytics(
        inv.providers, brand_id=match.mapped["enigma_brand_id"], months_back=months_back(inv)
    )
    figures = analytics.mapped if analytics.status == "found" else {}
    return Outcome("found", {**match.mapped, **figures, "source_provider": enigma.PROVIDER})


OPERATIONS = [
    OperationSpec(
        operation_id="company.enrich.card_revenue",
        entity_type="company",
        category="enrich",
        description="Card-transaction revenue, customers, transactions and refunds of the company's brand "
        "(Enigma): the annual figures and a monthly series (step option months_back, default 12, max 24).",
        requirements=Requirements(any_of=("company_name", "company_domain")),
        optional_inputs=("company_name", "company_domain"),
        produces=tuple(CardRevenueOutput.model_fields),
        providers=(enigma.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=CardRevenueOutput,
        handler=card_revenue,
        options=("months_back",),
    ),
]
