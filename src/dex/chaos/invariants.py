"""The system-wide invariants a chaos run must leave intact, checked once the run has settled.

Each check reads only the database and the sandbox's ledger of the requests it received; none knows which
faults were injected. A check returns the violations it found (empty when the invariant holds)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from dex.operations.repository import UNSETTLED_CALLS


@dataclass
class Accounting:
    """How dex's records of provider requests compare with the provider's (the sandbox ledger)."""

    billable_requests: int = 0
    recorded_requests: int = 0
    recorded_cost: Decimal = Decimal("0")
    # Requests whose process died before their answer arrived: priced as billed, as dex must assume.
    outcome_unknown: int = 0
    outcome_unknown_not_billed: int = 0


@dataclass
class Findings:
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    accounting: Accounting = field(default_factory=Accounting)

    def check(self, holds: bool, message: str) -> None:
        self.checks += 1
        if not holds:
            self.violations.append(message)


async def _count(conn: asyncpg.Connection, sql: str, *args: Any) -> int:
    return int(await conn.fetchval(sql, *args))


async def check_settled(conn: asyncpg.Connection, findings: Findings) -> None:
    unfinished = await _count(
        conn, "SELECT count(*) FROM pipeline_runs WHERE status NOT IN ('succeeded', 'failed', 'canceled')"
    )
    findings.check(unfinished == 0, f"{unfinished} pipeline runs are not terminal")
    stuck = await _count(
        conn, "SELECT count(*) FROM step_results WHERE status IN ('queued', 'running', 'retrying')"
    )
    findings.check(stuck == 0, f"{stuck} steps are still queued, running or retrying")
    open_submissions = await _count(
        conn, "SELECT count(*) FROM submissions WHERE status NOT IN ('completed', 'failed', 'canceled')"
    )
    findings.check(open_submissions == 0, f"{open_submissions} submissions are not terminal")
    unsettled = await _count(conn, UNSETTLED_CALLS)
    findings.check(unsettled == 0, f"{unsettled} journaled provider requests were never settled")


async def check_steps_recorded_once(conn: asyncpg.Connection, findings: Findings) -> None:
    """A succeeded step has exactly one operation run that is not a failure (the one whose output it
    applied); any other step has none."""
    rows = await conn.fetch(
        "SELECT s.id, s.status, count(r.run_id) FILTER (WHERE r.status <> 'failed') AS answers "
        "FROM step_results s LEFT JOIN operation_runs r ON r.step_result_id = s.id "
        "WHERE s.operation_id IS NOT NULL GROUP BY s.id, s.status"
    )
    wrong = [row for row in rows if row["answers"] != (1 if row["status"] == "succeeded" else 0)]
    findings.check(
        not wrong,
        f"{len(wrong)} steps are recorded a wrong number of times, e.g. "
        + ", ".join(f"{row['id']} ({row['status']}, {row['answers']} answers)" for row in wrong[:5]),
    )
    missing = await _count(
        conn,
        "SELECT count(*) FROM step_results s WHERE s.status = 'succeeded' "
        "AND s.output_payload ? 'operation_result' AND NOT EXISTS (SELECT 1 FROM operation_runs r "
        "WHERE r.run_id = (s.output_payload->'operation_result'->>'run_id')::uuid)",
    )
    findings.check(missing == 0, f"{missing} succeeded steps name an operation run that was not recorded")


async def check_spend(conn: asyncpg.Connection, ledger: list[dict[str, Any]], findings: Findings) -> None:
    """Every request the provider billed is recorded by dex at its cost, and dex records no spend the
    provider did not bill — except requests in flight when their process was killed, which dex cannot
    know the fate of and prices as billed."""
    billed_by_provider = Counter(entry["request_id"] for entry in ledger if entry["billable"])
    anonymous = sum(1 for entry in ledger if entry["billable"] and not entry["request_id"])
    findings.check(anonymous == 0, f"{anonymous} billable requests reached the sandbox without a request id")
    twice = [request for request, count in billed_by_provider.items() if request and count > 1]
    findings.check(not twice, f"{len(twice)} requests were billed more than once, e.g. {twice[:3]}")

    calls = await conn.fetch(
        "SELECT unnest(call_ids)::text AS call_id, unnest(call_costs) AS cost, provider_status "
        "FROM operation_attempts"
    )
    recorded = {call["call_id"]: call for call in calls}
    accounting = findings.accounting
    accounting.billable_requests = sum(billed_by_provider.values()) - anonymous
    accounting.recorded_requests = len(recorded)
    accounting.recorded_cost = sum((call["cost"] for call in calls), Decimal("0"))
    lost = [request for request in billed_by_provider if request and request not in recorded]
    findings.check(not lost, f"{len(lost)} billed requests are missing from dex's records, e.g. {lost[:3]}")
    unpriced = [
        request for request in billed_by_provider if request in recorded and recorded[request]["cost"] <= 0
    ]
    findings.check(
        not unpriced, f"{len(unpriced)} billed requests are recorded at no cost, e.g. {unpriced[:3]}"
    )
    unknown = [call for call in calls if call["provider_status"] == "outcome_unknown"]
    accounting.outcome_unknown = len(unknown)
    accounting.outcome_unknown_not_billed = sum(
        1 for call in unknown if call["cost"] > 0 and call["call_id"] not in billed_by_provider
    )
    phantom = [
        call["call_id"]
        for call in calls
        if call["cost"] > 0
        and call["call_id"] not in billed_by_provider
        and call["provider_status"] != "outcome_unknown"
    ]
    findings.check(not phantom, f"{len(phantom)} requests dex charged were never billed, e.g. {phantom[:3]}")

    ledger_total = await conn.fetchval("SELECT coalesce(sum(cost_credits), 0) FROM operation_attempts")
    runs_total = await conn.fetchval("SELECT coalesce(sum(cost_credits), 0) FROM operation_runs")
    counted = await conn.fetchval("SELECT coalesce(sum(spent_credits), 0) FROM org_spend")
    findings.check(
        ledger_total == runs_total == counted == accounting.recorded_cost,
        f"cost ledger disagrees: attempts {ledger_total}, runs {runs_total}, spend counters {counted}, "
        f"requests {accounting.recorded_cost}",
    )


ENTITY_QUERIES = {
    "company": (
        "SELECT canonical_domain, canonical_name, industry, employee_count FROM company_entities "
        "WHERE org_id = $1 ORDER BY canonical_domain"
    ),
    # Two namesakes at one company who resolve to the same address are one entity (identity by email),
    # and it keeps the profile URL of whichever finished first — in any run, faults or not. So a person
    # with an email is compared by that email, one without by their profile.
    "person": (
        "SELECT CASE WHEN work_email IS NULL THEN linkedin_url END, work_email, full_name, email_status "
        "FROM person_entities WHERE org_id = $1 ORDER BY 1, 2"
    ),
}


# Every run of the workload ends as in the fault-free run: a run that failed under faults (or was never
# spawned) is named here by its input and the error of its failed step, which the entity tables cannot say.
OUTCOME_QUERIES = {
    **ENTITY_QUERIES,
    "run": (
        "SELECT r.entity_type, coalesce(r.entity_input->>'linkedin_url', r.entity_input->>'company_domain', "
        "r.entity_input::text), r.status, (SELECT s.error_message FROM step_results s "
        "WHERE s.pipeline_run_id = r.id AND s.status = 'failed' ORDER BY s.step_position LIMIT 1) "
        "FROM pipeline_runs r WHERE r.org_id = $1 ORDER BY 1, 2"
    ),
}


async def outcome_rows(conn: asyncpg.Connection, org_id: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        kind: [tuple(row) for row in await conn.fetch(sql, org_id)] for kind, sql in OUTCOME_QUERIES.items()
    }


async def check_outcomes_match(
    conn: asyncpg.Connection, org_id: Any, reference: dict[str, list[tuple[Any, ...]]], findings: Findings
) -> None:
    found = await outcome_rows(conn, org_id)
    for kind, rows in reference.items():
        differing = set(rows) ^ set(found[kind])
        findings.check(
            sorted(rows, key=str) == sorted(found[kind], key=str),
            f"{kind} outcomes differ from the fault-free run ({len(found[kind])} vs {len(rows)} rows), "
            f"e.g. {sorted(differing, key=str)[:3]}",
        )
