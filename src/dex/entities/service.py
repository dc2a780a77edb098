"""Entity reads — filtered queries with a total and stable cursor pages, timeline, snapshots — and change
detection between an entity's live row and its previous version.

Every read goes through :class:`EntityReads`, which is built from the caller's tenant scope and filters by
its org (and, for company-scoped roles, its company) by construction; an org id is never taken from the
request except through ``tenant_scope``, which only lets a super-admin choose one.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dex.entities import identity, timeline
from dex.entities.models import CompanyEntity, EntitySnapshot, PersonEntity
from dex.entities.repository import MODELS
from dex.entities.schemas import (
    ChangesRequest,
    CompanyQuery,
    CursorPageRequest,
    PersonQuery,
    TimelineQuery,
)
from dex.errors import BadRequest, NotFound
from dex.tenancy.context import AuthContext


@dataclass(frozen=True)
class CursorPage:
    items: list[Any]
    total: int
    next_cursor: str | None


def encode_cursor(at: datetime, key: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), uuid.UUID(key)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


def entity_scope(model: Any, scope: AuthContext, company_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    """Rows of ``scope``'s org — only its own company's for a company-scoped caller — and of ``company_id``
    when one is asked for (``tenant_scope`` has already refused another company to company-scoped roles)."""
    company = scope.own_company_id() or company_id
    condition = model.org_id == scope.org_id
    return condition if company is None else and_(condition, model.company_id == company)


class EntityReads:
    def __init__(self, session: AsyncSession, scope: AuthContext) -> None:
        self.session = session
        self.scope = scope

    async def companies(self, query: CompanyQuery) -> CursorPage:
        model = CompanyEntity
        statement = select(model).where(entity_scope(model, self.scope, query.company_id))
        if domain := identity.domain(query.canonical_domain):
            statement = statement.where(model.canonical_domain == domain)
        if industry := identity.text(query.industry):
            statement = statement.where(model.industry.icontains(industry, autoescape=True))
        return await self._keyset_page(statement, model.updated_at, model.entity_id, query)

    async def persons(self, query: PersonQuery) -> CursorPage:
        model = PersonEntity
        statement = select(model).where(entity_scope(model, self.scope, query.company_id))
        if work_email := identity.text(query.work_email):
            statement = statement.where(model.work_email == work_email.lower())
        if linkedin_url := identity.linkedin(query.linkedin_url):
            statement = statement.where(model.linkedin_url == linkedin_url)
        if seniority := identity.text(query.seniority):
            statement = statement.where(model.seniority == seniority)
        for column, value in ((model.title, query.title), (model.department, query.department)):
            if substring := identity.text(value):
                statement = statement.where(column.icontains(substring, autoescape=True))
        return await self._keyset_page(statement, model.updated_at, model.entity_id, query)

    async def timeline(self, query: TimelineQuery) -> CursorPage:
        event = timeline.all_events()
        statement = select(event).where(
            event.org_id == self.scope.org_id,
            event.entity_type == query.entity_type,
            event.entity_id == query.entity_id,
        )
        if own_company := self.scope.own_company_id():
            statement = statement.where(event.company_id == own_company)
        if query.pipeline_run_id:
            statement = statement.where(event.pipeline_run_id == query.pipeline_run_id)
        if query.submission_id:
            statement = statement.where(event.submission_id == query.submission_id)
        if query.event_type:
            statement = statement.where(event.metadata_["event_type"].astext == query.event_type)
        page = await self._keyset_page(statement, event.created_at, event.id, query)
        await timeline.with_answers(self.session, self.scope.org_id, page.items)
        return page

    async def snapshots(self, entity_type: str, entity_id: uuid.UUID, limit: int) -> tuple[list[Any], int]:
        """The newest ``limit`` snapshots and how many there are. Snapshots carry no company, so a
        company-scoped caller sees those of its own company's entities only."""
        snapshot = EntitySnapshot
        statement = select(snapshot).where(
            snapshot.org_id == self.scope.org_id,
            snapshot.entity_type == entity_type,
            snapshot.entity_id == entity_id,
        )
        if self.scope.company_scoped:
            model = MODELS[entity_type]
            statement = statement.where(
                exists().where(model.entity_id == snapshot.entity_id, entity_scope(model, self.scope))
            )
        total = await self._count(statement)
        items = await self.session.scalars(
            statement.order_by(snapshot.captured_at.desc(), snapshot.record_version.desc()).limit(limit)
        )
        return list(items), total

    async def entity(self, entity_type: str, entity_id: uuid.UUID) -> Any:
        model = MODELS[entity_type]
        return await self.session.scalar(
            select(model).where(entity_scope(model, self.scope), model.entity_id == entity_id)
        )

    async def snapshot(self, entity_type: str, entity_id: uuid.UUID, record_version: int) -> Any:
        snapshot = EntitySnapshot
        return await self.session.scalar(
            select(snapshot).where(
                snapshot.org_id == self.scope.org_id,
                snapshot.entity_type == entity_type,
                snapshot.entity_id == entity_id,
                snapshot.record_version == record_version,
            )
        )

    async def _count(self, statement: Select[Any]) -> int:
        return await self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0

    async def _keyset_page(
        self,
        statement: Select[Any],
        at: InstrumentedAttribute[Any],
        key: InstrumentedAttribute[Any],
        paging: CursorPageRequest,
    ) -> CursorPage:
        """Newest first, ties broken by ``key`` (the order of the ``(org_id, at DESC, key)`` indexes).
        One count of the filtered set and one page query; the page fetches one extra row to know whether
        another page follows."""
        total = await self._count(statement)
        if paging.cursor:
            cursor_at, cursor_key = decode_cursor(paging.cursor)
            statement = statement.where(or_(at < cursor_at, and_(at == cursor_at, key > cursor_key)))
        else:
            statement = statement.offset((paging.page - 1) * paging.per_page)
        rows = list(await self.session.scalars(statement.order_by(at.desc(), key).limit(paging.per_page + 1)))
        items = rows[: paging.per_page]
        more = len(rows) > paging.per_page
        last = items[-1] if items else None
        next_cursor = encode_cursor(getattr(last, at.key), getattr(last, key.key)) if more else None
        return CursorPage(items, total, next_cursor)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def field_change(field: str, previous: Any, current: Any) -> dict[str, Any] | None:
    """How one field changed between two payloads, or None when it did not."""
    if previous == current:
        return None
    change: dict[str, Any] = {"field": field, "previous_value": previous, "current_value": current}
    if previous is None:
        return {**change, "change_type": "added"}
    if current is None:
        return {**change, "change_type": "removed"}
    if _is_number(previous) and _is_number(current):
        delta = current - previous
        percent = round(delta / abs(previous) * 100, 2) if previous != 0 else None
        kind = "increased" if delta > 0 else "decreased"
        return {**change, "change_type": kind, "absolute_change": delta, "percent_change": percent}
    return {**change, "change_type": "changed"}


