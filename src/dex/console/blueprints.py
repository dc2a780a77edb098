"""Blueprint pages: list, view, create and edit with operations picked from the registry (validated by
the same service as the API), and the assembler that builds a blueprint from the fields wanted."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from dex.audit.service import Audit, AuditDep
from dex.blueprints import assembler
from dex.blueprints import service as blueprints
from dex.blueprints.schemas import BlueprintCreate, BlueprintStepIn, BlueprintUpdate
from dex.blueprints.validation import ENTITY_INPUT_FIELDS
from dex.console.paging import pager
from dex.console.web import CONSOLE_PREFIX, ConsoleRoute, ConsoleTenant, invalid_input, render
from dex.errors import BadRequest
from dex.kit.deps import SessionDep
from dex.operations.registry import registry
from dex.tenancy.context import AuthContext

router = APIRouter(prefix=f"{CONSOLE_PREFIX}/blueprints", route_class=ConsoleRoute)

ENTITY_TYPES = ("company", "person")
SPARE_ROWS = 3
MAX_ROWS = 50


def _operations() -> dict[str, list[dict[str, Any]]]:
    """The registry's operations by entity type, as the step pickers list them."""
    grouped: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ENTITY_TYPES}
    for spec in sorted(registry().values(), key=lambda spec: spec.operation_id):
        grouped[spec.entity_type].append(spec.describe())
    return grouped


@router.get("")
async def blueprint_list(request: Request, auth: ConsoleTenant, session: SessionDep) -> Response:
    paging = pager(request)
    page = await blueprints.list_blueprints(session, auth.org_id, paging.request())
    return render(request, "blueprints/list.html", blueprints=page.items, pager=paging.with_total(page.total))


def _rows(steps: list[dict[str, Any]], spare: int) -> list[dict[str, Any]]:
    blank = {"operation_id": "", "fan_out": False, "step_config": ""}
    return [*steps, *([blank] * spare)][:MAX_ROWS]


