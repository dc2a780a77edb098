"""Court records (CourtListener): a company's federal dockets, one docket's detail, and the bankruptcy
petitions filed across the bankruptcy courts in a window (a market-wide signal, no company input)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from dex.operations.catalog.common import distinctive, operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import courtlistener

# Where an earlier step's docket list may sit in the context, for a docket detail without an explicit id.
DOCKET_LISTS = ("court_filings", "bankruptcy_filings", "results")


class CourtFiling(BaseModel):
    docket_id: int
    case_name: str | None
    case_name_short: str | None
    court: str | None
    court_citation: str | None
    docket_number: str | None
    date_filed: str | None
    date_terminated: str | None
    date_last_filing: str | None
    judge: str | None
    pacer_case_id: str | None
    party_names: list[str]
    attorneys: list[str]
    relevance_score: float | None
    url: str | None
    source_provider: str


class CourtFilingsOutput(BaseModel):
    results: list[CourtFiling]
    result_count: int
    court_filings: list[CourtFiling]
    court_filing_count: int
    source_provider: str


class BankruptcyFilingsOutput(BaseModel):
    results: list[CourtFiling]
    result_count: int
    source_provider: str


class DocketDetailOutput(BaseModel):
    docket_id: int
    case_name: str | None
    court_id: str | None
    docket_number: str | None
    date_filed: str | None
    date_terminated: str | None
    judge: str | None
    parties: list[str]
    url: str | None
    source_provider: str


def _tagged(filings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**filing, "source_provider": courtlistener.PROVIDER} for filing in filings]


async def check_court_filings(inv: Invocation) -> Outcome:
    config = inv.configured()
    result = await courtlistener.search_filings(
        inv.providers,
        company_name=inv.input.text("company_name"),
        court=config.text("court_type"),
        filed_after=config.text("date_filed_gte"),
        filed_before=config.text("date_filed_lte"),
    )
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    filings = _tagged((result.mapped or {}).get("results", []))
    output = {
        "results": filings,
        "result_count": len(filings),
        "court_filings": filings,
        "court_filing_count": len(filings),
        "source_provider": courtlistener.PROVIDER,
    }
    return Outcome(status, output)


async def bankruptcy_filings(inv: Invocation) -> Outcome:
    config = inv.configured()
    result = await courtlistener.bankruptcy_dockets(
        inv.providers,
        date_filed_gte=config.text("date_filed_gte"),
        date_filed_lte=config.text("date_filed_lte"),
        courts=config.strings("courts") or None,
    )
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    filings = _tagged((result.mapped or {}).get("results", []))
    return Outcome(
        status, {"results": filings, "result_count": len(filings), "source_provider": courtlistener.PROVIDER}
    )


def requested_docket(inp: OperationInput) -> int | None:
    """An explicit ``docket_id``, else the first listed docket of an earlier court-records step."""
    explicit = inp.integer("docket_id")
    if explicit is not None:
        return explicit if explicit > 0 else None
    for key in DOCKET_LISTS:
        for item in inp.objects(key):
            listed = OperationInput(item).integer("docket_id")
            if listed is not None and listed > 0:
                return listed
    return None


async def docket_detail(inv: Invocation) -> Outcome:
    docket = requested_docket(inv.input)
    if docket is None:
        return Outcome("failed")
    result = await courtlistener.docket_detail(inv.providers, docket_id=docket)
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    record = result.mapped
    output = {
        "docket_id": record["docket_id"],
        "case_name": record["case_name"],
        "court_id": record["court"],
        "docket_number": record["docket_number"],
        "date_filed": record["date_filed"],
        "date_terminated": record["date_terminated"],
        "judge": record["judge"],
        "parties": record["party_names"],
        "url": record["url"],
        "source_provider": courtlistener.PROVIDER,
    }
    return Outcome(status, output)


FILING_FIELDS = tuple(CourtFiling.model_fields)

OPERATIONS = [
    OperationSpec(
        operation_id="company.research.check_court_filings",
        entity_type="company",
        category="research",
        description="Federal court dockets (RECAP, CourtListener) whose case name names the company, "
        "optionally in one court (court_type) and a filing window (date_filed_gte, date_filed_lte).",
        requirements=Requirements(all_of=("company_name",)),
        optional_inputs=("court_type", "date_filed_gte", "date_filed_lte"),
        produces=distinctive(
            "results", "result_count", "court_filings", "court_filing_count", *FILING_FIELDS
        ),
        providers=(courtlistener.PROVIDER,),
        strategy="single",
        cost_tier="low",
        output_contract=CourtFilingsOutput,
        handler=check_court_filings,
        options=("court_type", "date_filed_gte", "date_filed_lte"),
    ),
    OperationSpec(
        operation_id="company.research.get_docket_detail",
        entity_type="company",
        category="research",
        description="One federal docket by CourtListener id (docket_id, or the first docket an earlier "
        "court-records step listed): court, number, dates, judge and parties.",
        requirements=Requirements(any_of=("docket_id", *DOCKET_LISTS)),
        produces=distinctive(*DocketDetailOutput.model_fields),
        providers=(courtlistener.PROVIDER,),
        strategy="single",
        cost_tier="low",
        output_contract=DocketDetailOutput,
        handler=docket_detail,
    ),
    OperationSpec(
        operation_id="company.signal.bankruptcy_filings",
        entity_type="company",
        category="signal",
        description="Bankruptcy petitions filed from date_filed_gte (to date_filed_lte) in the given "
        "courts, or in every bankruptcy court (CourtListener): a market-wide scan, no company input.",
        requirements=Requirements(all_of=("date_filed_gte",)),
        optional_inputs=("date_filed_lte", "courts"),
        produces=distinctive("results", "result_count", "source_provider", *FILING_FIELDS),
        providers=(courtlistener.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=BankruptcyFilingsOutput,
        handler=bankruptcy_filings,
        options=("date_filed_gte", "date_filed_lte", "courts"),
    ),
]
