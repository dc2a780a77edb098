"""Batch pages: the list with live progress, a new batch from a CSV, a batch's run tree, a run's steps and
provider attempts, cancel and resume, and the results as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import StreamingResponse
from starlette.responses import RedirectResponse, Response

from dex.blueprints import service as blueprints
from dex.console.paging import pager
from dex.console.web import CONSOLE_PREFIX, ConsoleRoute, ConsoleTenant, credits, is_partial, render
from dex.db.engine import Database
from dex.errors import BadRequest, NotFound
from dex.kit.csvsafe import safe_row
from dex.kit.deps import DatabaseDep, SessionDep
from dex.kit.envelopes import PageRequest
from dex.operations.repository import step_attempts
from dex.pipeline import ingest, live, runtree, service, spreadsheet
from dex.pipeline.models import PipelineRun, Submission
from dex.pipeline.routes import progress_hub
from dex.pipeline.schemas import RunListRequest, SubmissionListRequest
from dex.tenancy import service as tenancy
from dex.tenancy.context import AuthContext
from dex.usage.budgets import budget_needs

router = APIRouter(prefix=f"{CONSOLE_PREFIX}/batches", route_class=ConsoleRoute)

FINISHED = live.FINISHED
PREVIEW_ROWS = 10
TREE_PAGE = 50
# How often the list page re-reads the progress of the batches it shows (one query each time).
LIST_REFRESH_SECONDS = 1.0
LIVE_MAX_SECONDS = 600.0
RESULT_PAGE = 1000


def progress(row: Any) -> dict[str, Any]:
    """Counts of a submission (model or mapping) as the pages show them."""

    def get(key: str) -> Any:
        return row[key] if isinstance(row, dict) else getattr(row, key)

    total, running = get("runs_total"), get("runs_running")
    completed, failed = get("runs_succeeded"), get("runs_failed") + get("runs_canceled")
    done = completed + failed
    return {
        "id": str(get("id")),
        "status": get("status"),
        "total": total,
        "completed": completed,
        "failed": failed,
        "running": running,
        "pending": max(0, total - done - running),
        "percent": round(100 * done / total) if total else (100 if get("status") in FINISHED else 0),
    }


@router.get("")
async def batch_list(request: Request, auth: ConsoleTenant, session: SessionDep) -> Response:
    status = request.query_params.get("status") or None
    paging = pager(request)
    body = SubmissionListRequest(limit=paging.size, offset=paging.offset, status=status)
    page = await service.list_submissions(session, auth, body)
    spent = {
        row["id"]: row["credits"]
        for row in await runtree.submissions_progress(session, auth, [s.id for s in page.items])
    }
    rows: list[dict[str, Any]] = [
        {"submission": s, "progress": progress(s), "credits": credits(spent.get(s.id))} for s in page.items
    ]
    watching = [row["progress"]["id"] for row in rows if row["progress"]["status"] not in FINISHED]
    return render(
        request,
        "batches/list.html",
        rows=rows,
        pager=paging.with_total(page.total),
        status=status or "",
        watching=",".join(watching),
    )


def _event(name: str, data: dict[str, Any]) -> str:
    return live.sse(name, data)


async def _watch_list(database: Database, scope: AuthContext, ids: list[uuid.UUID]) -> AsyncIterator[str]:
    """The progress of the listed batches, re-read once a second (one query) until all have finished."""
    last: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_MAX_SECONDS
    yield f"retry: {int(LIST_REFRESH_SECONDS * 1000)}\n\n"
    while ids and loop.time() < deadline:
        async with database.transaction() as session:
            rows = await runtree.submissions_progress(session, scope, ids)
        for row in rows:
            shown = {**progress(row), "credits": credits(row["credits"])}
            if last.get(shown["id"]) != shown:
                last[shown["id"]] = shown
                yield _event("batch", shown)
        ids = [row["id"] for row in rows if row["status"] not in FINISHED]
        if not ids:
            break
        await asyncio.sleep(LIST_REFRESH_SECONDS)
    yield _event("end", {})


@router.get("/live")
async def batch_list_live(request: Request, auth: ConsoleTenant, database: DatabaseDep) -> Response:
    raw = request.query_params.get("ids", "")
    try:
        ids = [uuid.UUID(part) for part in raw.split(",") if part][:100]
    except ValueError as exc:
        raise BadRequest("ids must be batch ids separated by commas") from exc
    return StreamingResponse(
        _watch_list(database, auth, ids),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# New batch ----------------------------------------------------------------------------------------------


async def _new_batch_choices(session: Any, auth: AuthContext) -> dict[str, Any]:
    bps = await blueprints.list_blueprints(session, auth.org_id, PageRequest(limit=1000))
    companies = (
        []
        if auth.company_scoped
        else (await tenancy.list_companies(session, auth, page=PageRequest(limit=1000))).items
    )
    return {"blueprints": bps.items, "companies": companies}


@router.get("/new")
async def new_batch(request: Request, auth: ConsoleTenant, session: SessionDep) -> Response:
    return render(request, "batches/new.html", **await _new_batch_choices(session, auth), error=None)


def _column_map(form_items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """The mapping the preview's inputs send as ``map:<header>`` → input key ("" drops the column)."""
    return {
        name.removeprefix("map:"): value.strip()
        for name, value in form_items
        if name.startswith("map:") and isinstance(value, str)
    }


