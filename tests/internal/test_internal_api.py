"""The internal API an external runner drives runs with: off without INTERNAL_API_KEY, the key and the org
header required, a scripted runner (the original's call sequence) taking runs to completion, legal
transitions only, and nothing of another org reachable."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.entities import timeline
from dex.internal import service as internal
from dex.operations import repository as history
from dex.pipeline import repository as repo
from dex.pipeline.models import PipelineRun
from dex.pipeline.progress import PlanCache
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.context import AuthContext
from tests.conftest import PipelineHarness, Tenant, create_tenant
from tests.pipeline.test_progress import STEPS

INTERNAL = "/api/internal"


class ScriptedRunner:
    """The original runner's sequence (reference §6) against dex's internal API."""

    def __init__(
        self, client: httpx.AsyncClient, settings: Settings, tenant: Tenant, *, org_header: bool = True
    ) -> None:
        self.client = client
        self.tenant = tenant
        key = {"Authorization": f"Bearer {settings.internal_api_key}"}
        # The original runner sends the key alone on internal calls, the org headers only with execute
        # and freshness checks.
        self.org_headers = {**key, "x-internal-org-id": str(tenant.org_id)}
        self.headers = self.org_headers if org_header else key

    async def call(self, path: str, body: dict[str, Any], expected: int = 200) -> Any:
        headers = self.org_headers if path == "entity-state/check-freshness" else self.headers
        response = await self.client.post(f"{INTERNAL}/{path}", json=body, headers=headers)
        assert response.status_code == expected, response.text
        return response.json().get("data")

    async def execute(self, operation_id: str, context: dict[str, Any]) -> dict[str, Any]:
        entity_type = "person" if operation_id.startswith("person.") else "company"
        response = await self.client.post(
            "/api/v1/execute",
            json={"operation_id": operation_id, "entity_type": entity_type, "input": context},
            headers={**self.org_headers, "x-internal-company-id": str(self.tenant.company_id)},
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def step_event(self, run: dict, row: dict, status: str, context: dict, result: dict | None) -> None:
        recorded = await self.call(
            "entity-timeline/record-step-event",
            {
                "org_id": str(self.tenant.org_id),
                "submission_id": run["submission_id"],
                "pipeline_run_id": run["id"],
                "entity_type": "person" if row["operation_id"].startswith("person.") else "company",
                "cumulative_context": context,
                "step_result_id": row["id"],
                "step_position": row["step_position"],
                "operation_id": row["operation_id"],
                "step_status": status,
                "provider_attempts": (result or {}).get("provider_attempts", []),
                "operation_result": result,
                "fields_updated": ["ignored"],
            },
        )
        assert recorded["recorded"] is True

    async def run(self, run_id: str) -> dict[str, Any]:
        run = await self.call("pipeline-runs/get", {"pipeline_run_id": run_id})
        await self.call("pipeline-runs/update-status", {"pipeline_run_id": run_id, "status": "running"})
        await self.call("submissions/sync-status", {"submission_id": run["submission_id"]})
        snapshot = run["blueprint_snapshot"]
        start = (snapshot.get("fan_out") or {}).get("start_from_position") or min(
            row["step_position"] for row in run["step_results"]
        )
        context = dict(snapshot["entity"]["input"])
        rows = {row["step_position"]: row for row in run["step_results"]}
        last_operation = None
        for step in sorted(snapshot["steps"], key=lambda s: s["position"]):
            if step["position"] < start:
                continue
            row = rows[step["position"]]
            update = {"step_result_id": row["id"], "status": "running", "input_payload": context}
            await self.call("step-results/update", update)
            result = await self.execute(step["operation_id"], context)
            context = {**context, **(result.get("output") or {})}
            status = "failed" if result["status"] == "failed" else "succeeded"
            output = {"operation_result": result, "cumulative_context": context}
            await self.call(
                "step-results/update",
                {"step_result_id": row["id"], "status": status, "output_payload": output},
            )
            await self.step_event(run, row, status, context, result)
            if status == "failed":
                body = {"pipeline_run_id": run_id, "from_step_position": step["position"]}
                await self.call("step-results/mark-remaining-skipped", body)
                failed = {"pipeline_run_id": run_id, "status": "failed", "error_message": "Operation failed"}
                await self.call("pipeline-runs/update-status", failed)
                return await self.call("submissions/sync-status", {"submission_id": run["submission_id"]})
            last_operation = step["operation_id"]
            if step["fan_out"]:
                await self.call(
                    "pipeline-runs/fan-out",
                    {
                        "parent_pipeline_run_id": run_id,
                        "submission_id": run["submission_id"],
                        "org_id": str(self.tenant.org_id),
                        "company_id": str(self.tenant.company_id),
                        "blueprint_snapshot": snapshot,
                        "fan_out_entities": (result.get("output") or {}).get("results", []),
                        "start_from_position": step["position"] + 1,
                        "parent_cumulative_context": context,
                        "fan_out_operation_id": step["operation_id"],
                        "provider_attempts": result["provider_attempts"],
                    },
                )
                break
        await self.call("pipeline-runs/update-status", {"pipeline_run_id": run_id, "status": "succeeded"})
        upsert = {
            "pipeline_run_id": run_id,
            "entity_type": snapshot["entity"]["entity_type"],
            "cumulative_context": context,
            "last_operation_id": last_operation,
        }
        await self.call("entity-state/upsert", upsert)
        return await self.call("submissions/sync-status", {"submission_id": run["submission_id"]})


async def submit(client: httpx.AsyncClient, tenant: Tenant, steps: list[dict], inputs: list[dict]) -> dict:
    created = await client.post(
        "/api/blueprints/create",
        json={"name": f"bp {uuid.uuid4()}", "entity_type": "company", "steps": steps},
        headers=tenant.headers,
    )
    assert created.status_code == 200, created.text
    submitted = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": created.json()["data"]["id"],
            "company_id": str(tenant.company_id),
            "entities": [{"entity_type": "company", "input": i} for i in inputs],
        },
        headers=tenant.headers,
    )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()["data"]


PROFILE_THEN_TECH = [
    {"position": 1, "operation_id": "company.enrich.profile"},
    {"position": 2, "operation_id": "company.enrich.technographics"},
]


@pytest.fixture(params=["org header", "key alone"])
def runner(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant, request: pytest.FixtureRequest
) -> ScriptedRunner:
    """Both ways of calling: with ``x-internal-org-id`` on every call, and as the original runner did
    (the key alone; the org is the one owning the run, step or submission each body names)."""
    return ScriptedRunner(client, settings, tenant, org_header=request.param == "org header")


async def test_a_scripted_runner_takes_a_run_to_completion(
    client: httpx.AsyncClient, tenant: Tenant, runner: ScriptedRunner, database: Database
) -> None:
    submitted = await submit(client, tenant, PROFILE_THEN_TECH, [{"company_domain": "acme.io"}])
    run_id = submitted["pipeline_runs"][0]["pipeline_run_id"]

    taken = await runner.call("pipeline-runs/get", {"pipeline_run_id": run_id})
    # dex creates step rows as a run reaches them; the runner gets them all, out of the executor's queue.
    assert [row["step_position"] for row in taken["step_results"]] == [1, 2]
    assert taken["submissions"]["id"] == submitted["submission_id"]
    assert taken["blueprint_snapshot"]["entity"]["input"] == {"company_domain": "acme.io"}
    assert [s["operation_id"] for s in taken["blueprint_snapshot"]["steps"]] == [
        "company.enrich.profile",
        "company.enrich.technographics",
    ]
    async with database.transaction() as session:
        claimable = await session.scalar(
            text(
                "SELECT count(*) FROM step_results WHERE pipeline_run_id = :id AND available_at IS NOT NULL"
            ),
            {"id": run_id},
        )
    assert claimable == 0

    synced = await runner.run(run_id)
    assert synced["status"] == "completed" and synced["runs_succeeded"] == 1

    status = await client.post(
        "/api/v1/batch/status", json={"submission_id": submitted["submission_id"]}, headers=tenant.headers
    )
    body = status.json()["data"]
    assert body["submission"]["status"] == "completed" and body["summary"]["completed"] == 1
    assert body["runs"][0]["final_context"]["company_domain"] == "acme.io"
    async with database.transaction() as session:
        steps = (
            await session.execute(
                text(
                    "SELECT status, duration_ms, attempt FROM step_results WHERE pipeline_run_id = :id "
                    "ORDER BY step_position"
                ),
                {"id": run_id},
            )
        ).all()
        entity = (
            await session.execute(
                text(
                    "SELECT entity_id, last_run_id, last_operation_id FROM company_entities WHERE org_id = :o"
                ),
                {"o": tenant.org_id},
            )
        ).one()
        events = (
            await session.execute(
                text(
                    f"SELECT metadata ->> 'event_type', entity_id FROM {timeline.EVENTS} e "
                    "WHERE pipeline_run_id = :id ORDER BY created_at"
                ),
                {"id": run_id},
            )
        ).all()
    assert [(s.status, s.attempt) for s in steps] == [("succeeded", 1), ("succeeded", 1)]
    assert all(s.duration_ms is not None for s in steps)
    assert str(entity.last_run_id) == run_id and entity.last_operation_id == "company.enrich.technographics"
    assert sorted(kind for kind, _ in events) == ["entity_upsert", "step_execution", "step_execution"]
    # Step events were re-pointed at the entity the run upserted.
    assert {entity_id for _, entity_id in events} == {entity.entity_id}

    fresh = await runner.call(
        "entity-state/check-freshness",
        {"entity_type": "company", "identifiers": {"domain": "https://www.acme.io/"}, "max_age_hours": 1},
    )
    assert fresh["fresh"] is True and fresh["entity_id"] == str(entity.entity_id)
    assert fresh["canonical_payload"]["company_domain"] == "acme.io"
    stale = {"entity_type": "company", "identifiers": {"domain": "acme.io"}, "max_age_hours": 0}
    assert await runner.call("entity-state/check-freshness", stale) == {
        "fresh": False,
        "entity_id": None,
        "last_enriched_at": None,
        "age_hours": None,
        "canonical_payload": None,
    }


async def test_each_merge_of_a_finished_run_is_an_event_of_the_entity_it_merged_into(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, database: Database
) -> None:
    """The runner may merge a succeeded run's entity again, and an entity of another type found in the run:
    each merge keeps its own ``entity_upsert`` event, on the timeline of the entity it merged into."""
    runner = ScriptedRunner(client, settings, tenant)
    submitted = await submit(client, tenant, PROFILE_THEN_TECH, [{"company_domain": "acme.io"}])
    run_id = submitted["pipeline_runs"][0]["pipeline_run_id"]
    await runner.run(run_id)  # ends with the company's merge
    person = {
        "pipeline_run_id": run_id,
        "entity_type": "person",
        "cumulative_context": {"work_email": "maya@acme.io", "full_name": "Maya Lin"},
        "last_operation_id": "person.contact.resolve_email",
    }
    merged_person = await runner.call("entity-state/upsert", person)
    again = {
        "pipeline_run_id": run_id,
        "entity_type": "company",
        "cumulative_context": {"company_domain": "acme.io", "employee_count": 42},
    }
    merged_company = await runner.call("entity-state/upsert", again)

    async def upserts(entity_type: str, entity_id: str) -> list[dict[str, Any]]:
        query = {"entity_type": entity_type, "entity_id": entity_id, "event_type": "entity_upsert"}
        found = await client.post("/api/v1/entities/timeline", json=query, headers=tenant.headers)
        return found.json()["data"]["items"]

    person_events = await upserts("person", str(merged_person["entity_id"]))
    assert [(e["summary"], e["pipeline_run_id"]) for e in person_events] == [
        ("entity created (version 1)", run_id)
    ]
    assert person_events[0]["metadata"]["pipeline_entity_type"] == "person"
    company_events = await upserts("company", str(merged_company["entity_id"]))
    assert sorted(e["summary"] for e in company_events) == [
        "entity created (version 1)",
        "entity updated (version 2)",
    ]
    # The run's steps stay on the company's timeline.
    async with database.transaction() as session:
        steps = await session.scalar(
            text(
                f"SELECT count(*) FROM {timeline.EVENTS} e WHERE e.pipeline_run_id = :id "
                "AND e.entity_id = :entity AND e.metadata ->> 'event_type' = 'step_execution'"
            ),
            {"id": run_id, "entity": merged_company["entity_id"]},
        )
    assert steps == 2


async def test_fan_out_children_are_created_deduplicated_and_driven_to_completion(
    client: httpx.AsyncClient, tenant: Tenant, runner: ScriptedRunner, database: Database
) -> None:
    steps = [
        {"position": 1, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
        {"position": 2, "operation_id": "person.contact.resolve_email"},
    ]
    submitted = await submit(client, tenant, steps, [{"company_domain": "globex.com"}])
    parent_id = submitted["pipeline_runs"][0]["pipeline_run_id"]
    taken = await runner.call("pipeline-runs/get", {"pipeline_run_id": parent_id})
    await runner.call("pipeline-runs/update-status", {"pipeline_run_id": parent_id, "status": "running"})
    row = taken["step_results"][0]
    await runner.call("step-results/update", {"step_result_id": row["id"], "status": "running"})
    people = [
        {
            "full_name": "Ada Lovelace",
            "linkedin_url": "https://linkedin.com/in/ada",
            "company_domain": "globex.com",
        },
        {
            "full_name": "Alan Turing",
            "linkedin_url": "https://linkedin.com/in/alan",
            "company_domain": "globex.com",
        },
        {"full_name": "Ada L.", "linkedin_url": "https://LinkedIn.com/in/ada/"},  # the same person again
        "not an object",
    ]
    context = {"company_domain": "globex.com", "results": people}
    await runner.call(
        "step-results/update",
        {
            "step_result_id": row["id"],
            "status": "succeeded",
            "output_payload": {"cumulative_context": context},
        },
    )
    body = {
        "parent_pipeline_run_id": parent_id,
        "submission_id": submitted["submission_id"],
        "org_id": str(tenant.org_id),
        "company_id": str(tenant.company_id),
        "fan_out_entities": people,
        "start_from_position": 2,
        "parent_cumulative_context": context,
        "fan_out_operation_id": "person.search",
        "provider": "prospeo",
    }
    fanned = await runner.call("pipeline-runs/fan-out", body)
    assert len(fanned["child_runs"]) == 2 and fanned["skipped_duplicates_count"] == 1
    assert fanned["skipped_duplicate_identifiers"] == ["person:linkedin_url:https://linkedin.com/in/ada"]
    child = fanned["child_runs"][0]
    assert child["entity_type"] == "person" and "results" not in child["entity_input"]
    assert child["entity_input"]["full_name"] == "Ada Lovelace"
    # The parent's later step runs in the children, not in the parent.
    parent = await runner.call("pipeline-runs/get", {"pipeline_run_id": parent_id})
    assert [
        (r["status"], (r["output_payload"] or {}).get("skip_reason")) for r in parent["step_results"]
    ] == [
        ("succeeded", None),
        ("skipped", "continued_in_fan_out_children"),
    ]
    assert parent["step_results"][0]["output_payload"]["fan_out"]["child_count_created"] == 2
    await runner.call("pipeline-runs/update-status", {"pipeline_run_id": parent_id, "status": "succeeded"})
    upsert = {"pipeline_run_id": parent_id, "entity_type": "company", "cumulative_context": context}
    await runner.call("entity-state/upsert", upsert)
    synced = await runner.call("submissions/sync-status", {"submission_id": submitted["submission_id"]})
    assert (synced["status"], synced["runs_total"], synced["runs_succeeded"]) == ("running", 3, 1)

    for child_run in fanned["child_run_ids"]:
        taken_child = await runner.call("pipeline-runs/get", {"pipeline_run_id": child_run})
        assert taken_child["blueprint_snapshot"]["fan_out"] == {
            "parent_pipeline_run_id": parent_id,
            "start_from_position": 2,
        }
        synced = await runner.run(child_run)
    assert (synced["status"], synced["runs_succeeded"]) == ("completed", 3)
    async with database.transaction() as session:
        people_count = await session.scalar(
            text("SELECT count(*) FROM person_entities WHERE org_id = :o"), {"o": tenant.org_id}
        )
    assert people_count == 2


async def test_illegal_transitions_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, runner: ScriptedRunner
) -> None:
    submitted = await submit(client, tenant, PROFILE_THEN_TECH, [{"company_domain": "acme.io"}])
    run_id = submitted["pipeline_runs"][0]["pipeline_run_id"]
    taken = await runner.call("pipeline-runs/get", {"pipeline_run_id": run_id})
    first, second = taken["step_results"]
    queued_to_done = {"step_result_id": first["id"], "status": "succeeded"}
    refused = await runner.call("step-results/update", queued_to_done, expected=409)
    assert refused is None
    upsert = {"pipeline_run_id": run_id, "entity_type": "company", "cumulative_context": {"domain": "a.io"}}
    await runner.call("entity-state/upsert", upsert, expected=400)
    await runner.call(
        "pipeline-runs/update-status", {"pipeline_run_id": run_id, "status": "bogus"}, expected=422
    )

    synced = await runner.run(run_id)
    assert synced["status"] == "completed"
    again = {"pipeline_run_id": run_id, "status": "running"}
    response = await runner.client.post(
        f"{INTERNAL}/pipeline-runs/update-status", json=again, headers=runner.headers
    )
    assert (response.status_code, response.json()) == (
        409,
        {"error": "run cannot go from succeeded to running"},
    )
    await runner.call(
        "step-results/update", {"step_result_id": second["id"], "status": "running"}, expected=409
    )
    # Repeating the status a run or step already has is harmless (a retried call).
    repeat = {"pipeline_run_id": run_id, "status": "succeeded", "trigger_run_id": "run_123"}
    assert (await runner.call("pipeline-runs/update-status", repeat))["trigger_run_id"] == "run_123"
    # A submission's status is derived from its runs.
    derived = {"submission_id": submitted["submission_id"], "status": "completed"}
    assert (await runner.call("submissions/update-status", derived))["status"] == "completed"
    forced = {"submission_id": submitted["submission_id"], "status": "failed"}
    await runner.call("submissions/update-status", forced, expected=409)


async def test_a_failed_step_skips_the_rest_and_fails_the_run(
    client: httpx.AsyncClient, tenant: Tenant, runner: ScriptedRunner
) -> None:
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "company.research.resolve_pricing_page_url"},
        {"position": 3, "operation_id": "company.enrich.technographics"},
    ]
    submitted = await submit(client, tenant, steps, [{"company_name": "No Domain Inc"}])
    run_id = submitted["pipeline_runs"][0]["pipeline_run_id"]
    taken = await runner.call("pipeline-runs/get", {"pipeline_run_id": run_id})
    skipped = await runner.call(
        "step-results/mark-remaining-skipped", {"pipeline_run_id": run_id, "from_step_position": 1}
    )
    assert [(row["step_position"], row["status"]) for row in skipped] == [(2, "skipped"), (3, "skipped")]
    row = taken["step_results"][0]
    await runner.call("step-results/update", {"step_result_id": row["id"], "status": "running"})
    await runner.call(
        "step-results/update", {"step_result_id": row["id"], "status": "failed", "error_message": "boom"}
    )
    failed = {"pipeline_run_id": run_id, "status": "failed", "error_message": "Operation failed: x"}
    assert (await runner.call("pipeline-runs/update-status", failed))[
        "error_message"
    ] == "Operation failed: x"
    synced = await runner.call("submissions/sync-status", {"submission_id": submitted["submission_id"]})
    assert (synced["status"], synced["runs_failed"]) == ("failed", 1)


async def test_another_orgs_runs_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, settings: Settings
) -> None:
    submitted = await submit(client, tenant, PROFILE_THEN_TECH, [{"company_domain": "acme.io"}])
    run_id = submitted["pipeline_runs"][0]["pipeline_run_id"]
    outsider = ScriptedRunner(client, settings, await create_tenant(database, "outsider"))
    owner = ScriptedRunner(client, settings, tenant)
    step_id = (await owner.call("pipeline-runs/get", {"pipeline_run_id": run_id}))["step_results"][0]["id"]
    probes = [
        ("pipeline-runs/get", {"pipeline_run_id": run_id}),
        ("pipeline-runs/update-status", {"pipeline_run_id": run_id, "status": "running"}),
        ("step-results/update", {"step_result_id": step_id, "status": "running"}),
        ("step-results/mark-remaining-skipped", {"pipeline_run_id": run_id, "from_step_position": 0}),
        ("submissions/sync-status", {"submission_id": submitted["submission_id"]}),
        ("submissions/update-status", {"submission_id": submitted["submission_id"], "status": "queued"}),
        (
            "entity-state/upsert",
            {"pipeline_run_id": run_id, "entity_type": "company", "cumulative_context": {}},
        ),
        (
            "entity-timeline/record-step-event",
            {
                "pipeline_run_id": run_id,
                "entity_type": "company",
                "step_result_id": step_id,
                "step_position": 1,
                "operation_id": "company.enrich.profile",
                "step_status": "skipped",
            },
        ),
        (
            "pipeline-runs/fan-out",
            {
                "parent_pipeline_run_id": run_id,
                "submission_id": submitted["submission_id"],
                "org_id": str(tenant.org_id),
                "company_id": str(tenant.company_id),
                "fan_out_entities": [{"full_name": "X"}],
                "start_from_position": 2,
            },
        ),
    ]
    for path, body in probes:
        response = await client.post(f"{INTERNAL}/{path}", json=body, headers=outsider.headers)
        assert response.status_code == 404, (path, response.text)
        assert run_id not in response.text
    # Nothing moved.
    run = await owner.call("pipeline-runs/get", {"pipeline_run_id": run_id})
    assert run["status"] == "queued" and {r["status"] for r in run["step_results"]} == {"queued"}


async def test_credentials(client: httpx.AsyncClient, tenant: Tenant, settings: Settings) -> None:
    body = {"pipeline_run_id": str(uuid.uuid4())}
    path = f"{INTERNAL}/pipeline-runs/get"
    org = {"x-internal-org-id": str(tenant.org_id)}
    cases = [
        ({}, 401, "Missing authorization token"),
        ({"Authorization": "Bearer not-the-key", **org}, 401, "Invalid internal API key"),
        ({**tenant.headers, **org}, 401, "Invalid internal API key"),
        # Without the org header, the run the body names decides the org: here none owns it.
        ({"Authorization": f"Bearer {settings.internal_api_key}"}, 404, "Pipeline run not found"),
        ({"Authorization": f"Bearer {settings.internal_api_key}", **org}, 404, "Pipeline run not found"),
    ]
    for headers, status, message in cases:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == status, response.text
        if message:
            assert response.json() == {"error": message}
    key_alone = {"Authorization": f"Bearer {settings.internal_api_key}"}
    # A body naming no row (a freshness check) needs the header.
    freshness = {"entity_type": "company", "identifiers": {"domain": "acme.io"}, "max_age_hours": 1}
    response = await client.post(
        f"{INTERNAL}/entity-state/check-freshness", json=freshness, headers=key_alone
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Missing x-internal-org-id for internal authorization"}
    not_an_id = await client.post(path, json={"pipeline_run_id": "nope"}, headers=key_alone)
    assert not_an_id.status_code in (401, 422)


async def test_off_unless_the_key_is_set(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime, tenant: Tenant
) -> None:
    settings = sandbox_settings.model_copy(update={"internal_api_key": None})
    app = create_app(settings, database=database, providers=providers, run_executor=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        for path in ("pipeline-runs/get", "submissions/sync-status", "entity-state/upsert"):
            response = await http.post(
                f"{INTERNAL}/{path}",
                json={},
                headers={"Authorization": "Bearer anything", "x-internal-org-id": str(tenant.org_id)},
            )
            assert (response.status_code, response.json()) == (404, {"error": "Not Found"})


async def test_an_external_runner_reads_the_steps_dex_ran_whole(
    pipeline: PipelineHarness, database: Database
) -> None:
    """The internal API hands a run to an external runner with its steps so far: those dex ran read as
    they were produced, not in their stored form."""
    blueprint = await pipeline.blueprint("handed", STEPS)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    async with database.transaction() as session:
        run_id = await session.scalar(
            text("SELECT id FROM pipeline_runs WHERE submission_id = :s AND parent_pipeline_run_id IS NULL"),
            {"s": submission},
        )
        run = await session.get(PipelineRun, run_id)
        assert run is not None
        scope = AuthContext(run.org_id, None, None, "org_admin", "api_token")
        taken = await internal.take_run(session, scope, PlanCache(), run_id)
    ran = [step for step in taken["steps"] if step["output_payload"].get("operation_result")]
    assert ran
    for step in ran:
        output = step["output_payload"]
        assert repo.CONTEXT_CHANGES not in output and "cumulative_context" in output
        assert history.OUTPUT_OF not in output["operation_result"]
        assert any(attempt.get("raw_response") for attempt in output["operation_result"]["provider_attempts"])
