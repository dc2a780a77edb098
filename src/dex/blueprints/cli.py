"""``dex blueprint assemble``: the shortest blueprint for the fields you want, shown step by step with why
each step is there, and optionally saved."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dex.errors import DexError
from dex.kit.cli import ApiUrl, Token, open_client, run_command

blueprint_app = typer.Typer(help="Blueprint commands.", no_args_is_help=True)
console = Console()


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON (``5``, ``true``), else text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, assigned, value = pair.partition("=")
        if not assigned or not key.strip():
            raise DexError(f"--option expects key=value, not {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def steps_table(assembled: dict[str, Any]) -> Table:
    table = Table(title=f"{assembled['entity_type']} blueprint ({len(assembled['steps'])} steps)")
    for column in ("#", "Operation", "Runs on", "Cost", "Why"):
        table.add_column(column)
    for step in assembled["explanation"]:
        operation = step["operation_id"] + (f" → fan out to {step['fans_out_to']}" if step["fan_out"] else "")
        table.add_row(
            str(step["position"]), operation, step["entity_type"], step["cost_tier"], step["reason"]
        )
    return table


@blueprint_app.command("assemble")
def assemble(
    fields: Annotated[
        list[str] | None, typer.Argument(help="Fields wanted, e.g. work_email email_status.")
    ] = None,
    entity_type: Annotated[
        str, typer.Option(help="What the blueprint runs on: company or person.")
    ] = "company",
    prompt: Annotated[
        str | None, typer.Option(help="Say what you want instead of naming fields (an LLM reads it).")
    ] = None,
    input_fields: Annotated[
        list[str] | None,
        typer.Option("--input", help="A field every entity's input carries (repeatable; default: its id)."),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="An option as key=value, e.g. job_title=VP (repeatable).")
    ] = None,
    save: Annotated[str | None, typer.Option(help="Save the result as a blueprint with this name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assembler's answer as JSON.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Assemble the shortest blueprint producing FIELDS (or what --prompt asks for)."""
    if not fields and not prompt:
        raise typer.BadParameter("name the fields you want, or describe them with --prompt")
    request: dict[str, Any] = {
        "mode": "natural_language" if prompt else "fields",
        "entity_type": entity_type,
        "desired_fields": fields or [],
        "options": parse_options(option or []),
        "prompt": prompt,
        "inputs": input_fields or None,
    }

    async def work() -> None:
        async with open_client(api_url, token) as client:
            assembled = await client.assemble(request)
            if as_json:
                console.print_json(data=assembled)
            else:
                console.print(steps_table(assembled))
                extracted = assembled.get("llm_extracted")
                if extracted:
                    console.print(f"read from the prompt: {', '.join(extracted['desired_fields'])}")
                for missing in assembled["unresolvable"]:
                    console.print(f"[yellow]cannot produce {missing['field']}:[/yellow] {missing['reason']}")
            if save:
                if not assembled["steps"]:
                    raise DexError("nothing to save: no step produces the fields asked for")
                definition = {"name": save, "entity_type": entity_type, "steps": assembled["steps"]}
                saved = await client.create_blueprint(definition)
                console.print(f"saved blueprint {save} ({saved['id']})")

    run_command(work)
