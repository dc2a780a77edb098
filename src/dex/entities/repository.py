"""Entity writes and reads. Reads and single upserts are scoped to one org (:class:`EntityRepository`);
a batch of upserts names the org of each write, since the executor's batch writer acts for many orgs.

Upserts are set-based: :func:`upsert_entities` writes a batch of contexts (the runs a writer batch
finished) with a few statements per entity type, whatever the batch's size. It locks every
row the batch can touch — found by the unique natural keys and the id of each context — with one
statement per entity type, in ``(org_id, entity_id)`` order, so concurrent writers take their locks in one
order and do not deadlock on entities. It then merges the contexts in memory one after the other, exactly
as one upsert after another would: the existing row is found by its unique natural keys, then by id;
non-null overwrites, null never erases; a unique key that already names another row stays out of this
one; each superseded version is snapshotted and ``record_version`` bumped. Last, it writes the changed
rows, the new rows and the snapshots. Two transactions creating the same new entity at once collide on a
unique index; the loser rolls back its savepoint (or, for the executor's recording, its whole transaction)
and starts over, finding the winner's row — so both land and no run fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict, cast

from sqlalchemy import ColumnElement, RowMapping, TextClause, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import Writes, dumps, recordset
from dex.entities.identity import COLUMNS, UNIQUE_KEYS, Identity, canonical_columns, resolve_identity
from dex.entities.models import CompanyEntity, EntitySnapshot, PersonEntity
from dex.entities.provenance import record as record_provenance

MODELS: dict[str, type[CompanyEntity | PersonEntity]] = {"company": CompanyEntity, "person": PersonEntity}
MAX_UPSERT_ATTEMPTS = 5


async def entity_row(
    session: AsyncSession, model: type[CompanyEntity | PersonEntity], *where: ColumnElement[bool]
) -> CompanyEntity | PersonEntity | None:
    """The one row of ``model`` that ``where`` picks, if any. SQLAlchemy types a select over either model as
    one over their common base class, so the row's type is restated here."""
    return cast(CompanyEntity | PersonEntity | None, await session.scalar(select(model).where(*where)))


@dataclass(frozen=True)
class UpsertResult:
    entity_type: str
    entity_id: uuid.UUID
    record_version: int
    created: bool
    fields_updated: tuple[str, ...]
    # Unique keys the context carried that stayed with another entity: (column, value, that entity's id).
    conflicts: tuple[tuple[str, str, uuid.UUID], ...] = ()


# Context key where the pipeline records which operation and provider produced each field. It travels
# with every stored context, so it is grouped by source ("operation_id|provider": [fields]) rather than
# repeating the source for each field (a third the size).
LINEAGE_KEY = "_lineage"


def lineage_of(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field → its source (``{operation_id, provider}``) from a context's lineage, grouped or (contexts
    stored before it was grouped) field by field."""
    stored = context.get(LINEAGE_KEY)
    if not isinstance(stored, dict):
        return {}
    sources: dict[str, dict[str, Any]] = {}
    for key, value in stored.items():
        if isinstance(value, list):
            operation_id, _, provider = key.partition("|")
            source = {"operation_id": operation_id or None, "provider": provider or None}
            sources.update(dict.fromkeys(value, source))
        elif isinstance(value, dict):
            sources[key] = value
    return sources


def _source_key(source: dict[str, Any]) -> str:
    return f"{source.get('operation_id') or ''}|{source.get('provider') or ''}"


def attributed(stored: Any, fields: list[str], source: dict[str, Any]) -> dict[str, list[str]]:
    """The stored lineage ``stored`` (grouped, or field by field) with ``fields`` now attributed to
    ``source``, grouped. The groups it leaves alone are shared with ``stored``, never changed."""
    moved = set(fields)
    groups: dict[str, list[str]] = {}
    for key, value in stored.items() if isinstance(stored, dict) else ():
        if isinstance(value, list):
            kept = [field for field in value if field not in moved] if moved.intersection(value) else value
            if kept:
                groups[key] = [*groups[key], *kept] if key in groups else kept
        elif isinstance(value, dict) and key not in moved:
            groups[_source_key(value)] = [*groups.get(_source_key(value), ()), key]
    if fields:
        key = _source_key(source)
        groups[key] = [*groups.get(key, ()), *dict.fromkeys(fields)]
    return groups


@dataclass(frozen=True)
class Lineage:
    """Who is writing: stamped on the row and on the provenance of every field it changes."""

    operation_id: str | None
    run_id: uuid.UUID | None
    company_id: uuid.UUID | None


@dataclass(frozen=True)
class EntityWrite:
    """A context to merge into the entity of ``org_id`` it identifies."""

    org_id: uuid.UUID
    entity_type: str
    context: dict[str, Any]
    lineage: Lineage


# A list item's ``raw`` is a provider's own answer for that item (search results): the client sees it in the
# step output and the provider attempt keeps the whole answer, so the entity does not store another copy.
PROVIDER_ITEM_KEY = "raw"


def _without_provider_items(value: Any) -> Any:
    if not isinstance(value, list) or not any(
        isinstance(item, dict) and PROVIDER_ITEM_KEY in item for item in value
    ):
        return value
    return [
        {key: inner for key, inner in item.items() if key != PROVIDER_ITEM_KEY}
        if isinstance(item, dict)
        else item
        for item in value
    ]


def merge_payload(existing: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Incoming non-null values overwrite; nulls never erase; nested objects are replaced wholesale."""
    merged = dict(existing or {})
    merged.update(
        {
            key: _without_provider_items(value)
            for key, value in incoming.items()
            if value is not None and key != LINEAGE_KEY
        }
    )
    return merged


