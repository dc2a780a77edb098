"""Change detection: the live row against its previous version, in the caller's org only."""

from __future__ import annotations

from dex.db.engine import Database
from dex.entities.service import diff_payloads
from tests.conftest import Tenant, create_tenant
from tests.entities.conftest import Post, upsert


async def test_changes_compare_the_live_row_with_its_previous_version(
    api: Post, database: Database, tenant: Tenant
) -> None:
    first = {
        "domain": "acme.io",
        "employee_count": 100,
        "industry": "Software",
        "open_roles": 0,
        "rating": 4.0,
    }
    entity = await upsert(database, tenant.org_id, "company", first)
    by_id = {"entity_type": "company", "entity_id": str(entity.entity_id)}
    initial = (await api("changes", by_id)).json()["data"]
    assert initial["has_changes"] is False and initial["reason"] == "insufficient_history"
    assert initial["current_record_version"] == 1 and initial["previous_record_version"] is None

    # The reference compared the two newest snapshots and would still see no history here (§14.4.38).
    second = {
        "domain": "acme.io",
        "employee_count": 150,
        "industry": "Fintech",
        "open_roles": 5,
        "rating": 3.0,
    }
    await upsert(
        database, tenant.org_id, "company", {**second, "description": "Payments", "industry_primary": None}
    )
    report = (await api("changes", by_id)).json()["data"]
    assert report["has_changes"] is True and report["reason"] is None
    assert (report["previous_record_version"], report["current_record_version"]) == (1, 2)
    assert report["previous_snapshot_at"] <= report["current_snapshot_at"]
    changes = {change["field"]: change for change in report["changes"]}
    assert changes["employee_count"] == {
        "field": "employee_count",
        "previous_value": 100,
        "current_value": 150,
        "change_type": "increased",
        "absolute_change": 50.0,
        "percent_change": 50.0,
    }
    assert changes["rating"]["change_type"] == "decreased" and changes["rating"]["percent_change"] == -25.0
    assert (
        changes["open_roles"]["change_type"] == "increased"
        and changes["open_roles"]["percent_change"] is None
    )
    assert changes["industry"]["change_type"] == "changed"
    assert changes["description"]["change_type"] == "added"
    assert report["unchanged_fields"] == ["domain"]  # industry_primary=null erased nothing

    watched = (await api("changes", {**by_id, "fields_to_watch": ["employee_count", " ", "domain"]})).json()
    assert [change["field"] for change in watched["data"]["changes"]] == ["employee_count"]
    assert watched["data"]["unchanged_fields"] == ["domain"]

    await upsert(database, tenant.org_id, "company", second)
    settled = (await api("changes", by_id)).json()["data"]
    assert settled["has_changes"] is False and settled["reason"] == "no_changes"
    assert (settled["previous_record_version"], settled["current_record_version"]) == (2, 3)


async def test_changes_are_read_in_the_callers_org_only(
    api: Post, database: Database, tenant: Tenant, super_admin: dict[str, str]
) -> None:
    person = await upsert(database, tenant.org_id, "person", {"email": "ava@acme.io", "title": "CTO"})
    await upsert(database, tenant.org_id, "person", {"email": "ava@acme.io", "title": "CEO"})
    by_id = {"entity_type": "person", "entity_id": str(person.entity_id)}
    outsider = await create_tenant(database, "globex")

    missing = await api("changes", by_id, outsider.headers)
    assert missing.status_code == 404 and missing.json() == {"error": "Entity not found"}
    # An org id in the input never widens a tenant's reach (reference §14.3.22).
    forged = await api("changes", {**by_id, "org_id": str(tenant.org_id)}, outsider.headers)
    assert forged.status_code == 403
    assert "CEO" not in forged.text and "CEO" not in missing.text

    ours = (await api("changes", by_id)).json()["data"]
    assert [(c["field"], c["previous_value"], c["current_value"]) for c in ours["changes"]] == [
        ("title", "CTO", "CEO")
    ]
    as_admin = await api("changes", {**by_id, "org_id": str(tenant.org_id)}, super_admin)
    assert as_admin.json()["data"]["changes"] == ours["changes"]


def test_removed_and_changed_types() -> None:
    report = diff_payloads({"a": 1, "b": "x", "c": True}, {"a": None, "b": ["x"], "c": 1}, None)
    kinds = {change["field"]: change["change_type"] for change in report["changes"]}
    assert kinds == {"a": "removed", "b": "changed"}
    assert report["unchanged_fields"] == ["c"]  # True == 1, as in the reference's equality
