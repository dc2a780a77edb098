"""Every blueprint query, scoped to one org by construction."""

from __future__ import annotations

import builtins
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.models import Blueprint, BlueprintStep, BlueprintVersion
from dex.db.queries import conflict_for
from dex.kit.envelopes import PageRequest
from dex.kit.paging import Page, paginate

UNIQUE_VIOLATIONS = {"uq_blueprints_org_id_name": "A blueprint with this name already exists in the org"}


class BlueprintRepository:
    def __init__(self, session: AsyncSession, org_id: uuid.UUID | None) -> None:
        """``org_id=None`` is the super-admin's platform-wide view (reads only)."""
        self.session = session
        self.org_id = org_id

    def _scoped(self, statement: Any) -> Any:
        return statement if self.org_id is None else statement.where(Blueprint.org_id == self.org_id)

    async def get(self, blueprint_id: uuid.UUID, *, for_update: bool = False) -> Blueprint | None:
        statement = self._scoped(select(Blueprint).where(Blueprint.id == blueprint_id))
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def get_by_name(self, name: str) -> Blueprint | None:
        return await self.session.scalar(self._scoped(select(Blueprint).where(Blueprint.name == name)))

    async def list(self, page: PageRequest) -> Page[Blueprint]:
        return await paginate(
            self.session, self._scoped(select(Blueprint)), page, Blueprint.created_at.desc(), Blueprint.id
        )

    async def steps(
        self, blueprint_ids: builtins.list[uuid.UUID]
    ) -> dict[uuid.UUID, builtins.list[BlueprintStep]]:
        rows = await self.session.scalars(
            select(BlueprintStep)
            .where(BlueprintStep.blueprint_id.in_(blueprint_ids))
            .order_by(BlueprintStep.position)
        )
        grouped: dict[uuid.UUID, builtins.list[BlueprintStep]] = {
            blueprint_id: [] for blueprint_id in blueprint_ids
        }
        for row in rows:
            grouped[row.blueprint_id].append(row)
        return grouped

    async def insert(self, values: dict[str, Any]) -> Blueprint:
        assert self.org_id is not None
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(
                    insert(Blueprint).values(org_id=self.org_id, **values).returning(Blueprint)
                )
                return result.scalar_one()
        except IntegrityError as exc:
            raise conflict_for(exc, UNIQUE_VIOLATIONS) or exc from exc

    async def update(self, blueprint_id: uuid.UUID, values: dict[str, Any]) -> Blueprint:
        try:
            async with self.session.begin_nested():
                return await self.session.scalar(
                    self._scoped(update(Blueprint).where(Blueprint.id == blueprint_id))
                    .values(**values)
                    .returning(Blueprint)
                    .execution_options(populate_existing=True)
                )
        except IntegrityError as exc:
            raise conflict_for(exc, UNIQUE_VIOLATIONS) or exc from exc

    async def replace_steps(self, blueprint_id: uuid.UUID, steps: builtins.list[dict[str, Any]]) -> None:
        await self.session.execute(delete(BlueprintStep).where(BlueprintStep.blueprint_id == blueprint_id))
        if steps:
            await self.session.execute(
                insert(BlueprintStep), [{**s, "blueprint_id": blueprint_id} for s in steps]
            )

    async def add_version(self, blueprint: Blueprint, snapshot: dict[str, Any]) -> BlueprintVersion:
        result = await self.session.execute(
            insert(BlueprintVersion)
            .values(
                org_id=blueprint.org_id,
                blueprint_id=blueprint.id,
                version=blueprint.version,
                snapshot=snapshot,
            )
            .returning(BlueprintVersion)
        )
        return result.scalar_one()

    async def latest_version(self, blueprint_id: uuid.UUID) -> BlueprintVersion | None:
        return await self.session.scalar(
            select(BlueprintVersion)
            .join(Blueprint, Blueprint.id == BlueprintVersion.blueprint_id)
            .where(
                BlueprintVersion.blueprint_id == blueprint_id,
                BlueprintVersion.version == Blueprint.version,
                Blueprint.is_active.is_(True),
                *([Blueprint.org_id == self.org_id] if self.org_id is not None else []),
            )
        )
