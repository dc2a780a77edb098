"""The original runner's side: the ten ``/api/internal/*`` endpoints driven exactly as it called them —
the internal key alone (the org is the one owning what each body names), the org headers only on
execute and freshness checks — through a fan-out, a failed run and a refused transition."""

from __future__ import annotations

from typing import Any

import httpx

from dex.config import Settings
from tests.compat.reference import INTERNAL, RecordingClient
from tests.conftest import Tenant
from tests.internal.test_internal_api import ScriptedRunner, submit

ENDPOINTS = {f"/api/internal/{path}" for path in INTERNAL}


class RecordingTransport:
    """What ScriptedRunner needs of a client (``post(url, json=, headers=)``), recorded."""

    def __init__(self, api: RecordingClient) -> None:
        self.api = api

    async def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.api.post(url, json, headers)


async def test_the_original_runner_drives_dex(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant
) -> None:
    api = RecordingClient(client)
    runner = ScriptedRunner(RecordingTransport(api), settings, tenant, org_header=False)  # type: ignore[arg-type]
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
        {"position": 3, "operation_id": "person.contact.resolve_email"},
    ]
    submitted = await submit(client, tenant, steps, [{"company_domain": "acme.io"}])
    root = submitted["pipeline_runs"][0]["pipeline_run_id"]

    taken = await runner.call("pipeline-runs/get", {"pipeline_run_id": root})
    assert {"submissions", "step_results", "blueprint_snapshot", "status"} <= set(taken)
    assert [row["step_position"] for row in taken["step_results"]] == [1, 2, 3]
    await runner.run(root)  # runs profile and person.search, then fans out
    children = await runner.call("pipeline-runs/get", {"pipeline_run_id": root})
    assert children["status"] == "succeeded"
    status = await client.post(
        "/api/v1/batch/status", json={"submission_id": submitted["submission_id"]}, headers=tenant.headers
    )
    kids = status.json()["data"]["runs"][0]["children"]
    assert kids
    for kid in kids:
        synced = await runner.run(kid["pipeline_run_id"])
    assert synced["status"] == "completed"

    # A step that fails: the rest are skipped, the run fails, the submission follows.
    failing = await submit(
        client,
        tenant,
        [
            {"position": 1, "operation_id": "company.research.check_vc_funding"},
            {"position": 2, "operation_id": "company.enrich.technographics"},
        ],
        [{"company_name": "No Domain Inc"}],
    )
    synced = await runner.run(failing["pipeline_runs"][0]["pipeline_run_id"])
    assert synced["status"] == "failed"
    failed_run = await runner.call(
        "pipeline-runs/get", {"pipeline_run_id": failing["pipeline_runs"][0]["pipeline_run_id"]}
    )
    assert [row["status"] for row in failed_run["step_results"]] == ["failed", "skipped"]

    # Illegal transitions are refused; the submission status is derived, so only its current one is taken.
    refused = await api.post(
        "/api/internal/pipeline-runs/update-status",
        {"pipeline_run_id": root, "status": "running"},
        runner.headers,
    )
    assert refused.status_code == 409 and "error" in refused.json()
    same = await runner.call(
        "submissions/update-status", {"submission_id": failing["submission_id"], "status": "failed"}
    )
    assert same["status"] == "failed"
    fresh = await runner.call(
        "entity-state/check-freshness",
        {"entity_type": "company", "identifiers": {"company_domain": "acme.io"}, "max_age_hours": 24},
    )
    assert fresh["fresh"] is True and set(fresh) >= {"entity_id", "last_enriched_at", "age_hours"}

    assert api.called == ENDPOINTS | {"/api/v1/execute"}