def field_sources(entity_type: str, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which operation/provider produced each payload field and canonical column, from the context's
    lineage (a column is attributed to the first of its source keys that has a lineage entry)."""
    sources = lineage_of(context)
    if not sources:
        return {}
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


def provenance(
    fields: Any,
    columns: dict[str, Any],
    payload: dict[str, Any],
    lineage: Lineage,
    now: datetime,
    sources: dict[str, dict[str, Any]],
    stored: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The ``stored`` provenance once this write set ``fields``: each field's operation and provider
    that produced the value when the run's lineage knows, else the run's last operation (values that came
    with the entity's input)."""
    unattributed: dict[str, Any] = {}
    changes = {}
    for field in fields:
        value = columns.get(field) if field in columns else payload.get(field)
        if value is None or field == LINEAGE_KEY:
            continue
        source = sources.get(field, unattributed)
        changes[field] = (source.get("operation_id", lineage.operation_id), source.get("provider"))
    run_id = str(lineage.run_id) if lineage.run_id else None
    return record_provenance(stored, changes, run_id=run_id, at=now.isoformat())


# --- set-based upserts ----------------------------------------------------------------------------------


class EntityStatements:
    """The statements of one entity type's set-based upsert, built once."""

    def __init__(self, entity_type: str) -> None:
        table = MODELS[entity_type].__table__
        unique = UNIQUE_KEYS[entity_type]
        # What a merge reads and writes; the stamps are written only.
        self.state = (
            "company_id",
            *COLUMNS[entity_type],
            "record_version",
            "canonical_payload",
            "field_provenance",
        )
        written = ("org_id", "entity_id", *self.state, "last_enriched_at", "last_operation_id", "last_run_id")
        holders = " UNION ".join(
            f"SELECT holder.org_id, holder.entity_id FROM wanted_keys k JOIN {table.name} holder "
            f"ON holder.org_id = k.org_id AND holder.{column} = k.{column} AND holder.{column} IS NOT NULL"
            for column in unique
        )
        # Every row a context names by id, or that holds one of its unique keys (which decides whether
        # the key is taken elsewhere); locked in (org_id, entity_id) order by every writer.
        self.lock = text(
            f"""
            WITH wanted_keys AS (SELECT * FROM {recordset(table, ("org_id", "entity_id", *unique))}),
            wanted AS (SELECT org_id, entity_id FROM wanted_keys UNION {holders})
            SELECT e.org_id, e.entity_id, {", ".join(f"e.{column}" for column in self.state)}
            FROM wanted JOIN {table.name} e ON e.org_id = wanted.org_id AND e.entity_id = wanted.entity_id
            ORDER BY e.org_id, e.entity_id
            FOR UPDATE OF e
            """
        )
        assignments = ", ".join(f"{column} = v.{column}" for column in written[2:])
        self.update = text(
            f"UPDATE {table.name} e SET {assignments} "
            f"FROM {recordset(table, written, 'locked_version bigint')} "
            "WHERE e.org_id = v.org_id AND e.entity_id = v.entity_id AND e.record_version = v.locked_version"
        )
        self.insert = text(
            f"INSERT INTO {table.name} ({', '.join(written)}) "
            f"SELECT {', '.join(written)} FROM {recordset(table, written)}"
        )


class SnapshotRow(TypedDict):
    """An entity's previous version, as the batch writes it to ``entity_snapshots``."""

    org_id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    record_version: int
    canonical_payload: dict[str, Any]
    source_run_id: uuid.UUID | None


SNAPSHOT_COLUMNS = tuple(SnapshotRow.__annotations__)
INSERT_SNAPSHOTS = text(
    f"INSERT INTO entity_snapshots ({', '.join(SNAPSHOT_COLUMNS)}) "
    f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM {recordset(EntitySnapshot.__table__, SNAPSHOT_COLUMNS)} "
    "ON CONFLICT DO NOTHING"
)
# Entity types in the order every writer locks them.
STATEMENTS = {entity_type: EntityStatements(entity_type) for entity_type in MODELS}


@dataclass
class EntityRow:
    """An entity row as the batch has left it so far."""

    values: dict[str, Any]
    # The row as locked; None for a row this batch creates.
    locked: dict[str, Any] | None
    written: bool = False

    @property
    def key(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.values["org_id"], self.values["entity_id"]


def _json_row(values: dict[str, Any]) -> dict[str, Any]:
    # NUMERIC values travel as their exact spelling, not as floats.
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in values.items()}


class EntityBatch:
    """One entity type's locked rows and the batch's rows, merged into in turn."""

    def __init__(self, entity_type: str, locked: Sequence[RowMapping], now: datetime) -> None:
        self.entity_type = entity_type
        self.now = now
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], EntityRow] = {}
        # (org_id, unique column, value) → the row holding that value now.
        self.holders: dict[tuple[uuid.UUID, str, Any], EntityRow] = {}
        self.snapshots: list[SnapshotRow] = []
        for values in locked:
            self._hold(EntityRow(dict(values), dict(values)), {})

    def _hold(self, row: EntityRow, previous: dict[str, Any]) -> None:
        """Index ``row`` under its unique keys, dropping the values it held before (``previous``)."""
        org_id = row.values["org_id"]
        for column in UNIQUE_KEYS[self.entity_type]:
            old, new = previous.get(column), row.values[column]
            if old is not None and old != new and self.holders.get((org_id, column, old)) is row:
                del self.holders[(org_id, column, old)]
            if new is not None:
                self.holders[(org_id, column, new)] = row
        self.rows[row.key] = row

    def _find(self, org_id: uuid.UUID, identity: Identity) -> EntityRow | None:
        """The row a context merges into: the one it names by ``entity_id`` if that exists, else the
        holder of its strongest unique key, else the row of its derived id."""
        columns = identity.columns
        if identity.explicit and (named := self.rows.get((org_id, identity.entity_id))) is not None:
            return named
        for column in UNIQUE_KEYS[self.entity_type]:
            if columns.get(column) is not None:
                row = self.holders.get((org_id, column, columns[column]))
                if row is not None and not self._someone_else(row, columns):
                    return row
        return self.rows.get((org_id, identity.entity_id))

    def _someone_else(self, row: EntityRow, columns: dict[str, Any]) -> bool:
        """Whether ``row`` is a different person than the context, though they share a weaker key: two
        LinkedIn profiles are two people, whatever email a provider guessed for both."""
        if self.entity_type != "person":
            return False
        theirs, ours = row.values.get("linkedin_url"), columns.get("linkedin_url")
        return theirs is not None and ours is not None and theirs != ours

    def _taken_keys(
        self, org_id: uuid.UUID, columns: dict[str, Any], row: EntityRow | None
    ) -> list[tuple[str, str, EntityRow]]:
        """The context's unique keys another row holds: they stay with that row."""
        taken = []
        for column in UNIQUE_KEYS[self.entity_type]:
            holder = self.holders.get((org_id, column, columns.get(column)))
            if columns.get(column) is not None and holder is not None and holder is not row:
                taken.append((column, columns[column], holder))
        return taken

    def merge(self, write: EntityWrite, identity: Identity) -> UpsertResult:
        """Merge one context, as one upsert of it would."""
        context, lineage, columns = write.context, write.lineage, identity.columns
        sources = field_sources(self.entity_type, context)
        stamp = {
            "last_enriched_at": self.now,
            "last_operation_id": lineage.operation_id,
            "last_run_id": lineage.run_id,
        }
        row = self._find(write.org_id, identity)
        taken = self._taken_keys(write.org_id, columns, row)
        conflicts = tuple((column, value, holder.values["entity_id"]) for column, value, holder in taken)
        if row is None and taken:
            # A new entity does not take a key another one holds: the key, and the context fields it
            # came from, stay out of it.
            columns = {**columns, **{column: None for column, _, _ in taken}}
            dropped = {key for column, _, _ in taken for key in COLUMNS[self.entity_type][column][0]}
            context = {key: value for key, value in context.items() if key not in dropped}
        if row is None:
            created = provenance(
                columns.keys() | context.keys(), columns, context, lineage, self.now, sources
            )
            row = EntityRow(
                {
                    "org_id": write.org_id,
                    "entity_id": identity.entity_id,
                    "company_id": lineage.company_id,
                    **columns,
                    "record_version": 1,
                    "canonical_payload": merge_payload(None, context),
                    "field_provenance": created,
                    **stamp,
                },
                None,
                written=True,
            )
            self._hold(row, {})
            return UpsertResult(
                self.entity_type,
                identity.entity_id,
                1,
                True,
                tuple(sorted(field for source in created for field in source["fields"])),
                conflicts,
            )

        existing = row.values
        previous = {column: existing[column] for column in columns}
        merged = merge_columns(previous, columns)
        for column in UNIQUE_KEYS[self.entity_type]:
            # A unique key that already names another row stays out of this one (it lives in the payload).
            holder = self.holders.get((write.org_id, column, merged[column]))
            if merged[column] != previous[column] and holder is not None and holder is not row:
                merged[column] = previous[column]
        payload = merge_payload(existing["canonical_payload"], context)
        changed = {c for c in merged if merged[c] != previous[c]} | {
            k for k, v in payload.items() if (existing["canonical_payload"] or {}).get(k) != v
        }
        self.snapshots.append(
            {
                "org_id": write.org_id,
                "entity_type": self.entity_type,
                "entity_id": existing["entity_id"],
                "record_version": existing["record_version"],
                "canonical_payload": existing["canonical_payload"] or {},
                "source_run_id": lineage.run_id,
            }
        )
        version = existing["record_version"] + 1
        row.values = {
            **existing,
            **merged,
            "canonical_payload": payload,
            "record_version": version,
            "company_id": lineage.company_id or existing["company_id"],
            "field_provenance": provenance(
                changed, merged, payload, lineage, self.now, sources, existing["field_provenance"]
            ),
            **stamp,
        }
        row.written = True
        self._hold(row, previous)
        return UpsertResult(
            self.entity_type, existing["entity_id"], version, False, tuple(sorted(changed)), conflicts
        )

    def changed_rows(self) -> list[dict[str, Any]]:
        return [
            _json_row({**row.values, "locked_version": row.locked["record_version"]})
            for row in self.rows.values()
            if row.written and row.locked is not None
        ]

    def _takes_a_given_up_key(self, rows: Sequence[EntityRow]) -> bool:
        """Whether one of ``rows`` holds a unique key that another changed row gives up: PostgreSQL checks
        uniqueness row by row, so that key must be free before the row taking it is written."""
        unique = UNIQUE_KEYS[self.entity_type]
        given_up = {
            (row.values["org_id"], column, row.locked[column]): row
            for row in self.rows.values()
            if row.written and row.locked is not None
            for column in unique
            if row.locked[column] is not None and row.locked[column] != row.values[column]
        }
        return any(
            given_up.get((row.values["org_id"], column, row.values[column]), row) is not row
            for row in rows
            for column in unique
        )

    def released_keys(self) -> list[dict[str, Any]]:
        """The changed rows with the unique keys they give up cleared, when another changed row takes one
        of those keys (written first, by an UPDATE of their own)."""
        changed = [row for row in self.rows.values() if row.written and row.locked is not None]
        if not self._takes_a_given_up_key(changed):
            return []
        return [
            _json_row(
                {
                    **row.values,
                    **dict.fromkeys(UNIQUE_KEYS[self.entity_type]),
                    "record_version": row.locked["record_version"],
                    "locked_version": row.locked["record_version"],
                }
            )
            for row in changed
            if row.locked is not None
        ]

    def in_any_order(self) -> bool:
        """Whether the batch's writes may run in any order, as the parts of one statement (``Writes``):
        no row it writes takes a key another gives up."""
        return not self._takes_a_given_up_key([row for row in self.rows.values() if row.written])

    def new_rows(self) -> list[dict[str, Any]]:
        """In the lock order: inserting a key another writer is inserting too waits for that writer."""
        created = sorted((row for row in self.rows.values() if row.locked is None), key=lambda row: row.key)
        return [_json_row(row.values) for row in created]


