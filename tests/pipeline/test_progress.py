"""A context is sent to the database once (``dex.pipeline.progress``): a step's input is read from the step
it follows or from its run's input, a finished step sends only what it changed, an operation run reads its
input from its step. What readers see must be exactly the contexts the engine worked with."""

from __future__ import annotations

from itertools import pairwise

from sqlalchemy import text

from dex.db.engine import Database
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
                    "s.output_payload, r.entity_input, r.start_from_position FROM step_results s "
                    "JOIN pipeline_runs r ON r.id = s.pipeline_run_id "
                    "WHERE s.submission_id = :submission ORDER BY s.pipeline_run_id, s.step_position"
                ),
                {"submission": submission},
            )
        ).all()
        op_inputs = dict(
            (
                await conn.execute(
                    text("SELECT step_result_id, input_payload FROM operation_runs WHERE submission_id = :s"),
                    {"s": submission},
                )
            ).all()
        )
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
            assert step.input_payload == previous.output_payload["cumulative_context"]
        for step in run_steps:
            context = step.output_payload["cumulative_context"]
            if step.status == "skipped":
                skipped += 1
                assert context == step.input_payload
            else:
                assert step.status == "succeeded"
                assert op_inputs[step.id] == step.input_payload
                output = step.output_payload["operation_result"].get("output") or {}
                assert context == {**step.input_payload, **output, "_lineage": context["_lineage"]}
    assert skipped >= 3  # the company's steps after its fan-out, and each person's last step