def diff_payloads(
    previous: dict[str, Any], current: dict[str, Any], fields_to_watch: list[str] | None
) -> dict[str, Any]:
    watched = [field.strip() for field in fields_to_watch or [] if field.strip()]
    fields = watched or sorted(previous.keys() | current.keys())
    changes, unchanged = [], []
    for field in fields:
        change = field_change(field, previous.get(field), current.get(field))
        if change is None:
            unchanged.append(field)
        else:
            changes.append(change)
    return {
        "has_changes": bool(changes),
        "reason": None if changes else "no_changes",
        "changes": changes,
        "unchanged_fields": unchanged,
    }


async def detect_changes(
    session: AsyncSession, scope: AuthContext, request: ChangesRequest
) -> dict[str, Any]:
    report = await entity_changes(
        EntityReads(session, scope), request.entity_type, request.entity_id, request.fields_to_watch
    )
    if report is None:
        raise NotFound("Entity not found")
    return report


async def entity_changes(
    reads: EntityReads, entity_type: str, entity_id: uuid.UUID, fields_to_watch: list[str] | None
) -> dict[str, Any] | None:
    """The live row of an entity of the caller's org against its previous version (unlike the seed system,
    which compared the two newest snapshots and so lagged one upsert behind); None when the caller has no
    such entity."""
    live = await reads.entity(entity_type, entity_id)
    if live is None:
        return None
    report = {
        "entity_type": entity_type,
        "entity_id": live.entity_id,
        "current_record_version": live.record_version,
        "current_snapshot_at": live.updated_at,
        "previous_record_version": None,
        "previous_snapshot_at": None,
    }
    previous = None
    if live.record_version > 1:
        previous = await reads.snapshot(entity_type, live.entity_id, live.record_version - 1)
    if previous is None:
        return {
            **report,
            "has_changes": False,
            "reason": "insufficient_history",
            "changes": [],
            "unchanged_fields": [],
        }
    return {
        **report,
        "previous_record_version": previous.record_version,
        "previous_snapshot_at": previous.captured_at,
        **diff_payloads(previous.canonical_payload, live.canonical_payload or {}, fields_to_watch),
    }