async def upsert_entities(
    session: AsyncSession, writes: Sequence[EntityWrite], *, into: Writes | None = None
) -> list[UpsertResult | None]:
    """Merge each write's context into the entity it identifies, in order; one result per write, None
    for a context that identifies nothing. A new key another writer inserted meanwhile is a unique
    violation: the merge is retried in a savepoint — unless the caller gives its own ``into``, the writes
    of a transaction it runs again on a unique violation (the executor's recording): the entity rows then
    join those writes wherever their order does not matter, which saves their round trips and the
    savepoint's two."""
    identities = [resolve_identity(w.org_id, w.entity_type, w.context) for w in writes]
    if not any(identities):
        return [None] * len(writes)
    if into is not None:
        return await _upsert_batch(session, writes, identities, into)
    for attempt in range(MAX_UPSERT_ATTEMPTS):
        try:
            async with session.begin_nested():
                batch_writes = Writes()
                results = await _upsert_batch(session, writes, identities, batch_writes)
                await batch_writes.execute(session)
                return results
        except IntegrityError:
            if attempt == MAX_UPSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _upsert_batch(
    session: AsyncSession,
    writes: Sequence[EntityWrite],
    identities: Sequence[Identity | None],
    into: Writes,
) -> list[UpsertResult | None]:
    results: list[UpsertResult | None] = [None] * len(writes)
    now = datetime.now(UTC)
    for entity_type, statements in STATEMENTS.items():
        pending = [
            (index, identity)
            for index, identity in enumerate(identities)
            if identity is not None and identity.entity_type == entity_type
        ]
        if not pending:
            continue
        keys = [
            {
                "org_id": writes[index].org_id,
                "entity_id": identity.entity_id,
                **{column: identity.columns[column] for column in UNIQUE_KEYS[entity_type]},
            }
            for index, identity in pending
        ]
        locked = (await session.execute(statements.lock, {"rows": dumps(keys)})).mappings()
        batch = EntityBatch(entity_type, list(locked), now)
        for index, identity in pending:
            results[index] = batch.merge(writes[index], identity)
        # Changed rows first, new rows last: a key a changed row gives up may be taken by a new row.
        ordered: list[tuple[TextClause, Sequence[Any]]] = [
            (statements.update, batch.released_keys()),
            (statements.update, batch.changed_rows()),
            (statements.insert, batch.new_rows()),
            (INSERT_SNAPSHOTS, batch.snapshots),
        ]
        in_any_order = batch.in_any_order()
        for statement, rows in ordered:
            if not rows:
                continue
            if in_any_order:
                into.add(statement, rows)
            else:
                await session.execute(statement, {"rows": dumps(rows)})
    return results


class EntityRepository:
    def __init__(self, session: AsyncSession, org_id: uuid.UUID) -> None:
        self.session = session
        self.org_id = org_id

    async def upsert(
        self, entity_type: str, context: dict[str, Any], lineage: Lineage
    ) -> UpsertResult | None:
        """Merge ``context`` into the entity it identifies; None when it identifies nothing."""
        (result,) = await upsert_entities(
            self.session, [EntityWrite(self.org_id, entity_type, context, lineage)]
        )
        return result

    async def find_fresh(
        self, entity_type: str, identifiers: dict[str, Any], max_age_hours: float
    ) -> dict[str, Any] | None:
        """The stored entity behind ``identifiers`` if it was enriched within ``max_age_hours``."""
        model = MODELS[entity_type]
        columns = canonical_columns(entity_type, identifiers)
        lookups = [c for c in (*UNIQUE_KEYS[entity_type], "linkedin_url") if columns.get(c) is not None]
        for column in dict.fromkeys(lookups):
            row = await entity_row(
                self.session, model, model.org_id == self.org_id, getattr(model, column) == columns[column]
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