def _editor(
    request: Request,
    *,
    values: dict[str, Any],
    steps: list[dict[str, Any]],
    blueprint_id: uuid.UUID | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    spare = request.query_params.get("rows", "")
    return render(
        request,
        "blueprints/edit.html",
        status_code=status_code,
        values=values,
        rows=_rows(steps, int(spare) if spare.isdigit() else SPARE_ROWS),
        operations=_operations(),
        entity_types=ENTITY_TYPES,
        blueprint_id=blueprint_id,
        error=error,
    )


@router.get("/new")
async def new_blueprint(request: Request, auth: ConsoleTenant) -> Response:
    return _editor(request, values={"name": "", "description": "", "entity_type": "company"}, steps=[])


def _step_rows_of(form: FormData) -> list[dict[str, Any]]:
    """The step rows a form posted, in order, as the editor shows them again on an error."""
    rows = []
    for index in range(1, MAX_ROWS + 1):
        operation = str(form.get(f"op_{index}") or "").strip()
        config = str(form.get(f"config_{index}") or "").strip()
        if operation or config:
            rows.append(
                {
                    "operation_id": operation,
                    "fan_out": bool(form.get(f"fanout_{index}")),
                    "step_config": config,
                }
            )
    return rows


def _steps_in(rows: list[dict[str, Any]]) -> list[BlueprintStepIn]:
    steps = []
    for position, row in enumerate(rows, start=1):
        if not row["operation_id"]:
            raise BadRequest(f"Step {position} has options but no operation")
        try:
            config = json.loads(row["step_config"]) if row["step_config"] else None
        except json.JSONDecodeError as exc:
            raise BadRequest(f"Step {position} options are not valid JSON: {exc.msg}") from exc
        if config is not None and not isinstance(config, dict):
            raise BadRequest(f"Step {position} options must be a JSON object")
        steps.append(
            BlueprintStepIn(
                position=position,
                operation_id=row["operation_id"],
                fan_out=row["fan_out"],
                step_config=config,
            )
        )
    return steps


def _form_values(form: FormData) -> dict[str, Any]:
    return {
        "name": str(form.get("name") or "").strip(),
        "description": str(form.get("description") or "").strip(),
        "entity_type": str(form.get("entity_type") or "company"),
    }


async def _save(
    request: Request, auth: AuthContext, session: Any, audit: Audit, blueprint_id: uuid.UUID | None
) -> Response:
    form = await request.form()
    values, rows = _form_values(form), _step_rows_of(form)
    try:
        fields = {**values, "description": values["description"] or None, "steps": _steps_in(rows)}
        if blueprint_id is None:
            created = BlueprintCreate(**fields)
            async with session.begin_nested():
                saved = await blueprints.create(session, auth, created)
        else:
            updated = BlueprintUpdate(id=blueprint_id, **fields)
            async with session.begin_nested():
                saved = await blueprints.update(session, auth, updated)
    except BadRequest as exc:
        return _editor(
            request, values=values, steps=rows, blueprint_id=blueprint_id, error=exc.message, status_code=400
        )
    except ValidationError as exc:
        return _editor(
            request,
            values=values,
            steps=rows,
            blueprint_id=blueprint_id,
            error=invalid_input(exc.errors()),
            status_code=422,
        )
    await audit.blueprint_saved(auth, saved, created=blueprint_id is None)
    return RedirectResponse(f"{CONSOLE_PREFIX}/blueprints/{saved.id}", status_code=303)


@router.post("/new")
async def create_blueprint(
    request: Request, auth: ConsoleTenant, session: SessionDep, audit: AuditDep
) -> Response:
    return await _save(request, auth, session, audit, None)


# The assembler ------------------------------------------------------------------------------------------


def _assembler_page(request: Request, entity_type: str, **context: Any) -> Response:
    return render(
        request,
        "blueprints/assemble.html",
        entity_type=entity_type,
        entity_types=ENTITY_TYPES,
        fields=assembler.valid_fields(entity_type),
        input_fields=sorted(ENTITY_INPUT_FIELDS[entity_type]),
        **{"result": None, "error": None, "chosen": [], "inputs": [], "name": "", **context},
    )


@router.get("/assemble")
async def assemble_page(request: Request, auth: ConsoleTenant) -> Response:
    entity_type = "person" if request.query_params.get("entity_type") == "person" else "company"
    return _assembler_page(request, entity_type)


@router.post("/assemble")
async def assemble(request: Request, auth: ConsoleTenant) -> Response:
    form = await request.form()
    entity_type = "person" if form.get("entity_type") == "person" else "company"
    chosen = [str(field) for field in form.getlist("fields")]
    inputs = [str(field) for field in form.getlist("inputs")] or None
    name = str(form.get("name") or "").strip() or "assembled"
    if not chosen:
        return _assembler_page(request, entity_type, error="Pick at least one field", status_code=400)
    try:
        result = assembler.assemble(chosen, entity_type, {}, inputs=inputs, name=name)
    except BadRequest as exc:
        return _assembler_page(
            request, entity_type, error=exc.message, chosen=chosen, inputs=inputs or [], name=name
        )
    steps_json = json.dumps([step.model_dump(exclude_none=True) for step in result.steps])
    return _assembler_page(
        request,
        entity_type,
        result=result,
        chosen=chosen,
        inputs=inputs or [],
        name=name,
        steps_json=steps_json,
    )


@router.post("/assemble/save")
async def save_assembled(
    request: Request, auth: ConsoleTenant, session: SessionDep, audit: AuditDep
) -> Response:
    form = await request.form()
    try:
        steps = json.loads(str(form.get("steps") or "[]"))
    except json.JSONDecodeError as exc:
        raise BadRequest("The assembled steps are not valid JSON") from exc
    body = BlueprintCreate(
        name=str(form.get("name") or "assembled"),
        entity_type=str(form.get("entity_type") or "company"),
        description="Assembled from the fields: " + ", ".join(str(f) for f in form.getlist("fields")),
        steps=steps,
    )
    saved = await blueprints.create(session, auth, body)
    await audit.blueprint_saved(auth, saved, created=True)
    return RedirectResponse(f"{CONSOLE_PREFIX}/blueprints/{saved.id}", status_code=303)


# One blueprint ------------------------------------------------------------------------------------------


@router.get("/{blueprint_id}")
async def blueprint_page(
    request: Request, blueprint_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    blueprint = await blueprints.get(session, auth.org_id, blueprint_id)
    return render(request, "blueprints/detail.html", blueprint=blueprint, operations=registry())


@router.get("/{blueprint_id}/edit")
async def edit_blueprint(
    request: Request, blueprint_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    blueprint = await blueprints.get(session, auth.org_id, blueprint_id)
    steps = [
        {
            "operation_id": step.operation_id or "",
            "fan_out": step.fan_out,
            "step_config": json.dumps(step.step_config) if step.step_config else "",
        }
        for step in sorted(blueprint.blueprint_steps, key=lambda step: step.position)
    ]
    values = {
        "name": blueprint.name,
        "description": blueprint.description or "",
        "entity_type": blueprint.entity_type or "company",
    }
    return _editor(request, values=values, steps=steps, blueprint_id=blueprint.id)


@router.post("/{blueprint_id}/edit")
async def update_blueprint(
    request: Request, blueprint_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep, audit: AuditDep
) -> Response:
    await blueprints.get(session, auth.org_id, blueprint_id)
    return await _save(request, auth, session, audit, blueprint_id)
