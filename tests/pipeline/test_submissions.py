"""Single-payload submissions, the super-admin submission and run endpoints, retries, and the shapes a
client of the original system reads (every step row from submission on, snapshot, input payload)."""

from __future__ import annotations

from sqlalchemy import text

from dex.db.engine import Database
from dex.entities.provenance import expand as expand_provenance
from dex.pipeline import repository as repo
from tests.conftest import PipelineHarness, SandboxHandle

VERIFY = {"position": 1, "operation_id": "person.contact.verify_email"}
ADMIN = {"Authorization": "Bearer test-super-admin-api-key"}
INTERNAL = {"Authorization": "Bearer test-internal-api-key"}
TWO_STEPS = [
    {"position": 1, "operation_id": "company.enrich.profile"},
    {"position": 2, "operation_id": "company.research.check_vc_funding"},
]


async def test_single_payload_submission_runs_the_payload(pipeline: PipelineHarness) -> None:
    await pipeline.executor.stop()  # nothing runs until the queued shapes are read
    blueprint = await pipeline.blueprint("profile", TWO_STEPS)
    payload = {"company_domain": "acme.io"}
    created = await pipeline.post(
        "/api/submissions/create",
        {"company_id": str(pipeline.tenant.company_id), "blueprint_id": blueprint, "input_payload": payload},
    )
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert set(data) == {"submission_id", "pipeline_run_id", "pipeline_run_status", "trigger_run_id"}
    assert data["pipeline_run_status"] == "queued"

    # Before anything ran, the run already shows both steps, queued.
    run = (await pipeline.post("/api/pipeline-runs/get", {"id": data["pipeline_run_id"]})).json()["data"]
    assert [(s["step_position"], s["status"]) for s in run["step_results"]] == [(1, "queued"), (2, "queued")]
    for step in run["step_results"]:
        assert step["org_id"] == str(pipeline.tenant.org_id)
        assert step["company_id"] == str(pipeline.tenant.company_id)
        assert "step_id" in step
    assert run["blueprint_snapshot"]["entity"]["input"] == payload
    assert [s["operation_id"] for s in run["blueprint_snapshot"]["steps"]] == [
        "company.enrich.profile",
        "company.research.check_vc_funding",
    ]

    await pipeline.restart_executor()
    await pipeline.run_until_idle()
    submission = (await pipeline.post("/api/submissions/get", {"id": data["submission_id"]})).json()["data"]
    assert submission["input_payload"] == payload
    assert submission["status"] == "completed"
    assert [r["id"] for r in submission["pipeline_runs"]] == [data["pipeline_run_id"]]
    steps = (
        await pipeline.post("/api/step-results/list", {"pipeline_run_id": data["pipeline_run_id"]})
    ).json()
    assert [s["status"] for s in steps["data"]] == ["succeeded", "succeeded"]
    assert all(s["id"] is not None for s in steps["data"])
    assert steps["pagination"]["has_more"] is False


async def test_an_array_payload_runs_on_an_empty_context(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY], entity_type="person")
    created = await pipeline.post(
        "/api/submissions/create",
        {"company_id": str(pipeline.tenant.company_id), "blueprint_id": blueprint, "input_payload": [1, 2]},
    )
    assert created.status_code == 200, created.text
    await pipeline.run_until_idle()
    data = created.json()["data"]
    submission = (await pipeline.post("/api/submissions/get", {"id": data["submission_id"]})).json()["data"]
    assert submission["input_payload"] == [1, 2]
    run = (await pipeline.post("/api/pipeline-runs/get", {"id": data["pipeline_run_id"]})).json()["data"]
    assert run["entity_type"] == "person"
    assert run["status"] == "failed"  # verify_email has no email to verify: missing input
    assert run["step_results"][0]["output_payload"]["operation_result"]["missing_inputs"] == ["email"]


async def test_single_payload_errors(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY])
    not_json_object = await pipeline.post(
        "/api/submissions/create", {"blueprint_id": blueprint, "input_payload": "text"}
    )
    assert not_json_object.status_code == 422
    assert "error" in not_json_object.json() and isinstance(not_json_object.json()["detail"], list)
    # Without company_id, an org with one company submits for it (as batches do).
    only_company = await pipeline.post(
        "/api/submissions/create", {"blueprint_id": blueprint, "input_payload": {}}
    )
    assert only_company.status_code == 200, only_company.text
    unknown = await pipeline.post(
        "/api/submissions/create",
        {
            "company_id": str(pipeline.tenant.company_id),
            "blueprint_id": "00000000-0000-0000-0000-000000000001",
            "input_payload": {},
        },
    )
    assert unknown.status_code == 400 and unknown.json() == {
        "error": "blueprint not found or inactive for org"
    }


