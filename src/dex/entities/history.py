"""The caller's entity history as operations see it (``dex.operations.history.EntityHistory``): the
change report of the entity an operation's context names, read within the caller's org only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dex.entities.identity import resolve_identity
from dex.entities.service import EntityReads, entity_changes
from dex.tenancy.context import AuthContext

# Where an explicit entity id may sit in a context, per entity type (besides ``entity_id``).
EXPLICIT_ID_KEYS = {"company": "company_entity_id", "person": "person_entity_id"}
# The nested profile whose keys identify the entity when the context's own keys do not.
PROFILE_KEYS = {"company": "company_profile", "person": "person_profile"}


def entity_id_of(org_id: uuid.UUID, entity_type: str, context: dict[str, Any]) -> uuid.UUID | None:
    """The entity ``context`` names: an explicit id first, else the identity its natural keys resolve to
    (the context's own keys win over its nested profile's)."""
    profile = context.get(PROFILE_KEYS[entity_type])
    merged = {**(profile if isinstance(profile, dict) else {}), **context}
    explicit = context.get(EXPLICIT_ID_KEYS[entity_type])
    if explicit is not None and merged.get("entity_id") is None:
        merged["entity_id"] = explicit
    identity = resolve_identity(org_id, entity_type, merged)
    return identity.entity_id if identity is not None else None


class OrgEntityHistory:
    def __init__(
        self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], scope: AuthContext
    ) -> None:
        self.sessions = sessions
        self.scope = scope

    @classmethod
    def in_session(cls, session: AsyncSession, scope: AuthContext) -> OrgEntityHistory:
        """Reads through a request's own session (its transaction belongs to the request)."""
        return cls(lambda: nullcontext(session), scope)

    async def changes(
        self, entity_type: str, context: dict[str, Any], fields_to_watch: list[str] | None
    ) -> dict[str, Any] | None:
        entity_id = entity_id_of(self.scope.org_id, entity_type, context)
        if entity_id is None:
            return None
        async with self.sessions() as session:
            return await entity_changes(
                EntityReads(session, self.scope), entity_type, entity_id, fields_to_watch
            )
