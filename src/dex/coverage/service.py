"""Is there enough enriched data around a prospect's market to do outbound?

The market is the target's research lists (customers, competitors, similar companies, alumni, champions):
those the target's entity has stored, and the others looked up live from RevenueInfra during the check."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.coverage.repository import CATEGORIES, RELATED_LOOKUPS, CoverageRepository
from dex.coverage.schemas import CategoryCoverage, Coverage, PeopleCoverage, Target
from dex.entities.identity import domain as normalize_domain
from dex.errors import BadRequest
from dex.operations.engine import execute_operation
from dex.operations.registry import registry
from dex.operations.repository import operation_run_row, record_operation_runs
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.context import AuthContext, requester_for

READY_PCT = 50.0


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _category(row: dict[str, Any] | None) -> CategoryCoverage:
    row = row or {}
    known, enriched = row.get("known_count", 0), row.get("enriched_count", 0)
    return CategoryCoverage(
        known_count=known,
        enriched_count=enriched,
        coverage_pct=_pct(enriched, known),
        with_industry=row.get("with_industry", 0),
        with_employees=row.get("with_employees", 0),
        with_g2_url=row.get("with_g2_url", 0),
        with_pricing_page_url=row.get("with_pricing_page_url", 0),
    )


def readiness(target: Target, customers: CategoryCoverage, people: PeopleCoverage) -> str:
    if not target.enriched:
        return "none"
    if customers.coverage_pct > READY_PCT and people.email_coverage_pct > READY_PCT:
        return "ready"
    return "partial"


def recommendation(overall: str, categories: dict[str, CategoryCoverage], people: PeopleCoverage) -> str:
    if overall == "none":
        return "Target company is not enriched. Run company profile enrichment first."
    if overall == "ready":
        return "Coverage is ready for outbound and portal gating."
    actions = []
    if categories["customers"].known_count == 0:
        actions.append("look up the target's customers")
    for name in ("customers", "competitors", "similar_companies"):
        remaining = categories[name].known_count - categories[name].enriched_count
        if remaining > 0:
            actions.append(f"enrich {remaining} remaining {name.replace('_', ' ')}")
            break
    if people.total_count == 0:
        actions.append("run person search on enriched companies")
    elif people.email_coverage_pct <= READY_PCT:
        actions.append(
            f"verify email deliverability for {people.total_count - people.with_verified_email} people"
        )
    if not actions:
        return "Expand enrichment coverage across customers and associated contacts."
    sentence = " and ".join(actions[:2])
    return f"{sentence[0].upper()}{sentence[1:]} to improve coverage."


async def live_lists(
    session: AsyncSession,
    scope: AuthContext,
    runtime: ProviderRuntime,
    settings: Settings,
    domain: str,
    categories: list[str],
    *,
    name: str | None,
    linkedin: str | None,
) -> dict[str, list[Any]]:
    """The research lists the target has not stored, looked up now (all at once) by running their
    research operations, recorded in the operation history like any execution (what they cost included).
    A lookup that fails or finds nothing gives an empty list. Competitors are asked by the target's name
    (its domain without one) and LinkedIn page, as the competitor lookup needs."""
    company = {"company_domain": domain, "company_name": name or domain, "company_linkedin_url": linkedin}
    company_input = {key: value for key, value in company.items() if value}
    operations = registry()
    results = await asyncio.gather(
        *(
            execute_operation(
                operations[RELATED_LOOKUPS[category].operation_id],
                company_input,
                providers=runtime.context(scope.org_id, requester=requester_for(scope)),
                settings=settings,
            )
            for category in categories
        )
    )
    await record_operation_runs(
        session,
        [operation_run_row(result, auth=scope, input_payload=company_input) for result in results],
    )
    lists = {}
    for category, result in zip(categories, results, strict=True):
        items = (result.output or {}).get(category) if result.status == "found" else None
        lists[category] = items if isinstance(items, list) else []
    return lists


async def check(
    session: AsyncSession,
    scope: AuthContext,
    raw_domain: str,
    *,
    runtime: ProviderRuntime,
    settings: Settings,
) -> Coverage:
    domain = normalize_domain(raw_domain)
    if domain is None:
        raise BadRequest("domain is required")
    repo = CoverageRepository(session, scope.org_id, scope.own_company_id())
    row = await repo.target(domain)
    stored = set(row["fields_present"]) if row else set()
    missing = [category for category in CATEGORIES if category not in stored]
    name, linkedin = (
        (row["canonical_name"] or row["payload_name"], row["linkedin_url"]) if row else (None, None)
    )
    live = await live_lists(session, scope, runtime, settings, domain, missing, name=name, linkedin=linkedin)
    target = Target(
        domain=domain,
        enriched=row is not None,
        entity_id=row["entity_id"] if row else None,
        company_name=row and (row["canonical_name"] or row["payload_name"]),
        industry=row and (row["industry"] or row["payload_industry"]),
        fields_present=list(row["fields_present"]) if row else [],
        last_enriched_at=row["last_enriched_at"] if row else None,
        age_hours=round(float(row["age_hours"]), 2) if row and row["age_hours"] is not None else None,
    )
    rows = await repo.categories(domain, live)
    categories = {category: _category(rows.get(category)) for category in CATEGORIES}
    counts = await repo.people(domain, live)
    people = PeopleCoverage(
        total_count=counts.get("total_count", 0),
        at_target_count=counts.get("at_target_count", 0),
        with_email=counts.get("with_email", 0),
        with_verified_email=counts.get("with_verified_email", 0),
        with_linkedin_url=counts.get("with_linkedin_url", 0),
        with_title=counts.get("with_title", 0),
        with_phone=counts.get("with_phone", 0),
        email_coverage_pct=_pct(counts.get("with_verified_email", 0), counts.get("total_count", 0)),
        newest_enriched_at=counts.get("newest_enriched_at"),
        oldest_enriched_at=counts.get("oldest_enriched_at"),
    )
    overall = readiness(target, categories["customers"], people)
    return Coverage(
        target=target,
        **categories,
        people=people,
        overall_readiness=overall,
        recommendation=recommendation(overall, categories, people),
    )
