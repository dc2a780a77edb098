"""``GET /metrics`` after real work on the sandbox: steps, provider latency, 429s, cache lookups, credits and
the queue read from the database. Counters are process-wide, so tests compare before and after."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from dex.config import Settings
from tests.conftest import PipelineHarness, SandboxHandle

VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]


async def _scrape(client: httpx.AsyncClient, settings: Settings) -> dict[tuple[str, tuple], float]:
    response = await client.get(
        "/metrics", headers={"Authorization": f"Bearer {settings.super_admin_api_key}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_steps_provider_calls_cache_and_credits(
    pipeline: PipelineHarness, sandbox: SandboxHandle, settings: Settings
) -> None:
    before = await _scrape(pipeline.client, settings)
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    sandbox.state.script_faults("millionverifier", ["429"])  # one rate-limited try, retried at once
    await pipeline.submit(blueprint, [{"email": "ava@acme.io"}, {"email": "ben@acme.io"}], "person")
    await pipeline.run_until_idle()
    await pipeline.submit(blueprint, [{"email": "ava@acme.io"}], "person")  # served from the cache
    await pipeline.run_until_idle()
    after = await _scrape(pipeline.client, settings)

    operation = "person.contact.verify_email"
    assert _delta(before, after, "dex_steps_finished_total", operation=operation, status="succeeded") == 3
    assert _delta(before, after, "dex_provider_rate_limited_total", provider="millionverifier") == 1
    tries = _delta(
        before, after, "dex_provider_request_seconds_count", provider="millionverifier", outcome="2xx"
    )
    assert tries >= 2
    hits = _delta(before, after, "dex_provider_cache_lookups_total", provider="millionverifier", result="hit")
    misses = _delta(
        before, after, "dex_provider_cache_lookups_total", provider="millionverifier", result="miss"
    )
    assert (hits, misses) == (1, 2)
    assert _delta(before, after, "dex_provider_credits_spent_total", provider="millionverifier") == 1.0
    assert _delta(before, after, "dex_provider_credits_saved_total", provider="millionverifier") == 0.5


async def test_queue_depth_is_read_from_the_database(pipeline: PipelineHarness, settings: Settings) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    await pipeline.submit(blueprint, [{"email": f"q{i}@acme.io"} for i in range(3)], "person")
    scraped = await _scrape(pipeline.client, settings)
    assert scraped[("dex_steps", (("status", "queued"),))] == 3
    assert scraped[("dex_steps_ready", ())] == 3
    assert scraped[("dex_steps", (("status", "running"),))] == 0
    assert scraped[("dex_webhook_deliveries_pending", ())] == 0


async def test_metrics_need_super_admin_credentials(pipeline: PipelineHarness) -> None:
    assert (await pipeline.client.get("/metrics")).status_code == 401
    assert (await pipeline.client.get("/metrics", headers=pipeline.tenant.headers)).status_code == 401


async def test_metrics_are_served_as_the_openapi_document_says(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    document = (await client.get("/openapi.json")).json()
    documented = document["paths"]["/metrics"]["get"]["responses"]
    response = await client.get(
        "/metrics", headers={"Authorization": f"Bearer {settings.super_admin_api_key}"}
    )
    assert response.headers["content-type"].split(";")[0] in documented["200"]["content"]
    anonymous = await client.get("/metrics")
    assert str(anonymous.status_code) in documented and "error" in anonymous.json()
