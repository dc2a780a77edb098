"""Entity writes and reads, scoped to one org.

The upsert is concurrency-safe: it locks the existing row (found by its unique natural keys, then by id),
merges (non-null overwrites, null never erases), snapshots the previous version, and bumps
``record_version``. Two transactions creating the same new entity at once collide on a unique index; the
loser rolls back its savepoint and retries, finding the winner's row — so both land and no run fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dex.entities.identity import COLUMNS, UNIQUE_KEYS, canonical_columns, resolve_identity
from dex.entities.models import CompanyEntity, EntitySnapshot, PersonEntity

MODELS = {"company": CompanyEntity, "person": PersonEntity}
MAX_UPSERT_ATTEMPTS = 5


@dataclass(frozen=True)
class UpsertResult:
    entity_type: str
    entity_id: uuid.UUID
    record_version: int
    created: bool
    fields_updated: tuple[str, ...]


# Context key where the pipeline records which operation and provider produced each field.
LINEAGE_KEY = "_lineage"


@dataclass(frozen=True)
class Lineage:
    """Who is writing: stamped on the row and on the provenance of every field it changes."""

    operation_id: str | None
    run_id: uuid.UUID | None
    company_id: uuid.UUID | None


def merge_payload(existing: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Incoming non-null values overwrite; nulls never erase; nested objects are replaced wholesale."""
    merged = dict(existing or {})
    merged.update({key: value for key, value in incoming.items() if value is not None and key != LINEAGE_KEY})
    return merged


