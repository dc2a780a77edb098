"""The state machine: every legal and illegal transition, each status-changing statement against a real
database, and a scan of the source proving no other module writes a status."""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from dex.db.engine import Database
from dex.pipeline import states
from dex.vocabulary import RUN_STATUSES, STEP_STATUSES

SRC = Path(__file__).resolve().parents[2] / "src" / "dex"
STATE_MACHINE = SRC / "pipeline" / "states.py"

ALL_PAIRS = {
    "run": list(itertools.product(RUN_STATUSES, RUN_STATUSES)),
    "step": list(itertools.product(STEP_STATUSES, STEP_STATUSES)),
}


@pytest.mark.parametrize(
    ("kind", "current", "target"),
    [(kind, a, b) for kind, pairs in ALL_PAIRS.items() for a, b in pairs],
)
def test_check_allows_exactly_the_table(kind: str, current: str, target: str) -> None:
    legal = target in states.TABLES[kind][current]
    if legal:
        states.check(kind, current, target)
    else:
        with pytest.raises(states.IllegalTransition):
            states.check(kind, current, target)


@pytest.mark.parametrize(
    ("kind", "target"), [(k, t) for k, pairs in ALL_PAIRS.items() for t in sorted({b for _, b in pairs})]
)
def test_sources_are_the_statuses_the_table_leads_from(kind: str, target: str) -> None:
    expected = {status for status, targets in states.TABLES[kind].items() if target in targets}
    if expected:
        assert set(states.sources(kind, target)) == expected
    else:
        with pytest.raises(states.IllegalTransition):
            states.sources(kind, target)


def test_a_statement_cannot_narrow_to_an_illegal_source() -> None:
    with pytest.raises(states.IllegalTransition, match="succeeded"):
        states.step_transition("queued", among=("succeeded",), where="true")


def test_terminal_statuses_lead_nowhere() -> None:
    for status in states.TERMINAL_RUN_STATUSES - {"failed"}:  # a failed run may be resumed
        assert not states.RUN_TRANSITIONS[status]
    for status in states.TERMINAL_STEP_STATUSES - {"failed"}:
        assert not states.STEP_TRANSITIONS[status]


# --- each statement, on real rows -----------------------------------------------------------------------


async def _step_with_status(database: Database, status: str) -> uuid.UUID:
    """A submission with one run and one step in ``status`` (the rows this test owns)."""
    async with database.transaction() as session:
        org = await session.scalar(
            text("INSERT INTO orgs (name, slug) VALUES ('o', :s) RETURNING id"), {"s": f"o-{uuid.uuid4()}"}
        )
        company = await session.scalar(
            text("INSERT INTO companies (org_id, name) VALUES (:o, 'c') RETURNING id"), {"o": org}
        )
        blueprint = await session.scalar(
            text("INSERT INTO blueprints (org_id, name) VALUES (:o, :n) RETURNING id"), {"o": org, "n": "b"}
        )
        version = await session.scalar(
            text(
                "INSERT INTO blueprint_versions (blueprint_id, org_id, version, snapshot) "
                "VALUES (:b, :o, 1, '{}') RETURNING id"
            ),
            {"b": blueprint, "o": org},
        )
        submission = await session.scalar(
            text(
                "INSERT INTO submissions (org_id, company_id, blueprint_id, input_payload) "
                "VALUES (:o, :c, :b, '{}') RETURNING id"
            ),
            {"o": org, "c": company, "b": blueprint},
        )
        run = await session.scalar(
            text(
                "INSERT INTO pipeline_runs (org_id, company_id, submission_id, blueprint_id, "
                "blueprint_version_id, blueprint_version, entity_type, status) "
                "VALUES (:o, :c, :s, :b, :v, 1, 'company', 'running') RETURNING id"
            ),
            {"o": org, "c": company, "s": submission, "b": blueprint, "v": version},
        )
        return await session.scalar(
            text(
                "INSERT INTO step_results (org_id, company_id, pipeline_run_id, submission_id, "
                "step_position, operation_id, status, available_at) "
                "VALUES (:o, :c, :r, :s, 1, 'company.enrich.profile', :status, now()) RETURNING id"
            ),
            {"o": org, "c": company, "r": run, "s": submission, "status": status},
        )


@pytest.mark.parametrize("current", STEP_STATUSES)
@pytest.mark.parametrize(
    "target", sorted({t for targets in states.STEP_TRANSITIONS.values() for t in targets})
)
async def test_set_step_statement_moves_only_legal_sources(
    database: Database, current: str, target: str
) -> None:
    step_id = await _step_with_status(database, current)
    async with database.transaction() as session:
        moved = await session.scalar(states.set_step_statement(target), {"step_id": step_id})
        status = await session.scalar(text("SELECT status FROM step_results WHERE id = :id"), {"id": step_id})
    legal = target in states.STEP_TRANSITIONS[current]
    assert (moved is not None) == legal
    assert status == (target if legal else current)


# --- nobody else writes a status ------------------------------------------------------------------------

# An UPDATE of a run, step or submission row that sets its status, in SQL text or through the ORM.
SQL_STATUS_WRITE = re.compile(
    r"UPDATE\s+(?:step_results|pipeline_runs|submissions)\b(?:\s+\w+)?\s+SET\b"
    r"(?:(?!\b(?:WHERE|FROM|RETURNING)\b).)*?\bstatus\s*=",
    re.IGNORECASE | re.DOTALL,
)
ORM_STATUS_WRITE = re.compile(
    r"update\(\s*(StepResult|PipelineRun|Submission)\s*\)(?:(?!\bupdate\().)*?\.values\([^)]*\bstatus\s*=",
    re.DOTALL,
)


def _status_writes(source: str) -> list[str]:
    # Adjacent string literals are joined so a statement split over lines is read whole.
    joined = re.sub(r"\"\s*\n\s*\"", "", source)
    return [
        m.group(0)[:80] for pattern in (SQL_STATUS_WRITE, ORM_STATUS_WRITE) for m in pattern.finditer(joined)
    ]


def test_the_scan_finds_status_writes() -> None:
    assert _status_writes("text(\"UPDATE step_results SET status = 'queued' WHERE id = :id\")")
    assert _status_writes('text(\n    "UPDATE pipeline_runs SET claimed_by = NULL, "\n    "status = :s")')
    assert _status_writes("update(StepResult).where(StepResult.id == x).values(status=target)")
    assert not _status_writes("update(StepResult).where(StepResult.id == x).values(available_at=None)")
    assert not _status_writes('text("UPDATE submissions SET budget_credits = :b WHERE id = :id")')


def test_no_module_but_the_state_machine_writes_a_status() -> None:
    offenders = {
        str(path.relative_to(SRC)): writes
        for path in SRC.rglob("*.py")
        if path != STATE_MACHINE and "migrations" not in path.parts
        for writes in [_status_writes(path.read_text())]
        if writes
    }
    assert offenders == {}
    assert _status_writes(STATE_MACHINE.read_text())  # the scan still sees the real writers
