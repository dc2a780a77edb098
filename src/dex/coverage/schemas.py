"""API models of the coverage check."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class CoverageRequest(BaseModel):
    domain: str
    # Super-admin callers name the org whose knowledge is checked.
    org_id: uuid.UUID | None = None


class Target(BaseModel):
    domain: str
    enriched: bool
    entity_id: uuid.UUID | None
    company_name: str | None
    industry: str | None
    # Fields of the stored entity that hold a value (canonical payload keys).
    fields_present: list[str]
    last_enriched_at: datetime | None
    age_hours: float | None


class CategoryCoverage(BaseModel):
    """Related companies of one kind (customers, competitors…) the target's research listed, and how many
    of them the org has enriched."""

    known_count: int
    enriched_count: int
    coverage_pct: float
    with_industry: int
    with_employees: int
    with_g2_url: int
    with_pricing_page_url: int


class PeopleCoverage(BaseModel):
    """People the org knows at the target and at its enriched related companies."""

    total_count: int
    at_target_count: int
    with_email: int
    with_verified_email: int
    with_linkedin_url: int
    with_title: int
    with_phone: int
    email_coverage_pct: float
    newest_enriched_at: datetime | None
    oldest_enriched_at: datetime | None


class Coverage(BaseModel):
    target: Target
    customers: CategoryCoverage
    competitors: CategoryCoverage
    similar_companies: CategoryCoverage
    alumni: CategoryCoverage
    champions: CategoryCoverage
    people: PeopleCoverage
    overall_readiness: Literal["none", "partial", "ready"]
    recommendation: str
