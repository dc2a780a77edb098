"""Provider attempts are named as in the original system wherever clients read them: operation results
and the stored attempt history."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from dex.db.engine import Database
from dex.operations.actions import reference_action
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute


def test_reference_names() -> None:
    assert reference_action("person.search", "prospeo", "search_person", {}) == "person_search"
    assert reference_action("company.enrich.profile", "leadmagic", "enrich_company", {}) == "company_enrich"
    assert (
        reference_action("person.contact.resolve_email", "leadmagic", "resolve_email", {}) == "resolve_email"
    )
    assert (
        reference_action("company.research.resolve_g2_url", "gemini", "generate_json", {}) == "resolve_g2_url"
    )
    pricing = reference_action(
        "company.derive.pricing_intelligence",
        "revenueinfra",
        "infer_pricing_field",
        {"question": "free_trial"},
    )
    assert pricing == "infer_free_trial"
    # Names the original never had stay dex's own.
    assert (
        reference_action("company.ads.search.google", "adyntel", "search_google_ads", {})
        == "search_google_ads"
    )


async def test_results_and_history_use_the_reference_names(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, database: Database
) -> None:
    response = await execute(client, tenant, "company.search", "company", {"query": "Acme"})
    result = response.json()["data"]
    assert [(a["provider"], a["action"]) for a in result["provider_attempts"]][:1] == [
        ("prospeo", "company_search")
    ]
    async with database.transaction() as session:
        stored = (
            await session.execute(
                text("SELECT provider, action FROM operation_attempts WHERE run_id = :id ORDER BY sequence"),
                {"id": result["run_id"]},
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        (a["provider"], a["action"]) for a in result["provider_attempts"]
    ]
