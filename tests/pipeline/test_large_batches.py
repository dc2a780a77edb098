"""Batches too large to hold in memory more than once: written a chunk of entities at a time, answered with
every run without a model per run, and paged through by batch status."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.kit.envelopes import Envelope
from dex.pipeline import service
from dex.pipeline.schemas import RUNS_PER_PIECE, BatchSubmitted, SubmittedBatch
from tests.conftest import Tenant

VERIFY = {"position": 1, "operation_id": "person.contact.verify_email"}


class Api:
    """The API with nothing executing: what a submission wrote stays as it was written."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client, self.tenant = client, tenant

    async def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.client.post(path, json=body, headers={**self.tenant.headers, **headers})

    async def blueprint(self, steps: list[dict[str, Any]]) -> str:
        response = await self.post(
            "/api/blueprints/create", {"name": "b", "steps": steps, "entity_type": "person"}
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]["id"]

    def batch(self, blueprint: str, emails: list[str]) -> dict[str, Any]:
        return {
            "blueprint_id": blueprint,
            "company_id": str(self.tenant.company_id),
            "entities": [{"entity_type": "person", "input": {"email": email}} for email in emails],
        }


@pytest.fixture
def api(client: httpx.AsyncClient, tenant: Tenant) -> Api:
    return Api(client, tenant)


@pytest.fixture
def sandbox_settings(settings: Settings) -> Settings:
    """A webhook endpoint on loopback (nothing delivers to it here: only what is enqueued is looked at)."""
    return settings.model_copy(
        update={"dex_provider_mode": "sandbox", "dex_webhook_allow_private_urls": True}
    )


def test_the_submitted_batch_encodes_as_its_model_does() -> None:
    count = 2 * RUNS_PER_PIECE + 1  # more than one piece
    batch = SubmittedBatch(
        uuid.uuid4(),
        range(count),
        ["person"] * count,
        [uuid.uuid4() for _ in range(count)],
        ["queued"] * (count - 1) + ["succeeded"],
    )
    model = Envelope[BatchSubmitted](
        data=BatchSubmitted(
            submission_id=batch.submission_id,
            pipeline_runs=[
                {
                    "entity_index": index,
                    "entity_type": entity_type,
                    "pipeline_run_id": run_id,
                    "pipeline_run_status": status,
                }
                for index, entity_type, run_id, status in batch.runs()
            ],
        )
    )
    assert json.loads(bytes(batch.envelope_json())) == model.model_dump(mode="json")


async def test_a_batch_is_written_in_chunks_and_paged_in_entity_order(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "SUBMIT_CHUNK_ENTITIES", 2)
    emails = [f"p{i}@acme.io" for i in range(5)]
    body = api.batch(await api.blueprint([VERIFY]), emails)
    response = await api.post("/api/v1/batch/submit", body, **{"Idempotency-Key": "big"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    submitted = Envelope[BatchSubmitted].model_validate_json(response.content).data
    assert [run.entity_index for run in submitted.pipeline_runs] == [0, 1, 2, 3, 4]
    assert {
        (run.entity_type, run.pipeline_run_status, run.trigger_run_id) for run in submitted.pipeline_runs
    } == {("person", "queued", None)}
    async with database.transaction() as session:
        runs = (
            await session.execute(
                text(
                    "SELECT r.id, r.entity_index, r.entity_input ->> 'email', s.status, s.output_payload "
                    "FROM pipeline_runs r JOIN step_results s ON s.pipeline_run_id = r.id "
                    "WHERE r.submission_id = :id ORDER BY r.entity_index"
                ),
                {"id": submitted.submission_id},
            )
        ).all()
        counters = (
            await session.execute(
                text("SELECT status, runs_total, root_runs FROM submissions WHERE id = :id"),
                {"id": submitted.submission_id},
            )
        ).one()
    assert [(run[0], run[1], run[2]) for run in runs] == [
        (run.pipeline_run_id, run.entity_index, email)
        for run, email in zip(submitted.pipeline_runs, emails, strict=True)
    ]
    assert {(run[3], run[4]) for run in runs} == {("queued", None)}
    assert tuple(counters) == ("queued", 5, 5)

    page = (
        await api.post(
            "/api/v1/batch/status", {"submission_id": str(submitted.submission_id), "limit": 2, "offset": 2}
        )
    ).json()["data"]
    assert [run["entity_index"] for run in page["runs"]] == [2, 3]
    assert page["pagination"] == {
        "limit": 2,
        "offset": 2,
        "total_root_runs": 5,
        "returned": 2,
        "has_more": True,
    }
    assert page["summary"] == {"total": 5, "completed": 0, "failed": 0, "pending": 5, "running": 0}

    replayed = await api.post("/api/v1/batch/submit", body, **{"Idempotency-Key": "big"})
    assert replayed.json() == response.json()


async def test_a_batch_whose_runs_may_finish_at_submit_changes_status_once(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first chunk alone would be complete: written in chunks, the submission would be announced as
    completed before the rest of it exists."""
    monkeypatch.setattr(service, "SUBMIT_CHUNK_ENTITIES", 2)
    subscribed = await api.post(
        "/api/v1/webhooks/create",
        {"url": "http://127.0.0.1:9/hooks", "events": ["submission.completed"]},
    )
    assert subscribed.status_code == 200, subscribed.text
    condition = {"field": "email", "op": "icontains", "value": "@acme"}
    blueprint = await api.blueprint([{**VERIFY, "step_config": {"condition": condition}}])
    response = await api.post(
        "/api/v1/batch/submit", api.batch(blueprint, ["x@other.io", "z@other.io", "y@acme.io"])
    )
    submitted = response.json()["data"]
    assert [run["pipeline_run_status"] for run in submitted["pipeline_runs"]] == [
        "succeeded",
        "succeeded",
        "queued",
    ]
    async with database.transaction() as session:
        status = await session.scalar(
            text("SELECT status FROM submissions WHERE id = :id"), {"id": submitted["submission_id"]}
        )
        announced = (await session.execute(text("SELECT event_type FROM webhook_deliveries"))).scalars().all()
    assert status == "running" and announced == []


async def test_an_invalid_batch_body_is_reported_as_fastapi_reports_it(api: Api) -> None:
    blueprint = await api.blueprint([VERIFY])
    body = {**api.batch(blueprint, ["a@acme.io"]), "entities": [{"entity_type": "robot", "input": {}}]}
    wrong = await api.post("/api/v1/batch/submit", body)
    assert wrong.status_code == 422
    assert wrong.json()["error"] == (
        "invalid request: entities.0.entity_type: Input should be 'company' or 'person'"
    )
    assert wrong.json()["detail"][0]["loc"] == ["body", "entities", 0, "entity_type"]
    broken = await api.client.post(
        "/api/v1/batch/submit",
        content=b'{"blueprint_id": ',
        headers={**api.tenant.headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["error"] == "invalid request: 17: JSON decode error"
