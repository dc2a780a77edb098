"""Idempotency keys through the API: the same key and body answer with the first submission, the same key
with another body is refused naming the key, and keys expire."""

from __future__ import annotations

from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import PipelineHarness

VERIFY = {"position": 1, "operation_id": "person.contact.verify_email"}


def batch(blueprint: str, harness: PipelineHarness, *inputs: dict) -> dict:
    return {
        "blueprint_id": blueprint,
        "company_id": str(harness.tenant.company_id),
        "entities": [{"entity_type": "person", "input": entity} for entity in inputs],
    }


async def submit(harness: PipelineHarness, body: dict, key: str, path: str = "/api/v1/batch/submit"):
    return await harness.post(path, body, headers={"Idempotency-Key": key})


async def test_same_key_same_body_returns_the_first_submission(pipeline: PipelineHarness) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("idem-same", [VERIFY], entity_type="person")
    first = await submit(pipeline, batch(blueprint, pipeline, {"email": "a@idem.io", "full_name": "A"}), "k1")
    # The same request with its keys in another order is the same body.
    reordered = {
        "entities": [{"input": {"full_name": "A", "email": "a@idem.io"}, "entity_type": "person"}],
        "company_id": str(pipeline.tenant.company_id),
        "blueprint_id": blueprint,
    }
    again = await submit(pipeline, reordered, "k1")
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["data"] == first.json()["data"]


async def test_same_key_with_another_body_is_refused_naming_the_key(
    pipeline: PipelineHarness, database: Database
) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("idem-other", [VERIFY], entity_type="person")
    first = await submit(pipeline, batch(blueprint, pipeline, {"email": "a@idem.io"}), "order-42")
    assert first.status_code == 200, first.text
    other = await submit(
        pipeline, batch(blueprint, pipeline, {"email": "a@idem.io"}, {"email": "b@idem.io"}), "order-42"
    )
    assert other.status_code == 422
    assert "order-42" in other.json()["error"] and "different request body" in other.json()["error"]
    async with database.transaction() as session:
        submissions = await session.scalar(
            text("SELECT count(*) FROM submissions WHERE org_id = :org"), {"org": pipeline.tenant.org_id}
        )
    assert submissions == 1  # nothing was created for the refused request

    # The same goes for CSV uploads.
    csv_body = {"blueprint_id": blueprint, "company_id": str(pipeline.tenant.company_id)}
    csv_first = await submit(
        pipeline, {**csv_body, "csv": "email\nc@idem.io\n"}, "csv-7", "/api/v1/batch/submit-csv"
    )
    assert csv_first.status_code == 200, csv_first.text
    csv_other = await submit(
        pipeline, {**csv_body, "csv": "email\nd@idem.io\n"}, "csv-7", "/api/v1/batch/submit-csv"
    )
    assert csv_other.status_code == 422 and "csv-7" in csv_other.json()["error"]


async def test_an_expired_key_names_a_new_submission(pipeline: PipelineHarness, database: Database) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("idem-expired", [VERIFY], entity_type="person")
    body = batch(blueprint, pipeline, {"email": "a@idem.io"})
    first = (await submit(pipeline, body, "daily")).json()["data"]["submission_id"]
    async with database.transaction() as session:
        # 24 hours (the default DEX_IDEMPOTENCY_KEY_TTL_HOURS) and a minute ago.
        await session.execute(
            text("UPDATE submissions SET created_at = now() - interval '1441 minutes' WHERE id = :id"),
            {"id": first},
        )
    other = await submit(pipeline, batch(blueprint, pipeline, {"email": "b@idem.io"}), "daily")
    assert other.status_code == 200, other.text
    second = other.json()["data"]["submission_id"]
    assert second != first
    # The key now names the new submission.
    again = await submit(pipeline, batch(blueprint, pipeline, {"email": "b@idem.io"}), "daily")
    assert again.json()["data"]["submission_id"] == second