def preview_csv(data: bytes, column_map: dict[str, str] | None = None) -> dict[str, Any]:
    """The first rows of a file as ingestion reads it: encoding, delimiter and each column's input key."""
    text_data, encoding = spreadsheet.decode(data[: 256 * 1024])
    delimiter = spreadsheet.detect_delimiter(text_data)
    reader = csv.reader(io.StringIO(text_data, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise BadRequest("the file has no header row")
    keys = spreadsheet.column_keys(header, column_map)
    rows = []
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append(cells)
        if len(rows) == PREVIEW_ROWS:
            break
    return {
        "encoding": encoding,
        "delimiter": {"\t": "tab"}.get(delimiter, delimiter),
        "columns": list(zip(header, keys, strict=True)),
        "rows": rows,
    }


@router.post("/preview")
async def preview(request: Request, auth: ConsoleTenant, file: UploadFile) -> Response:
    data = await file.read()
    try:
        shown = preview_csv(data)
    except BadRequest as exc:
        return render(request, "batches/preview.html", error=exc.message, preview=None)
    return render(request, "batches/preview.html", error=None, preview=shown, filename=file.filename)


@router.post("/new")
async def submit_batch(
    request: Request,
    auth: ConsoleTenant,
    session: SessionDep,
    file: UploadFile,
    blueprint_id: Annotated[uuid.UUID, Form()],
    company_id: Annotated[str, Form()] = "",
) -> Response:
    form = await request.form()
    upload = ingest.CsvUpload(
        await file.read(),
        blueprint_id,
        uuid.UUID(company_id) if company_id else None,
        file.filename,
        _column_map(form.multi_items()) or None,
    )
    try:
        async with session.begin_nested():
            result = await ingest.submit_csv(session, auth, upload, plans=request.app.state.plans)
    except (BadRequest, NotFound) as exc:
        choices = await _new_batch_choices(session, auth)
        return render(request, "batches/new.html", status_code=exc.status_code, error=exc.message, **choices)
    return RedirectResponse(f"{CONSOLE_PREFIX}/batches/{result['submission_id']}", status_code=303)


# One batch ----------------------------------------------------------------------------------------------


async def _tree_rows(session: Any, auth: AuthContext, runs: list[PipelineRun]) -> list[dict[str, Any]]:
    ids = [run.id for run in runs]
    counts = await runtree.child_counts(session, auth, ids)
    errors = await runtree.failed_step_errors(
        session, auth, [run.id for run in runs if run.status == "failed"]
    )
    return [
        {
            "run": run,
            "status": service.STATUS_FOR_CLIENTS.get(run.status, "pending"),
            "children": counts.get(run.id, 0),
            "error": run.error_message or errors.get(run.id),
            "label": _label(run.entity_input),
        }
        for run in runs
    ]


def _label(entity_input: dict[str, Any] | None) -> str:
    """A short name for a run: the first identifying input it has."""
    for key in ("company_domain", "company_name", "full_name", "email", "work_email", "linkedin_url"):
        value = (entity_input or {}).get(key)
        if value:
            return str(value)
    return ", ".join(f"{k}={v}" for k, v in list((entity_input or {}).items())[:2]) or "—"


@router.get("/{submission_id}")
async def batch_detail(
    request: Request, submission_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    submission = await service.load_submission(session, auth, submission_id, with_ingest_report=True)
    failed_only = request.query_params.get("failed") == "1"
    paging = pager(request, size=TREE_PAGE)
    if failed_only:
        page = await service.list_runs(
            session,
            auth,
            RunListRequest(
                limit=paging.size, offset=paging.offset, submission_id=submission.id, status="failed"
            ),
        )
    else:
        page = await runtree.root_runs(session, auth, submission, limit=paging.size, offset=paging.offset)
    spent = await runtree.submissions_progress(session, auth, [submission.id])
    blueprint = await blueprints.get(session, auth.org_id, submission.blueprint_id)
    context: dict[str, Any] = {
        "submission": submission,
        "blueprint": blueprint,
        "progress": progress(submission),
        "credits": credits(spent[0]["credits"] if spent else None),
        "runs": await _tree_rows(session, auth, list(page.items)),
        "pager": paging.with_total(page.total),
        "failed_only": failed_only,
        "report": submission.ingest_report,
        "finished": submission.status in FINISHED,
        # What a batch waiting for budget needs to go on, as batch status answers it.
        "budget": await budget_needs(session, submission.id)
        if submission.status == "waiting_for_budget"
        else None,
    }
    template = "batches/tree.html" if is_partial(request) else "batches/detail.html"
    return render(request, template, **context)


@router.get("/{submission_id}/live")
async def batch_live(
    request: Request, submission_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    await service.load_submission(session, auth, submission_id)
    return StreamingResponse(
        live.stream(
            request.app.state.db,
            progress_hub(request),
            submission_id,
            poll_seconds=1.0,
            summary_seconds=1.0,
            max_seconds=LIVE_MAX_SECONDS,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/{submission_id}/cancel")
async def cancel(
    request: Request, submission_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    await service.cancel(session, auth, submission_id, plans=request.app.state.plans)
    return RedirectResponse(f"{CONSOLE_PREFIX}/batches/{submission_id}", status_code=303)


@router.post("/{submission_id}/resume")
async def resume(
    request: Request, submission_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    await service.resume(
        session, auth, run_id=None, submission_id=submission_id, plans=request.app.state.plans
    )
    return RedirectResponse(f"{CONSOLE_PREFIX}/batches/{submission_id}", status_code=303)


def _flatten(nodes: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _flatten(node["children"])


RESULT_COLUMNS = ["entity_index", "pipeline_run_id", "parent_pipeline_run_id", "status", "error_message"]


async def _result_lines(database: Database, auth: AuthContext, submission: Submission) -> AsyncIterator[str]:
    """The batch's runs with their final fields, a page of root runs at a time. The field columns are
    those of the first page; fields first seen later go into ``other_fields`` as JSON."""
    out = io.StringIO()
    writer = csv.writer(out)
    fields: list[str] | None = None
    offset = 0
    while True:
        async with database.transaction() as session:
            status = await service.batch_status(
                session, auth, submission_id=submission.id, limit=RESULT_PAGE, offset=offset
            )
        nodes = list(_flatten(status["runs"]))
        if fields is None:
            fields = sorted({key for node in nodes for key in (node["final_context"] or {})})
            writer.writerow(safe_row([*RESULT_COLUMNS, *fields, "other_fields"]))
        for node in nodes:
            context = node["final_context"] or {}
            other = {key: value for key, value in context.items() if key not in fields}
            # Values come from tenants' inputs and providers' answers: none may run in a spreadsheet.
            writer.writerow(
                safe_row(
                    [
                        *(node[column] if node[column] is not None else "" for column in RESULT_COLUMNS),
                        *(_cell(context.get(key)) for key in fields),
                        json.dumps(other, default=str) if other else "",
                    ]
                )
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        offset += RESULT_PAGE
        if offset >= status["pagination"]["total_root_runs"]:
            return


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


@router.get("/{submission_id}/results.csv")
async def results_csv(
    submission_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep, database: DatabaseDep
) -> Response:
    submission = await service.load_submission(session, auth, submission_id)
    return StreamingResponse(
        _result_lines(database, auth, submission),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="results-{submission.id}.csv"'},
    )


# Runs ---------------------------------------------------------------------------------------------------

runs_router = APIRouter(prefix=f"{CONSOLE_PREFIX}/runs", route_class=ConsoleRoute)


@runs_router.get("/{run_id}/children")
async def run_children(
    request: Request, run_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    run = await service.get_run(session, auth, run_id)
    paging = pager(request, size=TREE_PAGE)
    page = await runtree.child_runs(session, auth, run, limit=paging.size, offset=paging.offset)
    return render(
        request,
        "batches/children.html",
        parent=run,
        runs=await _tree_rows(session, auth, list(page.items)),
        pager=paging.with_total(page.total),
    )


@runs_router.get("/{run_id}")
async def run_detail(
    request: Request, run_id: uuid.UUID, auth: ConsoleTenant, session: SessionDep
) -> Response:
    run = await service.get_run(session, auth, run_id)
    steps = await service.run_steps(session, run.id)
    attempts = await step_attempts(session, auth.org_id, [step.id for step in steps])
    template = "batches/run_steps.html" if is_partial(request) else "batches/run.html"
    return render(
        request,
        template,
        run=run,
        status=service.STATUS_FOR_CLIENTS.get(run.status, "pending"),
        steps=[{"step": step, "attempts": attempts.get(step.id, [])} for step in steps],
        label=_label(run.entity_input),
    )
