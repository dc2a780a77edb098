"""``dex submit`` and ``dex status``: batches from the command line, with a live progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dex.client import DexClient
from dex.errors import DexError
from dex.kit.cli import ApiUrl, Token, console, open_client, run_command


async def follow(client: DexClient, submission_id: str) -> dict[str, Any]:
    """A progress bar over every run of the submission (it grows as fan-out discovers entities)."""
    with Progress(
        TextColumn("[bold]runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("runs", total=None, detail="")

        def update(summary: dict[str, Any]) -> None:
            done = summary["completed"] + summary["failed"]
            detail = f"{summary['running']} running, {summary['failed']} failed"
            if summary.get("parked_steps"):
                detail += f", {summary['parked_steps']} steps waiting for budget"
            progress.update(task, total=summary["total"], completed=done, detail=detail)

        await client.follow(submission_id, update)
    return await client.status(submission_id)


def summary_line(status: dict[str, Any]) -> str:
    summary = status["summary"]
    return (
        f"submission {status['submission']['id']}: {status['submission']['status']} — "
        f"{summary['completed']} completed, {summary['failed']} failed, {summary['pending']} pending, "
        f"{summary['running']} running of {summary['total']} runs"
    )


def walk(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for run in runs:
        flat.append(run)
        flat += walk(run["children"])
    return flat


def people_table(status: dict[str, Any]) -> Table:
    table = Table(title="Enriched people")
    for column in ("Name", "Title", "Company", "Email", "Verification"):
        table.add_column(column)
    for run in walk(status["runs"]):
        context = run.get("final_context") or {}
        if run["entity_type"] != "person" or not context:
            continue
        table.add_row(
            context.get("full_name") or "",
            context.get("current_title") or context.get("headline") or "",
            context.get("company_name") or context.get("current_company_domain") or "",
            context.get("email") or "",
            context.get("email_status") or "",
        )
    return table


def runs_table(status: dict[str, Any]) -> Table:
    table = Table(title="Runs")
    for column in ("Run", "Entity", "Status", "Key", "Error"):
        table.add_column(column)
    for run in walk(status["runs"]):
        context = run.get("final_context") or {}
        key = context.get("company_domain") or context.get("email") or context.get("full_name") or ""
        table.add_row(
            str(run["pipeline_run_id"])[:8],
            run["entity_type"],
            run["status"],
            str(key),
            run.get("error_message") or "",
        )
    return table


def submit(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV of entities.")
    ],
    blueprint: Annotated[str, typer.Option("--blueprint", "-b", help="Blueprint name.")],
    api_url: ApiUrl = None,
    token: Token = None,
    company_id: Annotated[
        str | None,
        typer.Option(help="Client company (org-wide users; default: the org's only company)."),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--map", help="HEADER=KEY: send a column's values as input KEY (KEY empty: drop it)."),
    ] = None,
) -> None:
    """Submit a CSV (one entity per row; columns become entity input) and follow it until done. The server
    checks every row: rows it cannot run are reported and left out, duplicates collapsed."""
    column_map = dict(column.partition("=")[::2] for column in columns or [])

    async def work() -> None:
        async with open_client(api_url, token) as client:
            found = await client.find_blueprint(blueprint)
            if found is None:
                raise DexError(f"no blueprint named {blueprint!r}")
            submitted = await client.submit_csv(
                found["id"],
                file.read_bytes(),
                filename=file.name,
                company_id=company_id,
                column_map=column_map,
            )
            for rejected in submitted["rejected"]:
                console.print(f"[yellow]row {rejected['row_number']} skipped:[/yellow] {rejected['reason']}")
            unlisted = submitted["rejected_count"] - len(submitted["rejected"])
            if unlisted:
                console.print(
                    f"[yellow]… and {unlisted} more rows skipped[/yellow] (POST /api/v1/batch/rejections)"
                )
            console.print(f"submitted {submitted['accepted']} entities as {submitted['submission_id']}")
            status = await follow(client, str(submitted["submission_id"]))
            console.print(summary_line(status))

    run_command(work)


def status(
    submission_id: Annotated[str, typer.Argument(help="The submission to show.")],
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Show a submission's status, summary and runs."""

    async def work() -> None:
        async with open_client(api_url, token) as client:
            result = await client.status(submission_id)
            console.print(runs_table(result))
            console.print(summary_line(result))

    run_command(work)
