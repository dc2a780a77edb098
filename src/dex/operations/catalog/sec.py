"""SEC filings: a company's filing index (HQ: CIK, ticker, latest 10-K and 10-Q, recent 8-Ks by kind) and
analyses of one filing — its document fetched from EDGAR and read by the LLMs dex asks for research (in
``LLM_PROVIDER_ORDER``), the first non-empty analysis winning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, field_validator

from dex.normalize import clean_text
from dex.operations.catalog.common import distinctive, operation_status
from dex.operations.catalog.research import llm_models
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import revenueinfra, sec

# The filing text an analysis prompt carries at most (a 10-K runs to hundreds of thousands of characters;
# its opening sections say what a sales team needs).
MAX_FILING_CHARS = 60_000
LLM_PROVIDERS = ("gemini", "openai", "anthropic")


class Filing(BaseModel):
    filing_date: str | None
    report_date: str | None
    accession_number: str | None
    document_url: str | None
    items: list[str]


class SecFilingsOutput(BaseModel):
    cik: str | None
    ticker: str | None
    company_name: str | None
    latest_10k: Filing | None
    latest_10q: Filing | None
    recent_8k_executive_changes: list[Filing]
    recent_8k_earnings: list[Filing]
    recent_8k_material_contracts: list[Filing]
    source_provider: str


class FilingAnalysisOutput(BaseModel):
    filing_type: str
    document_url: str
    domain: str | None
    company_name: str | None
    analysis: str
    source_provider: str

    @field_validator("analysis")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("analysis is empty")
        return value


async def fetch_sec_filings(inv: Invocation) -> Outcome:
    result = await revenueinfra.fetch_sec_filings(inv.providers, domain=inv.input.text("company_domain"))
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    mapped = result.mapped
    output = {
        **mapped,
        "company_name": mapped["company_name"] or inv.input.text("company_name"),
        "source_provider": revenueinfra.PROVIDER,
    }
    return Outcome(status, output)


@dataclass(frozen=True)
class FilingAnalysis:
    operation_id: str
    filing_type: str
    # Where the filing to analyse sits in an earlier fetch_sec_filings output.
    listed_under: str
    focus: str

    def document_url(self, inp: OperationInput) -> str | None:
        explicit = inp.text("document_url")
        if explicit:
            return explicit
        listed = inp.raw.get(self.listed_under)
        filing = listed[0] if isinstance(listed, list) and listed else listed
        return clean_text(filing.get("document_url")) if isinstance(filing, dict) else None

    def prompt(self, company_name: str | None, domain: str | None, text: str) -> str:
        name = " ".join(company_name.split()) if company_name else "unknown"
        return (
            f"You analyse SEC filings for a B2B sales team. {self.focus}\n"
            f"Company name: {name}\n"
            f"Company domain: {domain or 'unknown'}\n"
            f"Filing type: {self.filing_type}\n"
            'Answer with one JSON object: {"analysis": "<your analysis as plain text>"}. '
            "Use only what the filing says.\n"
            f"Filing text: {text[:MAX_FILING_CHARS]}"
        )

    async def run(self, inv: Invocation) -> Outcome:
        document_url = self.document_url(inv.input)
        if document_url is None:
            # No filing of this kind was listed: nothing to analyse is an answer, not a failure.
            return Outcome("not_found")
        document = await sec.fetch_document(inv.providers, document_url=document_url)
        status = operation_status(document)
        if status != "found":
            return Outcome(status)
        company_name, domain = inv.input.text("company_name"), inv.input.text("company_domain")
        prompt = self.prompt(company_name, domain, document.mapped["text"])
        models = llm_models(inv.settings)
        for provider in inv.provider_order():
            generate, model = models[provider]
            answer = await generate(inv.providers, model=model, prompt=prompt)
            analysis = clean_text((answer.mapped or {}).get("analysis")) if answer.status == "found" else None
            if analysis:
                output: dict[str, Any] = {
                    "filing_type": self.filing_type,
                    "document_url": document_url,
                    "domain": domain,
                    "company_name": company_name,
                    "analysis": analysis,
                    "source_provider": provider,
                }
                return Outcome("found", output)
        return Outcome("failed")

    def spec(self) -> OperationSpec:
        # An 8-K analysis runs on a company's context even when it lists no 8-K (then: not found).
        company = ("company_domain", "company_name") if self.listed_under.startswith("recent_") else ()
        requirements = Requirements(any_of=("document_url", self.listed_under, *company))
        return OperationSpec(
            operation_id=self.operation_id,
            entity_type="company",
            category="analyze",
            description=f"An analysis of the company's {self.filing_type} filing (document_url, or the one "
            f"an earlier fetch_sec_filings listed under {self.listed_under}): the document from SEC EDGAR, "
            "read by the LLMs in LLM_PROVIDER_ORDER.",
            requirements=requirements,
            optional_inputs=("document_url", "company_name", "company_domain"),
            produces=distinctive(*FilingAnalysisOutput.model_fields),
            providers=(sec.PROVIDER, *LLM_PROVIDERS),
            strategy="waterfall",
            cost_tier="high",
            output_contract=FilingAnalysisOutput,
            handler=self.run,
            order_setting="llm_provider_order",
        )


ANALYSES = (
    FilingAnalysis(
        "company.analyze.sec_10k",
        "10-K",
        "latest_10k",
        "Summarise the business, its results and outlook, its strategic priorities and its main risks.",
    ),
    FilingAnalysis(
        "company.analyze.sec_10q",
        "10-Q",
        "latest_10q",
        "Summarise the quarter's results, what changed since the annual report, and the outlook.",
    ),
    FilingAnalysis(
        "company.analyze.sec_8k_executive",
        "8-K-executive",
        "recent_8k_executive_changes",
        "Say which officers or directors left or were appointed, in which roles, and when.",
    ),
)

OPERATIONS = [
    OperationSpec(
        operation_id="company.research.fetch_sec_filings",
        entity_type="company",
        category="research",
        description="The company's SEC filings (HQ): CIK and ticker, the latest 10-K and 10-Q, and recent "
        "8-Ks on executive changes, earnings and material contracts; not found for a company filing none.",
        requirements=Requirements(all_of=("company_domain",)),
        produces=distinctive(*SecFilingsOutput.model_fields, *Filing.model_fields),
        providers=(revenueinfra.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=SecFilingsOutput,
        handler=fetch_sec_filings,
    ),
    *(analysis.spec() for analysis in ANALYSES),
]
