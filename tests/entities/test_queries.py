"""Entity queries through HTTP: the reference's filters, totals, page and cursor paging, company scoping,
super-admin access, timeline and snapshots."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text

from dex.db.engine import Database
from dex.entities import timeline
from dex.kit.envelopes import JSON_INTEGER_MAX
from tests.conftest import PipelineHarness, Tenant, scalar
from tests.entities.conftest import Post, add_company, add_token, upsert

INDUSTRIES = ("Software", "Retail software", "Logistics")


async def seed_companies(database: Database, tenant: Tenant, count: int, *, start: int = 0) -> None:
    for n in range(start, start + count):
        await upsert(
            database,
            tenant.org_id,
            "company",
            {"domain": f"company{n:02d}.example", "industry": INDUSTRIES[n % 3]},
            company_id=tenant.company_id,
        )


async def all_pages(api: Post, path: str, body: dict) -> list[str]:
    """Entity ids of every page, following ``next_cursor``."""
    ids: list[str] = []
    cursor = body.get("cursor")
    while True:
        response = await api(path, {**body, "cursor": cursor})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        ids += [item["entity_id"] for item in data["items"]]
        cursor = data["pagination"]["next_cursor"]
        if cursor is None:
            return ids


async def test_company_pages_carry_a_total_and_cursors_walk_every_row_once(
    api: Post, database: Database, tenant: Tenant
) -> None:
    await seed_companies(database, tenant, 23)
    first = (await api("companies", {"per_page": 10})).json()["data"]
    assert first["pagination"]["total"] == 23 and first["pagination"]["returned"] == 10
    assert first["pagination"]["page"] == 1 and first["pagination"]["per_page"] == 10
    keys = [(datetime.fromisoformat(item["updated_at"]), item["entity_id"]) for item in first["items"]]
    assert keys == sorted(sorted(keys, key=lambda key: key[1]), key=lambda key: key[0], reverse=True)

    walked = await all_pages(api, "companies", {"per_page": 10})
    assert len(walked) == 23 and len(set(walked)) == 23
    by_page = []
    for page in (1, 2, 3):
        data = (await api("companies", {"per_page": 10, "page": page})).json()["data"]
        by_page += [item["entity_id"] for item in data["items"]]
    assert by_page == walked  # page/per_page and cursors agree while nothing changes


async def test_pages_past_what_postgres_can_skip_are_invalid_requests(api: Post) -> None:
    past = await api("companies", {"page": 2**63})
    assert past.status_code == 422
    assert past.json()["error"].startswith("invalid request: page:")
    last = await api("companies", {"page": JSON_INTEGER_MAX, "per_page": 100})
    assert (last.status_code, last.json()["data"]["items"]) == (200, [])


async def test_a_cursor_stays_stable_while_entities_are_added(
    api: Post, database: Database, tenant: Tenant
) -> None:
    await seed_companies(database, tenant, 12)
    first = (await api("companies", {"per_page": 5})).json()["data"]
    seen = [item["entity_id"] for item in first["items"]]
    await seed_companies(database, tenant, 4, start=50)  # newer rows land before the cursor
    seen += await all_pages(api, "companies", {"per_page": 5, "cursor": first["pagination"]["next_cursor"]})
    assert len(seen) == 12 and len(set(seen)) == 12
    # Offset paging would have shown page 1's last rows again on page 2.
    second = (await api("companies", {"per_page": 5, "page": 2})).json()["data"]
    assert {item["entity_id"] for item in second["items"]} & set(seen[:5])


async def test_company_filters(api: Post, database: Database, tenant: Tenant) -> None:
    await seed_companies(database, tenant, 9)
    other_company = await add_company(database, tenant.org_id, "Other client")
    await upsert(database, tenant.org_id, "company", {"domain": "50%.example"}, company_id=other_company)

    async def found(**filters: object) -> list[str]:
        response = await api("companies", filters)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["pagination"]["total"] == len(data["items"])
        return sorted(item["canonical_domain"] for item in data["items"])

    assert await found(canonical_domain="  https://www.Company07.example/ ") == ["company07.example"]
    assert await found(industry="SOFTWARE") == [f"company{n:02d}.example" for n in range(9) if n % 3 != 2]
    assert await found(industry="retail") == ["company01.example", "company04.example", "company07.example"]
    assert await found(industry="%") == []  # a literal substring, not a pattern
    assert await found(company_id=str(other_company)) == ["50%.example"]
    assert len(await found(company_id=str(tenant.company_id))) == 9
    assert (await api("companies", {"cursor": "not-a-cursor"})).status_code == 400
    assert (await api("companies", {"per_page": 101})).status_code == 422


async def test_person_filters(api: Post, database: Database, tenant: Tenant) -> None:
    people = [
        {
            "full_name": "Ava Patel",
            "email": "Ava@Acme.io",
            "linkedin_url": "https://www.linkedin.com/in/ava-patel/",
            "title": "VP Engineering",
            "seniority": "vp",
            "department": "Engineering",
        },
        {"full_name": "Ben Ode", "email": "ben@acme.io", "title": "Engineer", "seniority": "ic"},
        {"full_name": "Cy Lu", "email": "cy@acme.io", "title": "Head of Sales", "department": "Sales Ops"},
    ]
    for person in people:
        await upsert(database, tenant.org_id, "person", person, company_id=tenant.company_id)

    async def names(**filters: object) -> list[str]:
        data = (await api("persons", filters)).json()["data"]
        assert data["pagination"]["total"] == len(data["items"])
        return sorted(item["full_name"] for item in data["items"])

    assert await names() == ["Ava Patel", "Ben Ode", "Cy Lu"]
    assert await names(work_email=" AVA@acme.IO ") == ["Ava Patel"]
    assert await names(linkedin_url="HTTPS://www.linkedin.com/in/Ava-Patel") == ["Ava Patel"]
    assert await names(title="engineer") == ["Ava Patel", "Ben Ode"]
    assert await names(seniority="vp") == ["Ava Patel"]
    assert await names(seniority="VP") == []  # exact, as in the reference
    assert await names(department="sales") == ["Cy Lu"]


async def test_company_scoped_callers_see_their_company_only(
    api: Post, database: Database, tenant: Tenant
) -> None:
    other_company = await add_company(database, tenant.org_id, "Other client")
    ours = await upsert(
        database, tenant.org_id, "company", {"domain": "ours.io"}, company_id=tenant.company_id
    )
    theirs = await upsert(
        database, tenant.org_id, "company", {"domain": "theirs.io"}, company_id=other_company
    )
    await upsert(database, tenant.org_id, "company", {"domain": "theirs.io", "industry": "Retail"})
    member = await add_token(database, tenant.org_id, tenant.company_id, "member")

    listed = (await api("companies", {}, member)).json()["data"]
    assert [item["entity_id"] for item in listed["items"]] == [str(ours.entity_id)]
    assert listed["pagination"]["total"] == 1
    refused = await api("companies", {"company_id": str(other_company)}, member)
    assert refused.status_code == 403 and refused.json() == {"error": "Forbidden company access"}

    snapshots = await api("snapshots", {"entity_type": "company", "entity_id": str(theirs.entity_id)}, member)
    assert snapshots.json()["data"]["items"] == []  # snapshots follow their entity's company (§14.3.24)
    admin_view = await api("snapshots", {"entity_type": "company", "entity_id": str(theirs.entity_id)})
    assert admin_view.json()["data"]["returned"] == 1
    changes = await api("changes", {"entity_type": "company", "entity_id": str(theirs.entity_id)}, member)
    assert changes.status_code == 404


async def test_super_admins_name_the_org_and_get_400_without_one(
    api: Post, database: Database, tenant: Tenant, super_admin: dict[str, str]
) -> None:
    entity = await upsert(
        database, tenant.org_id, "company", {"domain": "acme.io"}, company_id=tenant.company_id
    )
    by_id = {"entity_type": "company", "entity_id": str(entity.entity_id)}
    bodies = {
        "companies": {},
        "persons": {},
        "timeline": by_id,
        "snapshots": by_id,
        "changes": by_id,
        "export": {"entity_type": "company"},
    }
    for path, body in bodies.items():
        response = await api(path, body, super_admin)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == {"error": "org_id is required for super-admin requests"}
    scoped = await api("companies", {"org_id": str(tenant.org_id)}, super_admin)
    assert [item["canonical_domain"] for item in scoped.json()["data"]["items"]] == ["acme.io"]
    elsewhere = await api("companies", {"org_id": str(uuid.uuid4())}, super_admin)
    assert elsewhere.json()["data"]["items"] == []


async def test_snapshots_newest_first_with_limit_and_total(
    api: Post, database: Database, tenant: Tenant
) -> None:
    for employees in (10, 20, 30):
        entity = await upsert(
            database, tenant.org_id, "company", {"domain": "acme.io", "employee_count": employees}
        )
    response = await api(
        "snapshots", {"entity_type": "company", "entity_id": str(entity.entity_id), "limit": 1}
    )
    data = response.json()["data"]
    assert data["entity_id"] == str(entity.entity_id) and data["entity_type"] == "company"
    assert (data["returned"], data["total"]) == (1, 2)
    assert data["items"][0]["record_version"] == 2
    assert data["items"][0]["canonical_payload"]["employee_count"] == 20


async def test_timeline_of_an_enriched_company(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint(
        "profiles", [{"position": 1, "operation_id": "company.enrich.profile"}]
    )
    submission = await pipeline.submit(blueprint, [{"domain": "https://www.Acme.io/"}])
    await pipeline.run_until_idle()
    company = (await pipeline.post("/api/v1/entities/companies", {"canonical_domain": "acme.io"})).json()
    entity_id = company["data"]["items"][0]["entity_id"]
    by_entity = {"entity_type": "company", "entity_id": entity_id}

    timeline = (await pipeline.post("/api/v1/entities/timeline", by_entity)).json()["data"]
    assert timeline["entity_id"] == entity_id and timeline["pagination"]["total"] == 2
    kinds = [item["metadata"]["event_type"] for item in timeline["items"]]
    assert sorted(kinds) == ["entity_upsert", "step_execution"]
    assert all(item["submission_id"] == submission for item in timeline["items"])

    first = (await pipeline.post("/api/v1/entities/timeline", {**by_entity, "per_page": 1})).json()["data"]
    assert first["pagination"]["returned"] == 1 and first["pagination"]["next_cursor"]
    rest = await pipeline.post(
        "/api/v1/entities/timeline",
        {**by_entity, "per_page": 1, "cursor": first["pagination"]["next_cursor"]},
    )
    rest_data = rest.json()["data"]
    assert rest_data["pagination"]["next_cursor"] is None
    assert [first["items"][0]["id"], rest_data["items"][0]["id"]] == [
        item["id"] for item in timeline["items"]
    ]

    steps = await pipeline.post("/api/v1/entities/timeline", {**by_entity, "event_type": "step_execution"})
    step = steps.json()["data"]["items"]
    assert len(step) == 1 and step[0]["operation_id"] == "company.enrich.profile"
    run_id = step[0]["pipeline_run_id"]
    by_run = await pipeline.post("/api/v1/entities/timeline", {**by_entity, "pipeline_run_id": run_id})
    assert by_run.json()["data"]["pagination"]["total"] == 2
    by_other_run = {**by_entity, "pipeline_run_id": str(uuid.uuid4())}
    assert (await pipeline.post("/api/v1/entities/timeline", by_other_run)).json()["data"]["items"] == []
    by_submission = {**by_entity, "submission_id": submission}
    assert len((await pipeline.post("/api/v1/entities/timeline", by_submission)).json()["data"]["items"]) == 2


async def test_timeline_events_show_the_answers_their_attempts_store_once(
    pipeline: PipelineHarness, database: Database
) -> None:
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
    ]
    blueprint = await pipeline.blueprint("answers", steps)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    root = (await pipeline.status(submission))["runs"][0]
    step_results = (await pipeline.post("/api/pipeline-runs/get", {"id": root["pipeline_run_id"]})).json()[
        "data"
    ]["step_results"]
    attempts_of = {
        step["step_position"]: step["output_payload"]["operation_result"]["provider_attempts"]
        for step in step_results
    }
    assert all(attempt.get("raw_response") for attempts in attempts_of.values() for attempt in attempts)
    company = (await pipeline.post("/api/v1/entities/companies", {"canonical_domain": "acme.io"})).json()
    by_entity = {"entity_type": "company", "entity_id": company["data"]["items"][0]["entity_id"]}
    events = (await pipeline.post("/api/v1/entities/timeline", by_entity)).json()["data"]["items"]
    shown = {
        (event["metadata"]["event_type"], event["metadata"].get("step_position")): event["metadata"]
        for event in events
    }
    # As the seed system shows them: the step's own attempts, answers included, and nothing else added.
    assert shown[("step_execution", 1)]["provider_attempts"] == attempts_of[1]
    assert shown[("step_execution", 2)]["provider_attempts"] == attempts_of[2]
    assert shown[("fan_out_discovery", None)]["provider_attempts"] == attempts_of[2]
    assert not any("provider_answers_of" in metadata for metadata in shown.values())
    stored = await scalar(
        database,
        "SELECT count(*) FROM entity_timeline, jsonb_array_elements(metadata -> 'provider_attempts') attempt "
        "WHERE submission_id = :s AND attempt ? 'raw_response'",
        s=submission,
    )
    assert stored == 0  # stored once, with the attempts


async def test_an_upsert_event_read_from_its_run_is_the_event_written_for_it(
    pipeline: PipelineHarness, database: Database
) -> None:
    """A succeeded run keeps its merge, and its ``entity_upsert`` event is read from it: the same event,
    field for field, as the one dex wrote for a merge before (migration 0021)."""
    blueprint = await pipeline.blueprint(
        "profiles", [{"position": 1, "operation_id": "company.enrich.profile"}]
    )
    await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    async with database.transaction() as session:
        run = (await session.execute(text("SELECT * FROM pipeline_runs WHERE entity_id IS NOT NULL"))).one()
        merge = run.upsert
        written = {
            "org_id": run.org_id,
            "company_id": run.company_id,
            "entity_type": run.entity_type,
            "entity_id": run.entity_id,
            "operation_id": merge["last_operation_id"],
            "pipeline_run_id": run.id,
            "submission_id": run.submission_id,
            "provider": None,
            "status": "found",
            "fields_updated": merge["fields_updated"],
            "summary": f"entity created (version {merge['record_version']})",
            "metadata_": {
                "event_type": "entity_upsert",
                "last_operation_id": merge["last_operation_id"],
                "record_version": merge["record_version"],
                "created": merge["created"],
                "pipeline_entity_type": run.entity_type,
            },
        }
        await timeline.insert_events(session, [written])
    by_entity = {"entity_type": "company", "entity_id": str(run.entity_id), "event_type": "entity_upsert"}
    events = (await pipeline.post("/api/v1/entities/timeline", by_entity)).json()["data"]["items"]
    assert len(events) == 2
    read, stored = ({k: v for k, v in event.items() if k not in ("id", "created_at")} for event in events)
    assert read == stored
    assert read["summary"] == "entity created (version 1)"
    assert read["metadata"]["last_operation_id"] == "company.enrich.profile"


async def test_a_fan_out_child_shows_its_discovery_read_from_its_run(
    pipeline: PipelineHarness, database: Database
) -> None:
    """The child's ``fan_out_discovery`` event, as the seed system wrote it (reference §10.3), read from the
    child's run: found by the fan-out's operation, via the provider that answered, with the child's input."""
    steps = [
        {"position": 1, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}}
    ]
    blueprint = await pipeline.blueprint("discoveries", steps)
    await pipeline.submit(blueprint, [{"domain": "acme.io", "company_name": "Acme"}])
    await pipeline.run_until_idle()
    async with database.transaction() as session:
        children = (
            await session.execute(text("SELECT * FROM pipeline_runs WHERE depth = 1 ORDER BY entity_index"))
        ).all()
    assert len(children) == 2
    of_company = {
        "entity_type": "company",
        "entity_id": await _company(pipeline),
        "event_type": "fan_out_discovery",
    }
    parent_events = (await pipeline.post("/api/v1/entities/timeline", of_company)).json()["data"]["items"]
    assert [event["metadata"]["child_count_created"] for event in parent_events] == [2]
    for child in children:
        by_entity = {"entity_type": child.entity_type, "entity_id": str(child.entity_id)}
        events = (await pipeline.post("/api/v1/entities/timeline", by_entity)).json()["data"]["items"]
        [event] = [event for event in events if event["metadata"]["event_type"] == "fan_out_discovery"]
        assert event["pipeline_run_id"] == str(child.id)
        assert event["operation_id"] == "person.search" and event["status"] == "found"
        assert event["provider"] == parent_events[0]["provider"] and event["provider"]
        assert event["summary"] == f"person.search: discovered person #{child.entity_index}"
        assert event["fields_updated"] == sorted(k for k, v in child.entity_input.items() if v is not None)
        assert event["metadata"] == {
            "event_type": "fan_out_discovery",
            "parent_pipeline_run_id": str(child.parent_pipeline_run_id),
        }
        assert event["created_at"]


