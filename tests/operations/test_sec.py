"""SEC operations through ``POST /api/v1/execute`` against the sandbox: the filing index (HQ), and filing
analyses read from EDGAR by the LLM waterfall."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run


async def test_filings_then_each_analysis(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    # quill.io files with the SEC in the sandbox and has two recent 8-Ks on executive changes.
    filings = await run(client, tenant, "company.research.fetch_sec_filings", {"domain": "https://quill.io"})
    assert filings["status"] == "found"
    output = filings["output"]
    assert output["ticker"] == "QUIL" and len(output["recent_8k_executive_changes"]) == 2
    context = {"company_domain": "quill.io", "company_name": "Quill", **output}

    for operation_id, filing_type, listed in (
        ("company.analyze.sec_10k", "10-K", output["latest_10k"]),
        ("company.analyze.sec_10q", "10-Q", output["latest_10q"]),
        ("company.analyze.sec_8k_executive", "8-K-executive", output["recent_8k_executive_changes"][0]),
    ):
        analysis = await run(client, tenant, operation_id, context)
        assert analysis["status"] == "found", analysis
        result = analysis["output"]
        assert result["filing_type"] == filing_type and result["document_url"] == listed["document_url"]
        assert result["source_provider"] == "gemini" and result["company_name"] == "Quill"
        # The model read the document EDGAR served (its text, not its markup).
        assert result["analysis"].startswith("Quill (") and "Form" in result["analysis"]
        assert [a["provider"] for a in analysis["provider_attempts"]] == ["sec", "gemini"]
    executive = await run(client, tenant, "company.analyze.sec_8k_executive", context)
    assert "Chief Financial Officer" in executive["output"]["analysis"]


async def test_company_without_filings(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    filings = await run(
        client, tenant, "company.research.fetch_sec_filings", {"company_domain": "globex.com"}
    )
    assert filings["status"] == "not_found" and filings["output"] is None
    # No executive-change 8-K listed: nothing to analyse, and nothing is called.
    analysis = await run(
        client,
        tenant,
        "company.analyze.sec_8k_executive",
        {"company_domain": "globex.com", "recent_8k_executive_changes": []},
    )
    assert analysis["status"] == "not_found" and analysis["provider_attempts"] == []
    assert [entry.provider for entry in sandbox.state.ledger] == ["revenueinfra"]


async def test_llm_fallback_and_missing_document(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    filings = await run(client, tenant, "company.research.fetch_sec_filings", {"company_domain": "acme.io"})
    ten_k = filings["output"]["latest_10k"]["document_url"]
    sandbox.state.script_faults("gemini", ["500"] * 3)
    analysis = await run(client, tenant, "company.analyze.sec_10k", {"document_url": ten_k})
    assert analysis["status"] == "found" and analysis["output"]["source_provider"] == "openai"

    sandbox.set_hit_rates(sec=0.0)
    ten_q = filings["output"]["latest_10q"]["document_url"]
    missing = await run(client, tenant, "company.analyze.sec_10q", {"document_url": ten_q})
    assert missing["status"] == "not_found"
    elsewhere = await run(
        client, tenant, "company.analyze.sec_10q", {"document_url": "https://example.com/10q.htm"}
    )
    assert elsewhere["status"] == "failed"
    assert elsewhere["provider_attempts"][0]["error"] == "not_an_edgar_url"


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.research.fetch_sec_filings", {"company_name": "Acme"}, ["company_domain"]),
        ("company.analyze.sec_10k", {"latest_10q": {"document_url": "x"}}, ["document_url|latest_10k"]),
        ("company.analyze.sec_10q", {"document_url": 7}, ["document_url|latest_10q"]),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing)
