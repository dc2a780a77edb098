"""Blueprint logic: validate against the registry, replace steps atomically, and write an immutable
version snapshot for every change (runs point at the version they were submitted with)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints.models import Blueprint, BlueprintStep, BlueprintVersion
from dex.blueprints.repository import BlueprintRepository
from dex.blueprints.schemas import (
    BlueprintCreate,
    BlueprintOut,
    BlueprintStepIn,
    BlueprintStepOut,
    BlueprintUpdate,
    BlueprintWithSteps,
)
from dex.blueprints.validation import default_entity_type, fans_out, validate_steps
from dex.errors import BadRequest, Forbidden, NotFound
from dex.kit.envelopes import PageRequest
from dex.kit.paging import Page
from dex.tenancy.context import AuthContext


def _require_writer(scope: AuthContext) -> None:
    # Blueprints are org-wide, so company-scoped roles may use them but not change them.
    if not scope.is_org_admin:
        raise Forbidden("org_admin role required to change blueprints")


def _step_rows(steps: list[BlueprintStepIn]) -> list[dict[str, Any]]:
    return [
        {
            "position": step.position,
            "operation_id": step.operation_id,
            "step_id": step.step_id,
            "step_config": step.step_config or {},
            "config": step.step_config or step.config or {},
            "fan_out": fans_out(step),
            "is_enabled": step.is_enabled,
        }
        for step in steps
    ]


def snapshot_of(blueprint: Blueprint, steps: list[BlueprintStep]) -> dict[str, Any]:
    """The frozen form runs execute: the blueprint and its enabled steps in position order."""
    return {
        "blueprint": BlueprintOut.model_validate(blueprint).model_dump(mode="json"),
        "steps": [
            BlueprintStepOut.model_validate(step).model_dump(mode="json") for step in steps if step.is_enabled
        ],
    }


async def _with_steps(repo: BlueprintRepository, blueprint: Blueprint) -> BlueprintWithSteps:
    steps = (await repo.steps([blueprint.id]))[blueprint.id]
    return BlueprintWithSteps(
        **BlueprintOut.model_validate(blueprint).model_dump(),
        blueprint_steps=[BlueprintStepOut.model_validate(step) for step in steps],
    )


async def _record_version(repo: BlueprintRepository, blueprint: Blueprint) -> None:
    steps = (await repo.steps([blueprint.id]))[blueprint.id]
    await repo.add_version(blueprint, snapshot_of(blueprint, steps))


async def create(session: AsyncSession, scope: AuthContext, body: BlueprintCreate) -> BlueprintWithSteps:
    _require_writer(scope)
    entity_type = body.entity_type or default_entity_type(body.steps)
    validate_steps(body.steps, entity_type)
    repo = BlueprintRepository(session, scope.org_id)
    blueprint = await repo.insert(
        {
            "name": body.name,
            "description": body.description,
            "entity_type": entity_type,
            "created_by_user_id": scope.user_id,
        }
    )
    await repo.replace_steps(blueprint.id, _step_rows(body.steps))
    await _record_version(repo, blueprint)
    return await _with_steps(repo, blueprint)


async def ensure(
    session: AsyncSession, scope: AuthContext, body: BlueprintCreate
) -> tuple[BlueprintOut, bool]:
    """The org's blueprint named ``body.name``, created from ``body`` when there is none (an existing one
    is kept as it is); the flag says whether it was created."""
    existing = await BlueprintRepository(session, scope.org_id).get_by_name(body.name)
    if existing is not None:
        return BlueprintOut.model_validate(existing), False
    return await create(session, scope, body), True


async def update(session: AsyncSession, scope: AuthContext, body: BlueprintUpdate) -> BlueprintWithSteps:
    _require_writer(scope)
    repo = BlueprintRepository(session, scope.org_id)
    current = await repo.get(body.id, for_update=True)
    if current is None:
        raise NotFound("Blueprint not found")
    changes = body.model_dump(exclude_unset=True, exclude={"id", "steps"})
    changes = {key: value for key, value in changes.items() if value is not None or key == "description"}
    if body.steps is not None or "entity_type" in changes:
        steps = body.steps
        if steps is None:
            existing = (await repo.steps([current.id]))[current.id]
            steps = [BlueprintStepIn.model_validate(step, from_attributes=True) for step in existing]
        validate_steps(steps, changes.get("entity_type") or current.entity_type or default_entity_type(steps))
    if not changes and body.steps is None:
        raise BadRequest("No fields provided for update")
    blueprint = await repo.update(current.id, {**changes, "version": current.version + 1})
    if body.steps is not None:
        await repo.replace_steps(blueprint.id, _step_rows(body.steps))
    await _record_version(repo, blueprint)
    return await _with_steps(repo, blueprint)


async def get(session: AsyncSession, org_id: uuid.UUID | None, blueprint_id: uuid.UUID) -> BlueprintWithSteps:
    repo = BlueprintRepository(session, org_id)
    blueprint = await repo.get(blueprint_id)
    if blueprint is None:
        raise NotFound("Blueprint not found")
    return await _with_steps(repo, blueprint)


async def list_blueprints(
    session: AsyncSession, org_id: uuid.UUID | None, page: PageRequest
) -> Page[BlueprintOut]:
    result = await BlueprintRepository(session, org_id).list(page)
    return Page([BlueprintOut.model_validate(row) for row in result.items], result.total)


async def version_for_submission(
    session: AsyncSession, org_id: uuid.UUID, blueprint_id: uuid.UUID
) -> BlueprintVersion:
    version = await BlueprintRepository(session, org_id).latest_version(blueprint_id)
    if version is None:
        raise BadRequest("blueprint not found or inactive for org")
    return version
