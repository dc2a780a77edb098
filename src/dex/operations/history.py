"""What an operation may ask of the caller's entity history, without the operations layer reaching up into
the entities domain: whoever runs the operation (the execute endpoint, a pipeline step) hands in an
implementation bound to the caller's org."""

from __future__ import annotations

from typing import Any, Protocol


class EntityHistory(Protocol):
    async def changes(
        self, entity_type: str, context: dict[str, Any], fields_to_watch: list[str] | None
    ) -> dict[str, Any] | None:
        """The change report (live row against its previous version) of the entity ``context`` names,
        or None when the caller's org has no such entity."""
        ...
