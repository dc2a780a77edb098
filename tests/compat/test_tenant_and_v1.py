"""The tenant resource endpoints, single-payload and batch submissions, the super-admin views of runs,
execute, the registry and assembler, entity queries and coverage — driven with the original's request
bodies, answering in its envelopes, row fields and status codes."""

from __future__ import annotations

import uuid

from tests.compat.reference import REFERENCE_ENDPOINTS, TENANT, RecordingClient, has_keys
from tests.conftest import PipelineHarness

ENDPOINTS = {
    *(f"/api/{kind}/{action}" for kind, actions in TENANT.items() for action in actions),
    *(
        f"/api/super-admin/{path}"
        for path in (
            "submissions/create",
            "submissions/list",
            "submissions/get",
            "pipeline-runs/list",
            "pipeline-runs/get",
            "pipeline-runs/retry",
            "step-results/list",
        )
    ),
    *(path for path in REFERENCE_ENDPOINTS if path.startswith("/api/v1/")),
}
ADMIN = {"Authorization": "Bearer test-super-admin-api-key"}
SUBMISSION_FIELDS = ("id", "org_id", "company_id", "blueprint_id", "submitted_by_user_id", "source")
SUBMISSION_FIELDS += ("input_payload", "status", "metadata", "created_at", "updated_at", "pipeline_runs")
RUN_FIELDS = ("id", "org_id", "company_id", "submission_id", "blueprint_id", "trigger_run_id")
RUN_FIELDS += ("blueprint_version", "status", "attempt", "started_at", "finished_at", "error_message")
RUN_FIELDS += ("error_details", "parent_pipeline_run_id", "created_at", "updated_at")
STEP_FIELDS = ("id", "org_id", "company_id", "pipeline_run_id", "submission_id", "step_id")
STEP_FIELDS += ("blueprint_step_id", "step_position", "task_run_id", "status", "input_payload")
STEP_FIELDS += ("output_payload", "error_message", "error_details", "started_at", "finished_at")
STEP_FIELDS += ("duration_ms", "attempt", "created_at", "updated_at")
RESULT_FIELDS = ("run_id", "operation_id", "status", "provider_attempts")


