"""``dex export``: canonical entities to a CSV or JSONL file (export contract v1), streamed to disk."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dex.kit.cli import ApiUrl, Token, console, open_client, run_command


class Dataset(StrEnum):
    companies = "companies"
    persons = "persons"


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


ENTITY_TYPES = {Dataset.companies: "company", Dataset.persons: "person"}


def export(
    dataset: Annotated[Dataset, typer.Argument(help="Which entities to export.")],
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="File to write.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = Format.csv,
    updated_since: Annotated[
        datetime | None,
        typer.Option(help="Only entities updated at or after this time (UTC unless it names a zone)."),
    ] = None,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Export canonical entities as CSV or JSONL. The file is written as the rows arrive (constant memory)
    and appears under its name only once complete."""
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=UTC)
    partial = output.with_name(output.name + ".partial")
    written = 0

    async def work() -> None:
        nonlocal written
        async with open_client(api_url, token) as client:
            written = await client.export_entities(
                ENTITY_TYPES[dataset], fmt.value, sink, updated_since=updated_since
            )

    try:
        with partial.open("wb") as sink:
            run_command(work)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"exported {dataset.value} as {fmt.value} ({written:,} bytes) to {output}")
