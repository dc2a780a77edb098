"""``POST /api/v1/batch/estimate``: expected and maximum credits from the blueprint, the prices, the fan-out
limits, the org's observed hit rates and its cache."""

from __future__ import annotations

from dex.db.engine import Database
from tests.conftest import PipelineHarness, create_tenant
from tests.usage.test_hard_budgets import people_at_companies, set_budget

COMPANIES = [{"domain": f"estimate-{i}.io"} for i in range(10)]

# Catalog prices per entity when every provider is asked: the profile merges prospeo, blitzapi,
# companyenrich and leadmagic (1 each); hiring signals and the tech stack ask TheirStack (1 each); person
# search may ask the same four as the profile (1 each) and fans out into at most 3 people (the example's
# max_results); each person's email may ask leadmagic 1, icypeas 1, parallel 2, millionverifier 0.5 and
# reoon 0.5, and its verification millionverifier and reoon (0.5 each).
MAX_PER_COMPANY = 4 + 2 + 4 + 3 * (5 + 1)


def body(harness: PipelineHarness, blueprint: str, companies: list[dict]) -> dict:
    return {
        "blueprint_id": blueprint,
        "company_id": str(harness.tenant.company_id),
        "entities": [{"entity_type": "company", "input": company} for company in companies],
    }


async def estimate(harness: PipelineHarness, request: dict) -> dict:
    response = await harness.post("/api/v1/batch/estimate", request)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_estimate_without_history_bounds_and_expects(pipeline: PipelineHarness) -> None:
    created = await pipeline.post("/api/blueprints/create", people_at_companies())
    blueprint = created.json()["data"]["id"]
    result = await estimate(pipeline, body(pipeline, blueprint, COMPANIES))

    assert result["entities"] == 10 and result["cached_entities"] == 0
    assert result["max_credits"] == 10 * MAX_PER_COMPANY
    assert 0 < result["expected_credits"] < result["max_credits"]
    assert [step["operation_id"] for step in result["steps"]] == [
        "company.enrich.profile",
        "company.enrich.hiring_signals",
        "company.enrich.tech_stack",
        "person.search",
        "person.contact.resolve_email",
        "person.contact.verify_email",
    ]
    assert [step["max_entities"] for step in result["steps"]] == [10, 10, 10, 10, 30, 30]
    # Without history every hit rate is the default: the search waterfall's 2nd provider is asked half
    # the time, its 3rd a quarter.
    search = result["steps"][3]
    assert search["expected_credits"] == 10 * (1 + 0.5 + 0.25 + 0.125)
    providers = {p["provider"]: p for p in result["by_provider"]}
    assert providers["parallel"]["price_credits"] == 2 and providers["parallel"]["max_calls"] == 30
    assert providers["prospeo"]["hit_rates"] == {"company.enrich.profile": 0.5, "person.search": 0.5}
    assert sum(p["max_credits"] for p in result["by_provider"]) == result["max_credits"]
    assert result["remaining_budget_credits"] is None and result["exceeds_remaining_budget"] is False

    await set_budget(pipeline, budget_credits="5")
    limited = await estimate(pipeline, body(pipeline, blueprint, COMPANIES))
    assert limited["remaining_budget_credits"] == 5 and limited["exceeds_remaining_budget"] is True


async def test_estimate_learns_hit_rates_and_the_cache_from_history(pipeline: PipelineHarness) -> None:
    created = await pipeline.post("/api/blueprints/create", people_at_companies())
    blueprint = created.json()["data"]["id"]
    before = await estimate(pipeline, body(pipeline, blueprint, COMPANIES))
    await pipeline.submit(blueprint, COMPANIES[:5])
    await pipeline.run_until_idle(timeout=60)

    # The sandbox of the tests finds everything: observed hit rates are 1, so a waterfall asks only its
    # first provider, and the five companies already run are answered from the cache.
    after = await estimate(pipeline, body(pipeline, blueprint, COMPANIES))
    assert after["cached_entities"] == 5
    assert after["steps"][1]["expected_credits"] == 10 * 1  # person search: the first provider only
    providers = {p["provider"]: p for p in after["by_provider"]}
    assert providers["prospeo"]["hit_rates"]["person.search"] == 1
    assert after["expected_credits"] < before["expected_credits"]
    assert after["max_credits"] == before["max_credits"]


async def test_estimate_refuses_what_submit_refuses(pipeline: PipelineHarness, database: Database) -> None:
    created = await pipeline.post("/api/blueprints/create", people_at_companies())
    blueprint = created.json()["data"]["id"]
    # Each entity runs as the type its own item names (submit accepts mixed batches), and so is estimated.
    people = {**body(pipeline, blueprint, []), "entities": [{"entity_type": "person", "input": {}}]}
    assert (await pipeline.post("/api/v1/batch/estimate", people)).status_code == 200
    empty = await pipeline.post("/api/v1/batch/estimate", body(pipeline, blueprint, []))
    assert empty.status_code == 400 and "at least one entity" in empty.json()["error"]
    # Another org's blueprint is not there.
    outsider = PipelineHarness(pipeline.client, pipeline.executor, await create_tenant(database, "est-out"))
    foreign = await outsider.post("/api/v1/batch/estimate", body(outsider, blueprint, COMPANIES))
    assert foreign.status_code == 400 and "blueprint not found" in foreign.json()["error"]
    assert (await pipeline.post("/api/v1/batch/estimate", {"entities": []})).status_code == 422
