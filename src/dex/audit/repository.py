"""Every audit-trail query. Inserts are unscoped (the service names the org of each event); reads are
scoped by construction: a tenant reads its own org's events only, a super-admin any org's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.audit.models import AuditEvent
from dex.kit.envelopes import PageRequest
from dex.tenancy.context import AuthContext, Caller


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(AuditEvent).values(**values))

    async def list(
        self, caller: Caller, page: PageRequest, *, org_id: uuid.UUID | None, action: str | None
    ) -> tuple[list[AuditEvent], int]:
        """Newest first. A tenant's ``org_id`` is always its own; a super-admin without one reads every
        org's events and those outside any org."""
        if isinstance(caller, AuthContext):
            org_id = caller.org_id
        statement = select(AuditEvent)
        if org_id is not None:
            statement = statement.where(AuditEvent.org_id == org_id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await self.session.scalars(
            statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        return list(rows), total or 0
