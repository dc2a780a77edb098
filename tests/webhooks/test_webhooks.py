"""Webhooks end to end: endpoints through the API, events written with the state change, signed deliveries
to a real HTTP receiver, backoff, giving up, the delivery log, manual redelivery, and tenant isolation."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import text

from dex.db.engine import Database
from dex.pipeline import service as pipeline_service
from dex.pipeline.progress import PlanCache
from dex.tenancy.context import AuthContext
from dex.webhooks.destinations import DestinationRefused, check_destination
from dex.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    verify,
)
from tests.conftest import PipelineHarness, create_tenant
from tests.webhooks.conftest import Receiver

VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]
ALL_EVENTS = ["submission.completed", "run.completed", "run.failed"]


async def _endpoint(harness: PipelineHarness, url: str, events: list[str] = ALL_EVENTS) -> dict:
    response = await harness.post("/api/v1/webhooks/create", {"url": url, "events": events})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _deliveries(harness: PipelineHarness, **body: object) -> list[dict]:
    response = await harness.post("/api/v1/webhooks/deliveries", body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _settled(harness: PipelineHarness, count: int, timeout: float = 10.0) -> list[dict]:
    """The deliveries once ``count`` of them exist and none is pending."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = await _deliveries(harness)
        if len(deliveries) >= count and all(d["status"] != "pending" for d in deliveries):
            return deliveries
        assert time.monotonic() < deadline, deliveries
        await asyncio.sleep(0.05)


async def test_endpoints_are_managed_and_the_secret_is_shown_once(pipeline: PipelineHarness) -> None:
    created = await _endpoint(pipeline, "https://hooks.example.com/dex", ["run.failed"])
    assert created["secret"].startswith("whsec_") and created["events"] == ["run.failed"]
    listed = (await pipeline.post("/api/v1/webhooks/list", {})).json()
    assert [e["id"] for e in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]
    bad = await pipeline.post("/api/v1/webhooks/create", {"url": "ftp://x.io/", "events": ["run.failed"]})
    assert bad.status_code == 400
    unknown_event = await pipeline.post("/api/v1/webhooks/create", {"url": "https://x.io/", "events": ["x"]})
    assert unknown_event.status_code == 422
    assert (await pipeline.post("/api/v1/webhooks/delete", {"id": created["id"]})).status_code == 200
    assert (await pipeline.post("/api/v1/webhooks/delete", {"id": created["id"]})).status_code == 404
    assert (await pipeline.post("/api/v1/webhooks/list", {})).json()["data"] == []


async def test_private_destinations_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://[::1]/"):
        with pytest.raises(DestinationRefused):
            await check_destination(url, allow_private=False)
    await check_destination("http://127.0.0.1:9/hook", allow_private=True)
    with pytest.raises(DestinationRefused):
        await check_destination("https://user:pw@example.com/", allow_private=True)


def test_signatures_verify_and_expire() -> None:
    body = b'{"type":"run.completed"}'
    header = signature("whsec_test", 1_700_000_000, body)
    assert verify("whsec_test", body, timestamp="1700000000", signature_header=header, now=1_700_000_100)
    assert not verify("whsec_other", body, timestamp="1700000000", signature_header=header, now=1_700_000_100)
    assert not verify(
        "whsec_test", body + b" ", timestamp="1700000000", signature_header=header, now=1_700_000_100
    )
    # Replayed too late.
    assert not verify("whsec_test", body, timestamp="1700000000", signature_header=header, now=1_700_001_000)
    # A rotation may send several signatures; one valid one suffices.
    both = f"v1=deadbeef, {header}"
    assert verify("whsec_test", body, timestamp="1700000000", signature_header=both, now=1_700_000_000)


@pytest.mark.usefixtures("dispatcher")
async def test_run_and_submission_events_are_signed_and_delivered(
    pipeline: PipelineHarness, receiver: Receiver
) -> None:
    everything = await _endpoint(pipeline, receiver.url)
    failures_only = await _endpoint(pipeline, receiver.url, ["run.failed"])
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    # The second entity has no usable email: its run fails on missing inputs.
    submission = await pipeline.submit(
        blueprint, [{"email": "ava@acme.io"}, {"full_name": "No Email"}], "person"
    )
    await pipeline.run_until_idle()

    received = await receiver.wait_for(4)
    secrets = {everything["id"]: everything["secret"], failures_only["id"]: failures_only["secret"]}
    deliveries = {d["id"]: d for d in await _settled(pipeline, 4)}
    for request in received:
        delivery = deliveries[request.headers[DELIVERY_HEADER]]
        assert verify(
            secrets[delivery["endpoint_id"]],
            request.body,
            timestamp=request.headers[TIMESTAMP_HEADER],
            signature_header=request.headers[SIGNATURE_HEADER],
        )
        assert request.headers[EVENT_HEADER] == request.payload["type"] == delivery["event_type"]
        assert delivery["status"] == "succeeded" and len(delivery["attempt_log"]) == 1
    by_type = sorted((r.payload["type"], r.payload["data"].get("status")) for r in received)
    assert by_type == [
        ("run.completed", "completed"),
        ("run.failed", "failed"),
        ("run.failed", "failed"),
        ("submission.completed", "failed"),
    ]
    finished = next(r.payload for r in received if r.payload["type"] == "submission.completed")
    assert finished["data"]["submission_id"] == submission
    assert finished["data"]["summary"] == {"total": 2, "completed": 1, "failed": 1, "canceled": 0}
    # One event, two endpoints: both deliveries carry the same event id for receivers to deduplicate.
    failed_ids = {r.payload["id"] for r in received if r.payload["type"] == "run.failed"}
    assert len(failed_ids) == 1


