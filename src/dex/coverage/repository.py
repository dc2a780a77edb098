"""The coverage queries: everything is counted by PostgreSQL, whatever the number of people an org has
(the seed system loaded every person of the org into memory and silently stopped at 1000).

Related companies are those the target's research listed: its stored ``customers``, ``competitors``…
lists, and for a list it has not stored, the one just looked up (``live``, see ``coverage.service``);
they count as enriched when the org has an entity for their domain."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import dumps
from dex.operations.catalog.person_contact import DELIVERABLE
from dex.operations.catalog.research import LOOKUPS, ListLookup


def _related_lookups() -> dict[str, ListLookup]:
    """The research lookup behind each list a company payload may hold (the first one naming it)."""
    lookups: dict[str, ListLookup] = {}
    for lookup in LOOKUPS:
        lookups.setdefault(lookup.list_key, lookup)
    return lookups


def _domain_key(lookup: ListLookup) -> str:
    """The item key naming a related company's domain (the one its fan-out maps to ``company_domain``)."""
    aliases = dict((target, source) for source, target in lookup.fan_out.item_aliases)
    return aliases.get("company_domain", "company_domain")


RELATED_LOOKUPS = _related_lookups()
RELATED_LISTS = [
    {"category": category, "domain_key": _domain_key(lookup)} for category, lookup in RELATED_LOOKUPS.items()
]
CATEGORIES = tuple(RELATED_LOOKUPS)

# A company-scoped caller sees only its company's entities.
SCOPED = "(CAST(:company_id AS uuid) IS NULL OR {alias}.company_id = CAST(:company_id AS uuid))"


def _domain(expression: str) -> str:
    """The SQL twin of ``identity.domain``: trim, lowercase, drop the scheme, cut the path, drop ``www.``."""
    stripped = f"regexp_replace(lower(btrim({expression})), '^[a-z][a-z0-9+.-]*://', '')"
    return f"NULLIF(regexp_replace(regexp_replace({stripped}, '[/?#:].*$', ''), '^www\\.', ''), '')"


TARGET = f"""
    SELECT entity_id, canonical_domain, canonical_name, linkedin_url, industry, canonical_payload,
           last_enriched_at
    FROM company_entities t
    WHERE t.org_id = :org_id AND t.canonical_domain = :domain AND {SCOPED.format(alias="t")}
"""

# The lists: the target's stored ones, and the ones looked up live for what it has not stored (``:live``,
# an object of lists; a target the org has not enriched has only those).
RELATED = f"""
    SELECT DISTINCT c.category, {_domain("item ->> c.domain_key")} AS domain
    FROM (SELECT COALESCE((SELECT canonical_payload FROM target), '{{}}'::jsonb) || CAST(:live AS jsonb)
          AS payload) t
    CROSS JOIN jsonb_to_recordset(CAST(:lists AS jsonb)) AS c(category text, domain_key text)
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(t.payload -> c.category) = 'array'
             THEN t.payload -> c.category ELSE '[]'::jsonb END
    ) AS item
    WHERE jsonb_typeof(item) = 'object'
"""

ENRICHED_RELATED = f"""
    SELECT r.category, r.domain, e.entity_id, e.industry, e.employee_count, e.employee_range,
           e.canonical_payload
    FROM related r
    LEFT JOIN company_entities e
      ON e.org_id = :org_id AND e.canonical_domain = r.domain AND {SCOPED.format(alias="e")}
    WHERE r.domain IS NOT NULL
"""

TARGET_QUERY = text(
    f"""
    SELECT t.entity_id, t.canonical_name, t.linkedin_url, t.industry, t.last_enriched_at,
           t.canonical_payload ->> 'company_name' AS payload_name,
           t.canonical_payload ->> 'industry_primary' AS payload_industry,
           ARRAY(SELECT key FROM jsonb_each(COALESCE(t.canonical_payload, '{{}}'::jsonb))
                 WHERE value <> 'null'::jsonb ORDER BY key) AS fields_present,
           EXTRACT(EPOCH FROM now() - t.last_enriched_at) / 3600 AS age_hours
    FROM ({TARGET}) t
    """
)

CATEGORY_QUERY = text(
    f"""
    WITH target AS ({TARGET}), related AS ({RELATED}), enriched AS ({ENRICHED_RELATED})
    SELECT category,
           count(*) AS known_count,
           count(entity_id) AS enriched_count,
           count(industry) AS with_industry,
           count(*) FILTER (WHERE employee_count IS NOT NULL OR employee_range IS NOT NULL) AS with_employees,
           count(*) FILTER (WHERE canonical_payload ->> 'g2_url' IS NOT NULL) AS with_g2_url,
           count(*) FILTER (WHERE canonical_payload ->> 'pricing_page_url' IS NOT NULL)
               AS with_pricing_page_url
    FROM enriched
    GROUP BY category
    """
)

VERIFIED = (
    "(lower(p.email_status) = ANY(:deliverable) "
    "OR lower(p.canonical_payload -> 'verification' ->> 'status') = ANY(:deliverable))"
)

PEOPLE_QUERY = text(
    f"""
    WITH target AS ({TARGET}), related AS ({RELATED}), enriched AS ({ENRICHED_RELATED}),
    domains AS (
        SELECT domain FROM enriched WHERE entity_id IS NOT NULL
        UNION SELECT canonical_domain FROM target
    )
    SELECT count(*) AS total_count,
           count(*) FILTER (WHERE p.company_domain = :domain) AS at_target_count,
           count(p.work_email) AS with_email,
           count(*) FILTER (WHERE p.work_email IS NOT NULL AND {VERIFIED}) AS with_verified_email,
           count(p.linkedin_url) AS with_linkedin_url,
           count(p.title) AS with_title,
           count(p.phone_e164) AS with_phone,
           max(p.last_enriched_at) AS newest_enriched_at,
           min(p.last_enriched_at) AS oldest_enriched_at
    FROM person_entities p
    WHERE p.org_id = :org_id AND p.company_domain IN (SELECT domain FROM domains)
      AND {SCOPED.format(alias="p")}
    """
)


class CoverageRepository:
    def __init__(self, session: AsyncSession, org_id: uuid.UUID, company_id: uuid.UUID | None) -> None:
        """``company_id``: the one company a company-scoped caller sees; None for org-wide callers."""
        self.session = session
        self.params: dict[str, Any] = {"org_id": org_id, "company_id": company_id}

    async def target(self, domain: str) -> dict[str, Any] | None:
        row = (await self.session.execute(TARGET_QUERY, {**self.params, "domain": domain})).mappings().first()
        return dict(row) if row else None

    async def categories(self, domain: str, live: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
        rows = await self.session.execute(
            CATEGORY_QUERY,
            {**self.params, "domain": domain, "lists": dumps(RELATED_LISTS), "live": dumps(live)},
        )
        return {row["category"]: dict(row) for row in rows.mappings()}

    async def people(self, domain: str, live: dict[str, list[Any]]) -> dict[str, Any]:
        params = {
            **self.params,
            "domain": domain,
            "lists": dumps(RELATED_LISTS),
            "live": dumps(live),
            "deliverable": sorted(DELIVERABLE),
        }
        return dict((await self.session.execute(PEOPLE_QUERY, params)).mappings().one())
