"""Entity pages: search companies and persons, and one entity with its canonical fields, where each field
came from (operation, provider, run, when, cost), its versions with a diff between any two, and its
timeline."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from dex.console.paging import pager
from dex.console.web import CONSOLE_PREFIX, ConsoleRoute, ConsoleTenant, render
from dex.entities import service
from dex.entities.provenance import expand as expand_provenance
from dex.entities.schemas import CompanyQuery, PersonQuery, TimelineQuery
from dex.errors import NotFound
from dex.kit.deps import SessionDep
from dex.operations.repository import run_operation_costs

router = APIRouter(prefix=f"{CONSOLE_PREFIX}/entities", route_class=ConsoleRoute)

EntityKind = Literal["company", "person"]
PER_PAGE = 25
VERSIONS_SHOWN = 100
# The filters each list offers, as query parameter → label.
FILTERS: dict[str, dict[str, str]] = {
    "company": {"canonical_domain": "Domain", "industry": "Industry contains"},
    "person": {
        "work_email": "Work email",
        "linkedin_url": "LinkedIn URL",
        "title": "Title contains",
        "department": "Department contains",
        "seniority": "Seniority",
    },
}
COLUMNS = {
    "company": ["canonical_name", "canonical_domain", "industry", "employee_range", "hq_country"],
    "person": ["full_name", "title", "work_email", "company_domain", "seniority"],
}


def _kind(request: Request) -> EntityKind:
    return "person" if request.query_params.get("type") == "person" else "company"


@router.get("")
async def entity_list(request: Request, auth: ConsoleTenant, session: SessionDep) -> Response:
    kind = _kind(request)
    paging = pager(request, size=PER_PAGE)
    filters = {key: request.query_params.get(key, "").strip() for key in FILTERS[kind]}
    reads = service.EntityReads(session, auth)
    query_fields: dict[str, Any] = {
        "page": paging.page,
        "per_page": PER_PAGE,
        **{key: value for key, value in filters.items() if value},
    }
    if kind == "company":
        page = await reads.companies(CompanyQuery(**query_fields))
    else:
        page = await reads.persons(PersonQuery(**query_fields))
    return render(
        request,
        "entities/list.html",
        kind=kind,
        filters=filters,
        labels=FILTERS[kind],
        columns=COLUMNS[kind],
        items=page.items,
        pager=paging.with_total(page.total),
    )


def _fields(entity: Any) -> dict[str, Any]:
    """The canonical fields of an entity: its payload, with the typed columns where they are set."""
    fields = dict(entity.canonical_payload or {})
    for attribute in type(entity).__mapper__.column_attrs:
        column = attribute.key
        value = getattr(entity, column)
        if column in fields or column in ("canonical_payload", "field_provenance"):
            continue
        if value is not None and column not in (
            "org_id",
            "entity_id",
            "company_id",
            "created_at",
            "updated_at",
        ):
            fields[column] = value
    return dict(sorted(fields.items()))


async def _payload_at(reads: service.EntityReads, entity: Any, kind: str, version: int) -> dict[str, Any]:
    if version == entity.record_version:
        return entity.canonical_payload or {}
    snapshot = await reads.snapshot(kind, entity.entity_id, version)
    if snapshot is None:
        raise NotFound(f"Version {version} of this entity not found")
    return snapshot.canonical_payload


def _version(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.isdigit() else default


@router.get("/{kind}/{entity_id}")
async def entity_page(
    request: Request, kind: EntityKind, entity_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    reads = service.EntityReads(session, auth)
    entity = await reads.entity(kind, entity_id)
    if entity is None:
        raise NotFound("Entity not found")
    provenance = expand_provenance(entity.field_provenance)
    run_ids = {uuid.UUID(source["run_id"]) for source in provenance.values() if source.get("run_id")}
    costs = await run_operation_costs(session, auth.org_id, sorted(run_ids))
    sources = {
        field: {
            **source,
            "cost": costs.get((uuid.UUID(source["run_id"]), source["operation_id"]))
            if source.get("run_id")
            else None,
        }
        for field, source in provenance.items()
    }
    snapshots, snapshot_total = await reads.snapshots(kind, entity.entity_id, VERSIONS_SHOWN)
    versions = sorted({entity.record_version, *(s.record_version for s in snapshots)}, reverse=True)
    newer = _version(request.query_params.get("b"), entity.record_version)
    older = _version(request.query_params.get("a"), max(1, newer - 1))
    diff = None
    if older != newer:
        diff = service.diff_payloads(
            await _payload_at(reads, entity, kind, older),
            await _payload_at(reads, entity, kind, newer),
            None,
        )
    timeline_paging = pager(request, size=PER_PAGE, param="events")
    timeline = await reads.timeline(
        TimelineQuery(
            entity_type=kind, entity_id=entity.entity_id, page=timeline_paging.page, per_page=PER_PAGE
        )
    )
    return render(
        request,
        "entities/detail.html",
        kind=kind,
        entity=entity,
        fields=_fields(entity),
        sources=sources,
        snapshots=snapshots,
        snapshot_total=snapshot_total,
        versions=versions,
        older=older,
        newer=newer,
        diff=diff,
        events=timeline.items,
        events_pager=timeline_paging.with_total(timeline.total),
    )
