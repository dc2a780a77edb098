"""A context is sent to the database once (``dex.pipeline.progress``): a step's input is read from the step
it follows or from its run's input, a finished step stores only what it changed, a step's operation run has
its step's input. What readers see must be exactly the contexts the engine worked with."""

from __future__ import annotations

import uuid
from itertools import pairwise

from sqlalchemy import text

from dex.db.engine import Database
from dex.operations import repository as history
from dex.pipeline import repository as repo
from dex.pipeline.progress import context_changes
from tests.conftest import PipelineHarness

STEPS = [
    {"position": 1, "operation_id": "company.enrich.profile"},
    {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
    {"position": 3, "operation_id": "person.contact.resolve_email"},
    # Never true: a skipped step after a finished one.
    {
        "position": 4,
        "operation_id": "person.contact.verify_email",
        "step_config": {"condition": {"field": "email", "op": "eq", "value": "nobody"}},
    },
]


def test_changes_are_the_values_a_step_did_not_keep_as_they_were() -> None:
    kept, replaced = {"deep": [1, {"a": 2}]}, {"deep": [1]}
    before = {"domain": "acme.io", "profile": kept, "title": "old"}
    after = {**before, "title": "new", "email": None, "profile": kept}
    assert context_changes(before, after) == {"title": "new", "email": None}
    assert context_changes(before, {**before, "profile": replaced}) == {"profile": replaced}
    assert context_changes(before, dict(before)) == {}
    # A step that dropped a key cannot be rebuilt from changes: the whole context is sent.
    assert context_changes(before, {"domain": "acme.io"}) is None


async def test_every_stored_context_is_the_one_the_engine_worked_with(
    pipeline: PipelineHarness, database: Database
) -> None:
    blueprint = await pipeline.blueprint("contexts", STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed", status["summary"]
    async with database.engine.connect() as conn:
        steps = (
            await conn.execute(
                text(
                    "SELECT s.id, s.pipeline_run_id, s.step_position, s.status, s.input_payload, "
                    f"s.output_payload, {repo.cumulative_context('s')} AS context, "
                    "r.entity_input, r.start_from_position FROM step_results s "
                    "JOIN pipeline_runs r ON r.id = s.pipeline_run_id "
                    "WHERE s.submission_id = :submission ORDER BY s.pipeline_run_id, s.step_position"
                ),
                {"submission": submission},
            )
        ).all()
        op_runs = {
            row.step_result_id: row
            for row in await conn.execute(
                text(
                    "SELECT step_result_id, input_payload, output_payload FROM operation_runs "
                    "WHERE submission_id = :s"
                ),
                {"s": submission},
            )
        }
    by_run: dict[object, list] = {}
    for step in steps:
        by_run.setdefault(step.pipeline_run_id, []).append(step)
    assert len(by_run) == 3  # the company and its two people
    skipped = 0
    for run_steps in by_run.values():
        first = run_steps[0]
        assert first.step_position == first.start_from_position
        assert first.input_payload == first.entity_input
        for previous, step in pairwise(run_steps):
            assert step.input_payload == previous.context
        for step in run_steps:
            context = step.context
            if step.status == "skipped":
                skipped += 1
                assert context == step.input_payload
            else:
                assert step.status == "succeeded"
                assert op_runs[step.id].input_payload is None  # the step's input is its run's
                output = op_runs[step.id].output_payload or {}
                assert context == {**step.input_payload, **output, "_lineage": context["_lineage"]}
    assert skipped >= 3  # the company's steps after its fan-out, and each person's last step


async def test_clients_read_each_step_output_whole_from_what_was_stored_once(
    pipeline: PipelineHarness, database: Database
) -> None:
    """A step row stores its changes to its context, and its operation result without the providers'
    answers and the output (stored with the operation run); the run's detail reads them back whole."""
    blueprint = await pipeline.blueprint("outputs", STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    async with database.engine.connect() as conn:
        stored = {
            row.id: row
            for row in await conn.execute(
                text(
                    f"SELECT id, pipeline_run_id, {repo.cumulative_context('s')} AS context, "
                    "jsonb_path_exists(output_payload, "
                    "'$.operation_result.provider_attempts[*].raw_response') AS holds_answers "
                    "FROM step_results s "
                    "WHERE submission_id = :submission"
                ),
                {"submission": submission},
            )
        }
        outputs = {
            str(row.run_id): row.output_payload
            for row in await conn.execute(
                text("SELECT run_id, output_payload FROM operation_runs WHERE submission_id = :submission"),
                {"submission": submission},
            )
        }
        answers = {
            (str(row.run_id), row.sequence): row.raw_response
            for row in await conn.execute(
                text(
                    "SELECT run_id, sequence, raw_response FROM operation_attempts "
                    "WHERE run_id IN (SELECT run_id FROM operation_runs WHERE submission_id = :submission)"
                ),
                {"submission": submission},
            )
        }
    assert not any(row.holds_answers for row in stored.values())
    checked = 0
    for run_id in {row.pipeline_run_id for row in stored.values()}:
        detail = (await pipeline.post("/api/pipeline-runs/get", {"id": str(run_id)})).json()["data"]
        for step in detail["step_results"]:
            output = step["output_payload"]
            assert repo.CONTEXT_CHANGES not in output
            context = stored[uuid.UUID(step["id"])].context
            assert output["cumulative_context"] == {k: v for k, v in context.items() if k != "_lineage"}
            result = output.get("operation_result")
            if result is None:
                continue
            assert not {history.ANSWERS_OF, history.OUTPUT_OF} & set(result) and result["provider_attempts"]
            assert result.get("output") == outputs[result["run_id"]]
            for sequence, attempt in enumerate(result["provider_attempts"]):
                assert attempt.get("raw_response") == answers.get((result["run_id"], sequence))
                checked += attempt.get("raw_response") is not None
    assert checked >= 4  # the profile's providers, the search, the email resolutions