def field_sources(entity_type: str, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which operation/provider produced each payload field and canonical column, from the context's
    lineage (a column is attributed to the first of its source keys that has a lineage entry)."""
    lineage = context.get(LINEAGE_KEY)
    if not isinstance(lineage, dict):
        return {}
    sources = {key: value for key, value in lineage.items() if isinstance(value, dict)}
    for column, (keys, _) in COLUMNS[entity_type].items():
        found = next((sources[key] for key in keys if key in sources and context.get(key) is not None), None)
        if found is not None:
            sources[column] = found
    return sources


def merge_columns(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    merged = {}
    for column, value in incoming.items():
        if column == "source_providers":
            ordered = list(existing.get(column) or [])
            ordered += [p for p in value or [] if p not in ordered]
            merged[column] = ordered or None
        else:
            merged[column] = value if value is not None else existing.get(column)
    return merged


class EntityRepository:
    def __init__(self, session: AsyncSession, org_id: uuid.UUID) -> None:
        self.session = session
        self.org_id = org_id

    async def upsert(
        self, entity_type: str, context: dict[str, Any], lineage: Lineage
    ) -> UpsertResult | None:
        """Merge ``context`` into the entity it identifies; None when it identifies nothing."""
        identity = resolve_identity(self.org_id, entity_type, context)
        if identity is None:
            return None
        for attempt in range(MAX_UPSERT_ATTEMPTS):
            try:
                async with self.session.begin_nested():
                    return await self._upsert_once(entity_type, identity.entity_id, context, lineage)
            except IntegrityError:
                if attempt == MAX_UPSERT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _find_for_update(self, entity_type: str, entity_id: uuid.UUID, columns: dict[str, Any]) -> Any:
        model = MODELS[entity_type]
        for column in UNIQUE_KEYS[entity_type]:
            if columns.get(column) is not None:
                row = await self.session.scalar(
                    select(model)
                    .where(model.org_id == self.org_id, getattr(model, column) == columns[column])
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
                if row is not None:
                    return row
        return await self.session.scalar(
            select(model)
            .where(model.org_id == self.org_id, model.entity_id == entity_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def _taken_elsewhere(self, entity_type: str, entity_id: uuid.UUID, column: str, value: Any) -> bool:
        model = MODELS[entity_type]
        other = await self.session.scalar(
            select(model.entity_id).where(
                model.org_id == self.org_id, getattr(model, column) == value, model.entity_id != entity_id
            )
        )
        return other is not None

    async def _upsert_once(
        self, entity_type: str, entity_id: uuid.UUID, context: dict[str, Any], lineage: Lineage
    ) -> UpsertResult:
        model = MODELS[entity_type]
        columns = canonical_columns(entity_type, context)
        now = datetime.now(UTC)
        existing = await self._find_for_update(entity_type, entity_id, columns)
        stamp = {
            "last_enriched_at": now,
            "last_operation_id": lineage.operation_id,
            "last_run_id": lineage.run_id,
        }
        if existing is None:
            provenance = self._provenance(
                columns.keys() | context.keys(),
                columns,
                context,
                lineage,
                now,
                field_sources(entity_type, context),
            )
            await self.session.execute(
                insert(model).values(
                    org_id=self.org_id,
                    entity_id=entity_id,
                    company_id=lineage.company_id,
                    canonical_payload=merge_payload(None, context),
                    field_provenance=provenance,
                    record_version=1,
                    **{k: v for k, v in columns.items() if v is not None},
                    **stamp,
                )
            )
            return UpsertResult(entity_type, entity_id, 1, True, tuple(sorted(provenance)))

        previous = {column: getattr(existing, column) for column in columns}
        merged = merge_columns(previous, columns)
        for column in UNIQUE_KEYS[entity_type]:
            # A unique key that already names another row stays out of this one (it lives in the payload).
            if merged[column] != previous[column] and await self._taken_elsewhere(
                entity_type, existing.entity_id, column, merged[column]
            ):
                merged[column] = previous[column]
        payload = merge_payload(existing.canonical_payload, context)
        changed = {c for c in merged if merged[c] != previous[c]} | {
            k for k, v in payload.items() if (existing.canonical_payload or {}).get(k) != v
        }
        await self.session.execute(
            pg_insert(EntitySnapshot)
            .values(
                org_id=self.org_id,
                entity_type=entity_type,
                entity_id=existing.entity_id,
                record_version=existing.record_version,
                canonical_payload=existing.canonical_payload or {},
                source_run_id=lineage.run_id,
            )
            .on_conflict_do_nothing()
        )
        version = existing.record_version + 1
        await self.session.execute(
            update(model)
            .where(
                and_(
                    model.org_id == self.org_id,
                    model.entity_id == existing.entity_id,
                    model.record_version == existing.record_version,
                )
            )
            .values(
                **merged,
                canonical_payload=payload,
                record_version=version,
                company_id=lineage.company_id or existing.company_id,
                field_provenance={
                    **(existing.field_provenance or {}),
                    **self._provenance(
                        changed, merged, payload, lineage, now, field_sources(entity_type, context)
                    ),
                },
                **stamp,
            )
        )
        return UpsertResult(entity_type, existing.entity_id, version, False, tuple(sorted(changed)))

    @staticmethod
    def _provenance(
        fields: Any,
        columns: dict[str, Any],
        payload: dict[str, Any],
        lineage: Lineage,
        now: datetime,
        sources: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """Field → who last set it: the operation and provider that produced the value when the run's
        lineage knows, else the run's last operation (values that came with the entity's input)."""
        stamp = now.isoformat()
        result = {}
        for field in fields:
            value = columns.get(field) if field in columns else payload.get(field)
            if value is None or field == LINEAGE_KEY:
                continue
            source = sources.get(field, {})
            result[field] = {
                "operation_id": source.get("operation_id", lineage.operation_id),
                "provider": source.get("provider"),
                "run_id": str(lineage.run_id) if lineage.run_id else None,
                "at": stamp,
            }
        return result

    async def find_fresh(
        self, entity_type: str, identifiers: dict[str, Any], max_age_hours: float
    ) -> dict[str, Any] | None:
        """The stored entity behind ``identifiers`` if it was enriched within ``max_age_hours`` (§9.6)."""
        model = MODELS[entity_type]
        columns = canonical_columns(entity_type, identifiers)
        lookups = [c for c in (*UNIQUE_KEYS[entity_type], "linkedin_url") if columns.get(c) is not None]
        for column in dict.fromkeys(lookups):
            row = await self.session.scalar(
                select(model).where(model.org_id == self.org_id, getattr(model, column) == columns[column])
            )
            if row is None or row.last_enriched_at is None:
                continue
            age_hours = (datetime.now(UTC) - row.last_enriched_at).total_seconds() / 3600
            if age_hours > max_age_hours:
                return None
            return {
                "entity_id": str(row.entity_id),
                "last_enriched_at": row.last_enriched_at.isoformat(),
                "age_hours": round(age_hours, 4),
                "canonical_payload": dict(row.canonical_payload or {}),
            }
        return None