async def test_super_admin_submissions_runs_steps_and_retry(pipeline: PipelineHarness) -> None:
    tenant = pipeline.tenant
    blueprint = await pipeline.blueprint("verify", [VERIFY], entity_type="person")
    body = {
        "org_id": str(tenant.org_id),
        "company_id": str(tenant.company_id),
        "blueprint_id": blueprint,
        "input_payload": {"email": "ava@acme.io"},
        "source": "ops",
        "metadata": {"ticket": 7},
    }
    created = await pipeline.client.post("/api/super-admin/submissions/create", json=body, headers=ADMIN)
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    await pipeline.run_until_idle()

    listed = await pipeline.client.post("/api/super-admin/submissions/list", json={}, headers=ADMIN)
    assert [row["id"] for row in listed.json()["data"]] == [data["submission_id"]]
    assert listed.json()["data"][0]["source"] == "ops" and listed.json()["data"][0]["metadata"] == {
        "ticket": 7
    }
    in_org = await pipeline.client.post(
        "/api/super-admin/submissions/list",
        json={"org_id": str(tenant.org_id), "status": "completed"},
        headers=ADMIN,
    )
    assert len(in_org.json()["data"]) == 1
    got = await pipeline.client.post(
        "/api/super-admin/submissions/get", json={"id": data["submission_id"]}, headers=ADMIN
    )
    assert got.json()["data"]["input_payload"] == {"email": "ava@acme.io"}
    assert got.json()["data"]["pipeline_runs"][0]["id"] == data["pipeline_run_id"]

    runs = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/list", json={"submission_id": data["submission_id"]}, headers=ADMIN
    )
    assert [run["id"] for run in runs.json()["data"]] == [data["pipeline_run_id"]]
    run = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/get", json={"id": data["pipeline_run_id"]}, headers=ADMIN
    )
    assert run.json()["data"]["status"] == "succeeded"
    assert run.json()["data"]["blueprint_snapshot"]["steps"][0]["operation_id"] == VERIFY["operation_id"]
    steps = await pipeline.client.post(
        "/api/super-admin/step-results/list", json={"pipeline_run_id": data["pipeline_run_id"]}, headers=ADMIN
    )
    assert [s["status"] for s in steps.json()["data"]] == ["succeeded"]

    retried = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/retry", json={"submission_id": data["submission_id"]}, headers=ADMIN
    )
    assert retried.status_code == 200, retried.text
    again = retried.json()["data"]
    assert again["attempt"] == 2 and again["pipeline_run_id"] != data["pipeline_run_id"]
    await pipeline.run_until_idle()
    new_run = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/get", json={"id": again["pipeline_run_id"]}, headers=ADMIN
    )
    assert new_run.json()["data"]["attempt"] == 2 and new_run.json()["data"]["status"] == "succeeded"
    assert new_run.json()["data"]["entity_input"] == {"email": "ava@acme.io"}


async def test_retry_of_a_batch_runs_every_entity_again_with_its_own_input(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY], entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "a@acme.io"}, {"email": "b@acme.io"}], "person")
    await pipeline.run_until_idle()
    retried = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/retry", json={"submission_id": submission}, headers=ADMIN
    )
    runs = retried.json()["data"]["pipeline_runs"]
    assert [run["entity_index"] for run in runs] == [0, 1]
    await pipeline.run_until_idle()
    inputs = []
    for run in runs:
        got = await pipeline.client.post(
            "/api/super-admin/pipeline-runs/get", json={"id": run["pipeline_run_id"]}, headers=ADMIN
        )
        inputs.append(got.json()["data"]["entity_input"]["email"])
    assert inputs == ["a@acme.io", "b@acme.io"]
    status = await pipeline.status(submission)
    # The submission counts the latest attempt of each entity: the retry's two runs.
    assert status["summary"]["total"] == 2 and status["summary"]["completed"] == 2


