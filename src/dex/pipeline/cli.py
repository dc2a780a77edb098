"""``dex submit`` and ``dex status``: batches from the command line, with a live progress bar."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dex.client import DexClient
from dex.errors import DexError
from dex.kit.cli import ApiUrl, Token, console, open_client, run_command
from dex.pipeline.spreadsheet import parse_csv


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
            if summary.get("status") == "waiting_for_budget" and summary.get("budget"):
                detail = budget_line(summary["budget"])
            elif summary.get("parked_steps"):
                detail += f", {summary['parked_steps']} steps waiting for budget"
            progress.update(task, total=summary["total"], completed=done, detail=detail)

        await client.follow(submission_id, update)
    return await client.status(submission_id)


def _credits(value: float | None) -> str:
    return "no" if value is None else f"{value:g}"


def budget_line(needs: dict[str, Any]) -> str:
    """What a submission waiting for budget needs, in one line."""
    parts = []
    for scope in ("org", "submission"):
        spend = needs[scope]
        if spend["budget_credits"] is not None:
            parts.append(
                f"{scope} spent {_credits(spend['spent_credits'])} of {_credits(spend['budget_credits'])}"
                " credits"
            )
    line = "waiting for budget: " + ", ".join(parts or ["no budget left"])
    if needs.get("next_call_credits") is not None:
        line += f"; the next call needs {_credits(needs['next_call_credits'])} credits"
    return line + " (raise it: POST /api/v1/budgets/set)"


def summary_line(status: dict[str, Any]) -> str:
    summary = status["summary"]
    line = (
        f"submission {status['submission']['id']}: {status['submission']['status']} — "
        f"{summary['completed']} completed, {summary['failed']} failed, {summary['pending']} pending, "
        f"{summary['running']} running of {summary['total']} runs"
    )
    if status.get("budget"):
        line += "\n" + budget_line(status["budget"])
    return line


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


def estimate_table(cost: dict[str, Any]) -> Table:
    table = Table(title="Estimated credits")
    for column in ("Provider", "Price", "Expected calls", "Expected", "Max calls", "Max"):
        table.add_column(column)
    for provider in cost["by_provider"]:
        table.add_row(
            provider["provider"],
            f"{provider['price_credits']:g}",
            f"{provider['expected_calls']:g}",
            f"{provider['expected_credits']:g}",
            f"{provider['max_calls']:g}",
            f"{provider['max_credits']:g}",
        )
    return table


def estimate_line(cost: dict[str, Any]) -> str:
    line = (
        f"estimate for {cost['entities']} entities ({cost['cached_entities']} cached): "
        f"{cost['expected_credits']:g} credits expected, {cost['max_credits']:g} at most"
    )
    if cost["remaining_budget_credits"] is not None:
        line += f"; {cost['remaining_budget_credits']:g} credits left in the budget"
    return line


async def confirm_over_budget(cost: dict[str, Any]) -> None:
    """Ask before a batch expected to cost more than the budget has left; without a terminal to ask on,
    refuse (``--yes`` submits anyway)."""
    message = (
        f"the batch is expected to cost {cost['expected_credits']:g} credits "
        f"(at most {cost['max_credits']:g}), more than the {cost['remaining_budget_credits']:g} credits "
        "left in the budget"
    )
    if not sys.stdin.isatty():
        raise DexError(f"{message}; pass --yes to submit anyway (it will wait for budget once it is spent)")
    if not await asyncio.to_thread(typer.confirm, f"{message}. Submit anyway?", default=False):
        raise DexError("nothing submitted")


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
    estimate_only: Annotated[
        bool, typer.Option("--estimate", help="Show what the batch would cost; submit nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Submit even if the estimate exceeds the remaining budget."),
    ] = False,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key", help="Submit at most once under this key (a retry returns the same batch)."
        ),
    ] = None,
) -> None:
    """Submit a CSV (one entity per row; columns become entity input) and follow it until done or waiting
    for budget. The server checks every row: rows it cannot run are reported and left out, duplicates
    collapsed. When the expected cost exceeds the org's remaining budget, it asks first."""
    column_map = dict(column.partition("=")[::2] for column in columns or [])
    data = file.read_bytes()

    async def work() -> None:
        async with open_client(api_url, token) as client:
            found = await client.find_blueprint(blueprint)
            if found is None:
                raise DexError(f"no blueprint named {blueprint!r}")
            entity_type = found.get("entity_type") or "company"
            entities = [
                {"entity_type": entity_type, "input": entity}
                for entity in parse_csv(data, column_map=column_map).entities
            ]
            cost = await client.estimate(found["id"], entities, company_id=company_id)
            if estimate_only:
                console.print(estimate_table(cost))
                console.print(estimate_line(cost))
                return
            if cost["exceeds_remaining_budget"] and not yes:
                await confirm_over_budget(cost)
            submitted = await client.submit_csv(
                found["id"],
                data,
                filename=file.name,
                company_id=company_id,
                column_map=column_map,
                idempotency_key=idempotency_key,
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
