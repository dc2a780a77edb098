"""The cost ledger: every provider attempt's credits (``operation_attempts``) with the run that made it
(``operation_runs``: org, company, submission, pipeline run, operation), summed in SQL by any combination
of org, company, submission, run, operation, provider and UTC day.

A *call* is an attempt that reached a provider or the enrichment cache (attempts skipped before any call,
e.g. for a missing key, are left out); *billed* calls cost credits; *cached* calls were answered from the
cache and record what they saved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# group name → the SQL expression it groups by (attempts are ``a``, their operation runs ``r``).
GROUPS: dict[str, str] = {
    "org": "r.org_id",
    "company": "r.company_id",
    "submission": "r.submission_id",
    "run": "r.pipeline_run_id",
    "operation": "r.operation_id",
    "provider": "a.provider",
    "day": "(a.created_at AT TIME ZONE 'UTC')::date",
}
GROUP_COLUMNS = {
    "org": "org_id",
    "company": "company_id",
    "submission": "submission_id",
    "run": "pipeline_run_id",
    "operation": "operation_id",
    "provider": "provider",
    "day": "day",
}

MEASURES = """
    count(*) AS calls,
    count(*) FILTER (WHERE a.cost_credits > 0) AS billed_calls,
    count(*) FILTER (WHERE a.cached) AS cached_calls,
    COALESCE(sum(a.cost_credits), 0) AS cost_credits,
    COALESCE(sum(a.saved_credits), 0) AS saved_credits
"""


@dataclass(frozen=True)
class LedgerFilter:
    """Which attempts count. ``org_id`` None means every org (super-admins only)."""

    org_id: uuid.UUID | None
    company_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    provider: str | None = None
    # Inclusive UTC days.
    date_from: date | None = None
    date_to: date | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        clauses = ["a.status <> 'skipped'"]
        params: dict[str, Any] = {}
        for column, name, value in (
            ("a.org_id", "org_id", self.org_id),
            ("r.company_id", "company_id", self.company_id),
            ("r.submission_id", "submission_id", self.submission_id),
            ("a.provider", "provider", self.provider),
        ):
            if value is not None:
                clauses.append(f"{column} = :{name}")
                params[name] = value
        if self.date_from is not None:
            clauses.append("a.created_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE 'UTC'")
            params["date_from"] = self.date_from
        if self.date_to is not None:
            clauses.append("a.created_at < CAST(:date_until AS date)::timestamp AT TIME ZONE 'UTC'")
            params["date_until"] = self.date_to + timedelta(days=1)
        return " AND ".join(clauses), params


def _measures(row: Any) -> dict[str, Any]:
    return {
        "calls": row["calls"],
        "billed_calls": row["billed_calls"],
        "cached_calls": row["cached_calls"],
        "cost_credits": row["cost_credits"],
        "saved_credits": row["saved_credits"],
    }


async def usage(
    session: AsyncSession, ledger: LedgerFilter, group_by: list[str], *, limit: int, offset: int
) -> dict[str, Any]:
    """Totals of the filtered attempts and one page of groups, largest cost first."""
    where, params = ledger.where()
    source = f"FROM operation_attempts a JOIN operation_runs r ON r.run_id = a.run_id WHERE {where}"
    totals = (await session.execute(text(f"SELECT {MEASURES} {source}"), params)).mappings().one()
    groups: list[dict[str, Any]] = []
    group_count = 0
    if group_by:
        keys = ", ".join(f"{GROUPS[name]} AS {GROUP_COLUMNS[name]}" for name in group_by)
        grouping = ", ".join(GROUPS[name] for name in group_by)
        order = ", ".join(GROUP_COLUMNS[name] for name in group_by)
        rows = await session.execute(
            text(
                f"SELECT {keys}, {MEASURES}, count(*) OVER () AS group_count {source} "
                f"GROUP BY {grouping} ORDER BY cost_credits DESC, {order} LIMIT :limit OFFSET :offset"
            ),
            {**params, "limit": limit, "offset": offset},
        )
        for row in rows.mappings():
            group_count = row["group_count"]
            groups.append(
                {GROUP_COLUMNS[name]: row[GROUP_COLUMNS[name]] for name in group_by} | _measures(row)
            )
        if not groups and offset:
            group_count = int(
                await session.scalar(
                    text(f"SELECT count(*) FROM (SELECT 1 {source} GROUP BY {grouping}) g"), params
                )
                or 0
            )
    return {
        "group_by": group_by,
        "totals": _measures(totals),
        "groups": groups,
        "pagination": {
            "total": group_count,
            "limit": limit,
            "offset": offset,
            "returned": len(groups),
            "has_more": offset + len(groups) < group_count,
        },
    }


async def submission_usage(session: AsyncSession, submission_id: uuid.UUID) -> dict[str, Any]:
    """What one submission spent and saved, in total and per provider (batch status shows it)."""
    report = await usage(
        session,
        LedgerFilter(org_id=None, submission_id=submission_id),
        ["provider"],
        limit=1000,
        offset=0,
    )
    return {**report["totals"], "by_provider": report["groups"]}