async def test_a_successful_retry_completes_a_failed_submission(
    pipeline: PipelineHarness, sandbox: SandboxHandle
) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY], entity_type="person")
    # Both verifiers fail both step attempts (max_attempts=2 in tests): the first attempt's run fails.
    sandbox.state.script_faults("millionverifier", ["503"] * 6)
    sandbox.state.script_faults("reoon", ["503"] * 6)
    submission = await pipeline.submit(blueprint, [{"email": "eve@acme.io"}], "person")
    await pipeline.run_until_idle()
    before = await pipeline.status(submission)
    assert before["submission"]["status"] == "failed"
    assert [run["status"] for run in before["runs"]] == ["failed"]

    await pipeline.executor.stop()  # the retry's runs stay queued until they are looked at
    retried = await pipeline.client.post(
        "/api/super-admin/pipeline-runs/retry", json={"submission_id": submission}, headers=ADMIN
    )
    assert retried.status_code == 200, retried.text
    # The retry's runs are what the submission waits for now.
    assert (await pipeline.status(submission))["submission"]["status"] == "queued"
    await pipeline.restart_executor()
    await pipeline.run_until_idle()
    after = await pipeline.status(submission)
    assert after["submission"]["status"] == "completed", after["summary"]
    assert (after["summary"]["total"], after["summary"]["completed"], after["summary"]["failed"]) == (1, 1, 0)

    # A recount agrees, and the superseded failed run is not resumed behind the retry's back.
    synced = await pipeline.client.post(
        "/api/internal/submissions/sync-status",
        json={"submission_id": submission},
        headers=INTERNAL | {"x-internal-org-id": str(pipeline.tenant.org_id)},
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["data"]["status"] == "completed"
    resumed = await pipeline.post("/api/v1/batch/resume", {"submission_id": submission})
    assert resumed.json()["data"]["resumed_run_ids"] == []
    failed_run = before["runs"][0]["pipeline_run_id"]
    refused = await pipeline.post("/api/v1/batch/resume", {"pipeline_run_id": failed_run})
    assert refused.status_code == 400 and "superseded" in refused.json()["error"]


async def test_super_admin_errors(pipeline: PipelineHarness) -> None:
    missing = "00000000-0000-0000-0000-000000000009"
    cases = [
        ("/api/super-admin/submissions/get", {"id": missing}, 404, "Submission not found"),
        ("/api/super-admin/pipeline-runs/get", {"id": missing}, 404, "Pipeline run not found"),
        ("/api/super-admin/pipeline-runs/retry", {"submission_id": missing}, 404, "Submission not found"),
        ("/api/super-admin/step-results/list", {"pipeline_run_id": missing}, 404, "Pipeline run not found"),
    ]
    for path, body, status, message in cases:
        response = await pipeline.client.post(path, json=body, headers=ADMIN)
        assert (response.status_code, response.json()) == (status, {"error": message}), path
        tenant_token = await pipeline.post(path, body)
        assert tenant_token.status_code == 401, path


async def test_mixed_entity_types_in_one_batch(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY])
    body = {
        "blueprint_id": blueprint,
        "company_id": str(pipeline.tenant.company_id),
        "entities": [
            {"entity_type": "person", "input": {"email": "a@acme.io"}},
            {"entity_type": "company", "input": {"company_domain": "acme.io"}},
        ],
    }
    response = await pipeline.post("/api/v1/batch/submit", body)
    assert response.status_code == 200, response.text
    assert [run["entity_type"] for run in response.json()["data"]["pipeline_runs"]] == ["person", "company"]
    await pipeline.run_until_idle()
    status = await pipeline.status(response.json()["data"]["submission_id"])
    assert [run["entity_type"] for run in status["runs"]] == ["person", "company"]


async def test_lists_without_paging_return_everything_and_say_when_capped(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", [VERIFY], entity_type="person")
    await pipeline.submit(blueprint, [{"email": f"p{i}@acme.io"} for i in range(120)], "person")
    runs = (await pipeline.post("/api/pipeline-runs/list", {})).json()
    assert len(runs["data"]) == 120 and runs["pagination"]["has_more"] is False
    page = (await pipeline.post("/api/pipeline-runs/list", {"limit": 50, "offset": 60})).json()
    assert page["pagination"] == {"total": 120, "limit": 50, "offset": 60, "returned": 50, "has_more": True}


def _has_lineage(value: object) -> bool:
    if isinstance(value, dict):
        return "_lineage" in value or any(_has_lineage(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_lineage(item) for item in value)
    return False


async def test_no_lineage_key_in_what_clients_read(pipeline: PipelineHarness, database: Database) -> None:
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
        {"position": 3, "operation_id": "person.contact.resolve_email"},
    ]
    blueprint = await pipeline.blueprint("people", steps)
    submission = await pipeline.submit(blueprint, [{"company_domain": "acme.io"}])
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    assert status["runs"][0]["children"], status
    assert not _has_lineage(status)
    runs = (await pipeline.post("/api/pipeline-runs/list", {"submission_id": submission})).json()["data"]
    assert len(runs) == 3 and not _has_lineage(runs)
    for run in runs:
        detail = (await pipeline.post("/api/pipeline-runs/get", {"id": run["id"]})).json()["data"]
        assert detail["step_results"] and not _has_lineage(detail)
    # Provenance is still kept, on the entity.
    async with database.transaction() as session:
        provenance = expand_provenance(
            await session.scalar(
                text("SELECT field_provenance FROM company_entities WHERE canonical_domain = 'acme.io'")
            )
        )["canonical_name"]
        # The stored step records keep the attribution the provenance is built from.
        stored = await session.scalar(
            text(f"SELECT count(*) FROM step_results s WHERE {repo.cumulative_context('s')} ? '_lineage'")
        )
    assert provenance["operation_id"] == "company.enrich.profile" and provenance["provider"]
    assert stored > 0