@pytest.mark.usefixtures("dispatcher")
async def test_failures_back_off_give_up_and_can_be_redelivered(
    pipeline: PipelineHarness, receiver: Receiver
) -> None:
    await _endpoint(pipeline, receiver.url, ["run.completed"])
    receiver.script = ["500", "hang", "503"]  # every attempt fails: 3 attempts, then the delivery fails
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    await pipeline.submit(blueprint, [{"email": "ben@acme.io"}], "person")
    await pipeline.run_until_idle()

    [delivery] = await _settled(pipeline, 1)
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    log = delivery["attempt_log"]
    assert [(a["response_status"], a["error"]) for a in log] == [(500, None), (None, "timeout"), (503, None)]
    assert log[0]["response_body"] == "receiver says 500"
    gaps = [
        later.at - earlier.at
        for earlier, later in zip(receiver.received, receiver.received[1:], strict=False)
    ]
    assert gaps[0] >= 0.15  # the first retry waits the base delay (0.2 s, with jitter)…
    assert gaps[1] >= 3.0 + 0.3  # …the second one the doubled delay after the 3 s timeout

    redelivered = await pipeline.post("/api/v1/webhooks/redeliver", {"delivery_id": delivery["id"]})
    assert redelivered.status_code == 200 and redelivered.json()["data"]["status"] == "pending"
    [delivery] = await _settled(pipeline, 1)
    assert delivery["status"] == "succeeded" and delivery["delivered_at"] is not None
    assert len(delivery["attempt_log"]) == 4 and len(receiver.received) == 4
    assert receiver.received[-1].body == receiver.received[0].body  # the same event, sent again


async def test_events_are_written_only_when_the_change_commits(
    pipeline: PipelineHarness, database: Database, receiver: Receiver
) -> None:
    await pipeline.executor.stop()
    await _endpoint(pipeline, receiver.url)
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    submission = await pipeline.submit(blueprint, [{"email": "cara@acme.io"}], "person")
    scope = AuthContext(
        org_id=pipeline.tenant.org_id,
        user_id=None,
        company_id=pipeline.tenant.company_id,
        role="org_admin",
        auth_method="internal",
    )

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack):
        async with database.transaction() as session:
            await pipeline_service.cancel(session, scope, uuid.UUID(submission), plans=PlanCache())
            raise RolledBack
    async with database.transaction() as session:
        assert await session.scalar(text("SELECT count(*) FROM webhook_deliveries")) == 0
    canceled = await pipeline.post("/api/v1/batch/cancel", {"submission_id": submission})
    assert canceled.status_code == 200
    [delivery] = await _deliveries(pipeline)
    assert delivery["event_type"] == "submission.completed"
    assert delivery["payload"]["data"]["status"] == "canceled"


async def test_webhooks_are_org_admin_only_and_stay_inside_their_org(
    pipeline: PipelineHarness, database: Database, receiver: Receiver
) -> None:
    endpoint = await _endpoint(pipeline, receiver.url)
    outsider = PipelineHarness(pipeline.client, pipeline.executor, await create_tenant(database, "hooks-b"))
    assert (await outsider.post("/api/v1/webhooks/list", {})).json()["data"] == []
    assert (await outsider.post("/api/v1/webhooks/delete", {"id": endpoint["id"]})).status_code == 404
    assert (await outsider.post("/api/v1/webhooks/deliveries", {})).json()["data"] == []
    member = PipelineHarness(
        pipeline.client, pipeline.executor, await create_tenant(database, "hooks-member", role="member")
    )
    for path, body in (
        ("/api/v1/webhooks/create", {"url": receiver.url, "events": ["run.failed"]}),
        ("/api/v1/webhooks/list", {}),
        ("/api/v1/webhooks/deliveries", {}),
    ):
        assert (await member.post(path, body)).status_code == 403
    async with database.transaction() as session:
        delivery_id = await session.scalar(
            text(
                "INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, event_type, payload, status) "
                "VALUES (:org, :endpoint, gen_random_uuid(), 'run.failed', '{}', 'failed') RETURNING id"
            ),
            {"org": pipeline.tenant.org_id, "endpoint": endpoint["id"]},
        )
    response = await outsider.post("/api/v1/webhooks/redeliver", {"delivery_id": str(delivery_id)})
    assert response.status_code == 404
