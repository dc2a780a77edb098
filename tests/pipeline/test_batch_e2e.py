"""Pipelines end to end through HTTP on the sandbox: linear, conditional, failed, fan-out, cancel, resume."""

from __future__ import annotations

from sqlalchemy import text

from dex.db.engine import Database
from dex.entities import provenance, timeline
from tests.conftest import PipelineHarness, SandboxHandle

VERIFY = {"position": 1, "operation_id": "person.contact.verify_email"}


async def test_linear_person_pipeline_completes_and_upserts(
    pipeline: PipelineHarness, database: Database
) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY])
    submission = await pipeline.submit(
        blueprint, [{"email": "ava@acme.io", "full_name": "Ava Patel"}, {"email": "ben@acme.io"}], "person"
    )
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed"
    assert status["summary"] == {"total": 2, "completed": 2, "failed": 0, "pending": 0, "running": 0}
    first = status["runs"][0]
    assert first["status"] == "completed"
    assert first["final_context"]["verification"]["provider"] in {"millionverifier", "reoon"}
    async with database.transaction() as session:
        people = (
            await session.execute(text("SELECT work_email, record_version FROM person_entities ORDER BY 1"))
        ).all()
        events = (
            (await session.execute(text(f"SELECT metadata->>'event_type' FROM {timeline.EVENTS} e")))
            .scalars()
            .all()
        )
    assert people == [("ava@acme.io", 1), ("ben@acme.io", 1)]
    assert events.count("step_execution") == 2 and events.count("entity_upsert") == 2


async def test_condition_skips_step_and_missing_inputs_fail_the_run(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint(
        "conditional",
        [{**VERIFY, "step_config": {"condition": {"field": "email", "op": "icontains", "value": "@acme"}}}],
        entity_type="person",
    )
    submission = await pipeline.submit(blueprint, [{"email": "x@other.io"}, {"email": "y@acme.io"}], "person")
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert [run["status"] for run in status["runs"]] == ["completed", "completed"]
    skipped_run = await pipeline.post("/api/pipeline-runs/get", {"id": status["runs"][0]["pipeline_run_id"]})
    step = skipped_run.json()["data"]["step_results"][0]
    assert step["status"] == "skipped" and step["output_payload"]["skip_reason"] == "condition_not_met"


DEMO_STEPS = [
    {"position": 1, "operation_id": "company.enrich.profile"},
    {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 3}},
    {"position": 3, "operation_id": "person.contact.resolve_email"},
    {"position": 4, "operation_id": "person.contact.verify_email"},
]


async def test_fan_out_children_continue_at_the_next_step(
    pipeline: PipelineHarness, database: Database
) -> None:
    blueprint = await pipeline.blueprint("people", DEMO_STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}, {"company_domain": "globex.com"}])
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed", status["summary"]
    assert status["summary"]["total"] == 2 + 6
    root = status["runs"][0]
    assert root["status"] == "completed" and len(root["children"]) == 3
    child = root["children"][0]
    assert child["entity_type"] == "person"
    assert child["final_context"]["email"].endswith("@acme.io")
    assert "results" not in child["final_context"]  # the parent's list is not copied into every child
    parent_steps = (await pipeline.post("/api/pipeline-runs/get", {"id": root["pipeline_run_id"]})).json()[
        "data"
    ]
    statuses = [(s["step_position"], s["status"]) for s in parent_steps["step_results"]]
    assert statuses == [(1, "succeeded"), (2, "succeeded"), (3, "skipped"), (4, "skipped")]
    assert parent_steps["step_results"][1]["output_payload"]["fan_out"]["child_count_created"] == 3
    # Search results show each provider's own item as ``raw``; neither children nor entities copy it.
    found = parent_steps["step_results"][1]["output_payload"]["operation_result"]["output"]["results"]
    assert all(item["raw"]["person"] for item in found)
    assert all("raw" not in child["final_context"] for child in root["children"])
    async with database.transaction() as session:
        counts = (
            await session.execute(
                text("SELECT (SELECT count(*) FROM company_entities), (SELECT count(*) FROM person_entities)")
            )
        ).one()
    assert tuple(counts) == (2, 6)
    async with database.transaction() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT jsonb_array_length(canonical_payload->'results'),"
                    " jsonb_path_exists(canonical_payload, '$.results[*].raw')"
                    " FROM company_entities WHERE canonical_domain = 'acme.io'"
                )
            )
        ).one()
    assert tuple(stored) == (3, False)
    async with database.transaction() as session:
        company = (
            await session.execute(
                text("SELECT field_provenance FROM company_entities WHERE canonical_domain = 'acme.io'")
            )
        ).scalar_one()
        person = (
            await session.execute(
                text("SELECT field_provenance FROM person_entities WHERE work_email LIKE '%@acme.io' LIMIT 1")
            )
        ).scalar_one()
    company, person = provenance.expand(company), provenance.expand(person)
    # Each field names the operation and provider that produced it.
    assert company["canonical_name"]["operation_id"] == "company.enrich.profile"
    assert company["canonical_name"]["provider"] == "prospeo"
    assert person["work_email"]["operation_id"] == "person.contact.resolve_email"
    assert person["linkedin_url"]["operation_id"] == "person.search"