async def test_tenant_and_v1_endpoints(pipeline: PipelineHarness) -> None:
    api = RecordingClient(pipeline.client)
    tenant = pipeline.tenant
    me = tenant.headers
    company_id = str(tenant.company_id)

    companies = await api.data("/api/companies/list", {}, me)
    assert [c["id"] for c in companies] == [company_id]
    assert (await api.data("/api/companies/get", {"id": company_id}, me))["id"] == company_id
    users = await api.data("/api/users/list", {}, me)
    assert (await api.data("/api/users/get", {"id": users[0]["id"]}, me))["role"] == "org_admin"
    assert await api.data("/api/steps/list", {}, me) == []
    assert await api.error("/api/steps/get", {"slug": "nope"}, me, 404) == "Step not found"

    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "company.research.check_vc_funding"},
    ]
    blueprint = await api.data("/api/blueprints/create", {"name": "Profile", "steps": steps}, me)
    assert [s["operation_id"] for s in blueprint["blueprint_steps"]] == [s["operation_id"] for s in steps]
    assert await api.error(
        "/api/blueprints/create", {"name": "Bad", "steps": [{"position": 1, "operation_id": "x.y"}]}, me, 400
    ) == ("Unsupported operation_id values: x.y")
    assert [b["id"] for b in await api.data("/api/blueprints/list", {}, me)] == [blueprint["id"]]
    assert (await api.data("/api/blueprints/get", {"id": blueprint["id"]}, me))["name"] == "Profile"
    updated = await api.data(
        "/api/blueprints/update", {"id": blueprint["id"], "description": "two steps"}, me
    )
    assert updated["description"] == "two steps"

    # One payload, one run.
    single = await api.data(
        "/api/submissions/create",
        {
            "company_id": company_id,
            "blueprint_id": blueprint["id"],
            "input_payload": {"company_domain": "acme.io"},
        },
        me,
    )
    assert set(single) == {"submission_id", "pipeline_run_id", "pipeline_run_status", "trigger_run_id"}
    queued = await api.data("/api/pipeline-runs/get", {"id": single["pipeline_run_id"]}, me)
    has_keys(queued, *RUN_FIELDS, "blueprint_snapshot", "step_results")
    # Every step of the run is listed from submission on; the executor runs meanwhile, so the first may
    # already be under way, and a step not reached yet is a queued placeholder.
    statuses = {s["step_position"]: s["status"] for s in queued["step_results"]}
    assert list(statuses) == [1, 2] and statuses[1] in {"queued", "running", "succeeded"}
    if statuses[1] != "succeeded":
        assert statuses[2] == "queued"

    batch = await api.data(
        "/api/v1/batch/submit",
        {
            "blueprint_id": blueprint["id"],
            "company_id": company_id,
            "entities": [
                {"entity_type": "company", "input": {"company_domain": "globex.com"}},
                # Each entity's type is its own (a person runs the company steps on its employer's domain).
                {"entity_type": "person", "input": {"email": "ava@acme.io", "company_domain": "acme.io"}},
            ],
        },
        me,
    )
    assert set(batch) == {"submission_id", "pipeline_runs"}
    assert set(batch["pipeline_runs"][0]) == {
        "entity_index",
        "entity_type",
        "pipeline_run_id",
        "pipeline_run_status",
        "trigger_run_id",
    }
    assert await api.error(
        "/api/v1/batch/submit",
        {"blueprint_id": blueprint["id"], "company_id": company_id, "entities": []},
        me,
        400,
    ) == ("entities must contain at least one entity")
    await pipeline.run_until_idle()

    status = await api.data("/api/v1/batch/status", {"submission_id": batch["submission_id"]}, me)
    has_keys(status, "submission", "summary", "runs")
    assert set(status["summary"]) == {"total", "completed", "failed", "pending", "running"}
    node = status["runs"][0]
    has_keys(
        node, "entity_index", "entity_type", "pipeline_run_id", "parent_pipeline_run_id", "trigger_run_id"
    )
    has_keys(node, "status", "final_context", "error_message", "children")
    assert node["final_context"]["company_domain"] == "globex.com"

    submissions = await api.data("/api/submissions/list", {}, me)
    assert {s["id"] for s in submissions} == {single["submission_id"], batch["submission_id"]}
    got = await api.data("/api/submissions/get", {"id": single["submission_id"]}, me)
    has_keys(got, *SUBMISSION_FIELDS)
    assert got["input_payload"] == {"company_domain": "acme.io"}
    runs = await api.data("/api/pipeline-runs/list", {"submission_id": batch["submission_id"]}, me)
    assert len(runs) == 2
    has_keys(runs[0], *RUN_FIELDS)
    step_rows = await api.data("/api/step-results/list", {"pipeline_run_id": single["pipeline_run_id"]}, me)
    has_keys(step_rows[0], *STEP_FIELDS)
    assert [s["status"] for s in step_rows] == ["succeeded", "succeeded"]
    assert set(step_rows[0]["output_payload"]) >= {"operation_result", "cumulative_context"}
    missing = str(uuid.uuid4())
    assert await api.error("/api/pipeline-runs/get", {"id": missing}, me, 404) == "Pipeline run not found"
    assert await api.error("/api/submissions/get", {"id": missing}, me, 404) == "Submission not found"

    # The super-admin views, by id or filtered by org.
    org_id = str(tenant.org_id)
    admin_single = await api.data(
        "/api/super-admin/submissions/create",
        {
            "org_id": org_id,
            "company_id": company_id,
            "blueprint_id": blueprint["id"],
            "input_payload": {"company_domain": "initech.com"},
        },
        ADMIN,
    )
    assert len(await api.data("/api/super-admin/submissions/list", {"org_id": org_id}, ADMIN)) == 3
    assert (await api.data("/api/super-admin/submissions/get", {"id": admin_single["submission_id"]}, ADMIN))[
        "pipeline_runs"
    ]
    assert len(await api.data("/api/super-admin/pipeline-runs/list", {"org_id": org_id}, ADMIN)) == 4
    admin_run = await api.data(
        "/api/super-admin/pipeline-runs/get", {"id": admin_single["pipeline_run_id"]}, ADMIN
    )
    has_keys(admin_run, *RUN_FIELDS, "blueprint_snapshot", "step_results")
    admin_steps = await api.data(
        "/api/super-admin/step-results/list", {"pipeline_run_id": admin_single["pipeline_run_id"]}, ADMIN
    )
    assert [s["step_position"] for s in admin_steps] == [1, 2]
    retried = await api.data(
        "/api/super-admin/pipeline-runs/retry", {"submission_id": single["submission_id"]}, ADMIN
    )
    has_keys(retried, "submission_id", "pipeline_run_id", "pipeline_run_status", "trigger_run_id")
    assert await api.error(
        "/api/super-admin/pipeline-runs/retry", {"submission_id": missing}, ADMIN, 404
    ) == ("Submission not found")
    await pipeline.run_until_idle()

    result = await api.data(
        "/api/v1/execute",
        {
            "operation_id": "person.contact.verify_email",
            "entity_type": "person",
            "input": {"email": "ava@acme.io"},
        },
        me,
    )
    has_keys(result, *RESULT_FIELDS, "output")
    assert result["status"] == "verified"
    failed = await api.data(
        "/api/v1/execute",
        {"operation_id": "person.contact.verify_email", "entity_type": "person", "input": {}},
        me,
    )
    assert (failed["status"], failed["missing_inputs"], failed["provider_attempts"]) == (
        "failed",
        ["email"],
        [],
    )
    assert await api.error(
        "/api/v1/execute", {"operation_id": "nope", "entity_type": "person", "input": {}}, me, 400
    ) == ("Unsupported operation_id: nope")
    assert await api.error(
        "/api/v1/execute",
        {"operation_id": "company.enrich.profile", "entity_type": "person", "input": {}},
        me,
        400,
    ) == ("entity_type must be company for company operations")

    # The registry needs a credential in dex (it was open to anyone; see docs/compatibility.md).
    assert await api.error("/api/v1/registry/operations", {}, None, 401) == "Missing authorization token"
    registry = await api.data("/api/v1/registry/operations", {"entity_type": "company"}, me)
    assert set(registry) == {"operations", "count"} and registry["count"] == len(registry["operations"])
    assembled = await api.data(
        "/api/v1/blueprints/assemble",
        {"mode": "fields", "entity_type": "company", "desired_fields": ["company_name", "industry_primary"]},
        ADMIN,
    )
    has_keys(assembled, "name", "entity_type", "desired_fields", "steps", "unresolvable_fields")
    assert [s["operation_id"] for s in assembled["steps"]] == ["company.enrich.profile"]
    assert await api.error(
        "/api/v1/blueprints/assemble", {"mode": "fields", "desired_fields": []}, ADMIN, 400
    ) == ("desired_fields is required when mode=fields")

    companies_page = await api.data("/api/v1/entities/companies", {"canonical_domain": "GLOBEX.com"}, me)
    has_keys(companies_page, "items", "pagination")
    assert set(companies_page["pagination"]) >= {"page", "per_page", "returned"}
    globex = companies_page["items"][0]
    assert globex["canonical_domain"] == "globex.com"
    persons = await api.data("/api/v1/entities/persons", {"work_email": "AVA@acme.io"}, me)
    assert [p["work_email"] for p in persons["items"]] == ["ava@acme.io"]
    timeline = await api.data(
        "/api/v1/entities/timeline", {"entity_type": "company", "entity_id": globex["entity_id"]}, me
    )
    has_keys(timeline, "entity_type", "entity_id", "items", "pagination")
    assert timeline["items"]
    snapshots = await api.data(
        "/api/v1/entities/snapshots",
        {"entity_type": "company", "entity_id": globex["entity_id"], "limit": 5},
        me,
    )
    has_keys(snapshots, "entity_type", "entity_id", "items", "returned")

    coverage = await api.data("/api/v1/coverage/check", {"domain": "https://www.globex.com/"}, me)
    has_keys(coverage, "target", "customers", "competitors", "similar_companies", "alumni", "champions")
    has_keys(coverage, "people", "overall_readiness", "recommendation")
    assert coverage["target"]["enriched"] is True
    assert await api.error("/api/v1/coverage/check", {"domain": "  "}, me, 400) == "domain is required"

    assert api.called == ENDPOINTS