async def test_step_events_read_from_their_rows_are_the_events_written_for_them(
    pipeline: PipelineHarness, database: Database
) -> None:
    """Each step's ``step_execution`` event, read from its row, is the event ``step_event`` writes for the
    step as the API shows it — a step that found, the fan-out step, the placeholder skipped after it."""
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 1}},
        {"position": 3, "operation_id": "person.contact.resolve_email"},
    ]
    blueprint = await pipeline.blueprint("read steps", steps)
    submission = await pipeline.submit(blueprint, [{"domain": "acme.io"}])
    await pipeline.run_until_idle()
    root = (await pipeline.status(submission))["runs"][0]["pipeline_run_id"]
    run = (await pipeline.post("/api/pipeline-runs/get", {"id": root})).json()["data"]
    company = await _company(pipeline)
    twins = []
    for step in run["step_results"]:
        output = step["output_payload"] or {}
        twins.append(
            timeline.step_event(
                org_id=pipeline.tenant.org_id,
                company_id=pipeline.tenant.company_id,
                entity_type="company",
                entity_id=uuid.UUID(company),
                submission_id=uuid.UUID(submission),
                pipeline_run_id=uuid.UUID(root),
                step_result_id=uuid.UUID(step["id"]),
                step_position=step["step_position"],
                operation_id=step["operation_id"],
                step_status=step["status"],
                operation_result=output.get("operation_result"),
                skip_reason=output.get("skip_reason"),
                duration_ms=step["duration_ms"],
                error_message=step["error_message"],
                error_details=step["error_details"],
            )
        )
    async with database.transaction() as session:
        await timeline.insert_events(session, twins)
    by_entity = {"entity_type": "company", "entity_id": company, "event_type": "step_execution"}
    events = (await pipeline.post("/api/v1/entities/timeline", by_entity)).json()["data"]["items"]
    assert len(events) == 2 * len(run["step_results"]) == 6
    by_step: dict[str, list[dict]] = {}
    for event in events:
        by_step.setdefault(event["step_result_id"], []).append(
            {key: value for key, value in event.items() if key not in ("id", "created_at")}
        )
    for step in run["step_results"]:
        read, written = by_step[step["id"]]
        assert read == written
    assert [by_step[step["id"]][0]["status"] for step in run["step_results"]] == ["found", "found", "skipped"]


async def _company(pipeline: PipelineHarness) -> str:
    found = (await pipeline.post("/api/v1/entities/companies", {"canonical_domain": "acme.io"})).json()
    return found["data"]["items"][0]["entity_id"]