async def test_fan_out_children_are_deduplicated_across_the_submission(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("dupes", DEMO_STEPS)
    # The same company twice: its people are discovered twice, but each person runs once.
    submission = await pipeline.submit(
        blueprint, [{"domain": "initech.com"}, {"domain": "https://www.initech.com/"}]
    )
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    children = [child for run in status["runs"] for child in run["children"]]
    assert len(children) == 3
    assert status["summary"]["total"] == 5


async def test_failed_step_fails_the_run_and_skips_the_rest(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint(
        "fails",
        [
            {"position": 1, "operation_id": "person.contact.verify_email"},
            {"position": 2, "operation_id": "person.contact.verify_email"},
        ],
        entity_type="person",
    )
    submission = await pipeline.submit(blueprint, [{"full_name": "No Email"}], "person")
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    run = status["runs"][0]
    assert (status["submission"]["status"], run["status"]) == ("failed", "failed")
    assert run["error_message"] == "Operation failed: person.contact.verify_email"
    steps = (await pipeline.post("/api/pipeline-runs/get", {"id": run["pipeline_run_id"]})).json()["data"][
        "step_results"
    ]
    assert [s["status"] for s in steps] == ["failed", "skipped"]
    assert steps[1]["output_payload"]["skip_reason"] == "upstream_step_failed"


async def test_transient_failures_are_retried(pipeline: PipelineHarness, sandbox: SandboxHandle) -> None:
    blueprint = await pipeline.blueprint("retry", [VERIFY], entity_type="person")
    # Both verifiers fail every HTTP try of the first step attempt (3 tries each), then recover.
    sandbox.state.script_faults("millionverifier", ["503"] * 3)
    sandbox.state.script_faults("reoon", ["503"] * 3)
    submission = await pipeline.submit(blueprint, [{"email": "cara@acme.io"}], "person")
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["runs"][0]["status"] == "completed"
    steps = (
        await pipeline.post("/api/pipeline-runs/get", {"id": status["runs"][0]["pipeline_run_id"]})
    ).json()["data"]
    assert steps["step_results"][0]["attempt"] == 2


async def test_resume_continues_a_failed_run_from_its_failed_step(
    pipeline: PipelineHarness, sandbox: SandboxHandle
) -> None:
    blueprint = await pipeline.blueprint("resume", [VERIFY], entity_type="person")
    # Fail both step attempts (max_attempts=2 in tests) with persistent provider errors.
    sandbox.state.script_faults("millionverifier", ["503"] * 6)
    sandbox.state.script_faults("reoon", ["503"] * 6)
    submission = await pipeline.submit(blueprint, [{"email": "dan@acme.io"}], "person")
    await pipeline.run_until_idle()
    assert (await pipeline.status(submission))["submission"]["status"] == "failed"
    resumed = await pipeline.post("/api/v1/batch/resume", {"submission_id": submission})
    assert resumed.status_code == 200 and len(resumed.json()["data"]["resumed_run_ids"]) == 1
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert (status["submission"]["status"], status["runs"][0]["status"]) == ("completed", "completed")
    again = await pipeline.post("/api/v1/batch/resume", {"submission_id": submission})
    assert again.json()["data"]["resumed_run_ids"] == []
    # The step's timeline keeps the failure its row no longer holds, before the success it holds now.
    person = (await pipeline.post("/api/v1/entities/persons", {"work_email": "dan@acme.io"})).json()
    steps = {
        "entity_type": "person",
        "entity_id": person["data"]["items"][0]["entity_id"],
        "pipeline_run_id": status["runs"][0]["pipeline_run_id"],
        "event_type": "step_execution",
    }
    events = (await pipeline.post("/api/v1/entities/timeline", steps)).json()["data"]["items"]
    assert [(event["status"], event["metadata"]["step_status"]) for event in events] == [
        ("found", "succeeded"),
        ("failed", "failed"),
    ]
    assert events[1]["metadata"]["error_message"] and events[0]["metadata"]["error_message"] is None


async def test_cancel_skips_queued_work(pipeline: PipelineHarness) -> None:
    await pipeline.executor.stop()  # nothing runs: every step is still queued when we cancel
    blueprint = await pipeline.blueprint("cancel", DEMO_STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": f"c{i}.io"} for i in range(5)])
    canceled = await pipeline.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["data"] == {
        "submission_id": submission,
        "status": "canceled",
        "canceled_runs": 5,
        "skipped_steps": 5,
    }
    status = await pipeline.status(submission)
    assert {run["status"] for run in status["runs"]} == {"failed"}  # canceled maps to failed for clients
    steps = (
        await pipeline.post("/api/pipeline-runs/get", {"id": status["runs"][0]["pipeline_run_id"]})
    ).json()["data"]
    assert [s["status"] for s in steps["step_results"]] == ["skipped"] * 4


async def test_idempotency_key_returns_the_first_submission(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("idem", [VERIFY], entity_type="person")
    body = {
        "blueprint_id": blueprint,
        "company_id": str(pipeline.tenant.company_id),
        "entities": [{"entity_type": "person", "input": {"email": "e@acme.io"}}],
    }
    first = await pipeline.post("/api/v1/batch/submit", body, headers={"Idempotency-Key": "abc"})
    second = await pipeline.post("/api/v1/batch/submit", body, headers={"Idempotency-Key": "abc"})
    assert first.json()["data"]["submission_id"] == second.json()["data"]["submission_id"]
    third = await pipeline.post("/api/v1/batch/submit", body, headers={"Idempotency-Key": "other"})
    assert third.json()["data"]["submission_id"] != first.json()["data"]["submission_id"]


async def test_nested_fan_out_reaches_grandchildren(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint(
        "nested",
        [
            {"position": 1, "operation_id": "company.search", "fan_out": True, "step_config": {"limit": 2}},
            {
                "position": 2,
                "operation_id": "person.search",
                "fan_out": True,
                "step_config": {"max_results": 2},
            },
            {"position": 3, "operation_id": "person.contact.resolve_email"},
        ],
    )
    submission = await pipeline.submit(blueprint, [{"query": "acme"}])
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed", status["summary"]
    root = status["runs"][0]
    companies = root["children"]
    assert companies and all(c["entity_type"] == "company" for c in companies)
    people = [p for c in companies for p in c["children"]]
    assert people and all(p["entity_type"] == "person" and p["final_context"].get("email") for p in people)
    assert status["summary"]["total"] == 1 + len(companies) + len(people)


async def test_a_small_batch_is_not_starved_by_a_huge_one(
    pipeline: PipelineHarness, database: Database
) -> None:
    from tests.conftest import create_tenant

    await pipeline.executor.stop()
    other = await create_tenant(database, "small-org")
    small = PipelineHarness(pipeline.client, pipeline.executor, other)
    big_blueprint = await pipeline.blueprint("big", [VERIFY], entity_type="person")
    small_blueprint = await small.blueprint("small", [VERIFY], entity_type="person")
    await pipeline.submit(big_blueprint, [{"email": f"p{i}@big.io"} for i in range(200)], "person")
    await small.submit(small_blueprint, [{"email": f"q{i}@small.io"} for i in range(4)], "person")
    # One claim of 20 slots with both orgs ready: the small org gets its share at once.
    from dex.pipeline.claims import claim

    async with database.transaction() as session:
        claimed = await claim(
            session, pipeline.executor.plans, worker="fairness-test", lease_seconds=30, capacity=20
        )
    by_org = {step.org_id for step in claimed if step.org_id == other.org_id}
    assert len(claimed) == 20 and by_org == {other.org_id}
    assert sum(step.org_id == other.org_id for step in claimed) == 4
