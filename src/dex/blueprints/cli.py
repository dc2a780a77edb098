"""``dex blueprint``: create a blueprint from the JSON the API takes, list the org's blueprints, show one
(as a table, or as JSON to edit and create again), and ``assemble``: the shortest blueprint for the fields
you want, shown step by step with why each step is there, and optionally saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from dex.client import DexClient
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


# The fields of a step that the create endpoint takes (a shown blueprint can be created again as it is).
STEP_FIELDS = ("position", "operation_id", "step_id", "step_config", "fan_out", "is_enabled")


def read_definition(file: Path) -> dict[str, Any]:
    try:
        definition = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DexError(f"{file} is not a UTF-8 text file") from None
    except ValueError as exc:
        raise DexError(f"{file} is not JSON: {exc}") from None
    if not isinstance(definition, dict):
        raise DexError(
            f"{file} must hold a JSON object (name, entity_type, steps), not a {type(definition).__name__}"
        )
    return definition


def definition_of(blueprint: dict[str, Any]) -> dict[str, Any]:
    """A stored blueprint as the body ``dex blueprint create`` (and the API's create) takes."""
    steps = [
        {field: step[field] for field in STEP_FIELDS if step.get(field) not in (None, {})}
        for step in blueprint["blueprint_steps"]
    ]
    return {
        "name": blueprint["name"],
        "description": blueprint["description"],
        "entity_type": blueprint["entity_type"],
        "steps": steps,
    }


async def blueprint_named(client: DexClient, name: str) -> dict[str, Any]:
    found = await client.find_blueprint(name)
    if found is None:
        raise DexError(f"no blueprint named {name!r} (`dex blueprint list` shows them)")
    return await client.get_blueprint(found["id"])


def blueprint_steps_table(blueprint: dict[str, Any]) -> Table:
    runs_on = blueprint["entity_type"] or "company"
    title = f"{blueprint['name']} — runs on {runs_on}, version {blueprint['version']}"
    table = Table(title=title, caption=blueprint["description"])
    for column in ("#", "Operation", "Fan out", "Config", "Enabled"):
        table.add_column(column, no_wrap=column == "Operation")
    for step in blueprint["blueprint_steps"]:
        config = step["step_config"] or step["config"]
        table.add_row(
            str(step["position"]),
            step["operation_id"] or str(step["step_id"]),
            "yes" if step["fan_out"] else "",
            json.dumps(config) if config else "",
            "yes" if step["is_enabled"] else "no",
        )
    return table


@blueprint_app.command("create")
def create(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="JSON: name, description, entity_type, steps."
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Create it under this name instead of the file's.")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Create a blueprint from a JSON file holding the body the API's create endpoint takes (for example
    the output of `dex blueprint show NAME --json`)."""

    async def work() -> None:
        definition = read_definition(file)
        if name:
            definition["name"] = name
        async with open_client(api_url, token) as client:
            created = await client.create_blueprint(definition)
            steps = " → ".join(
                step["operation_id"] or str(step["step_id"]) for step in created["blueprint_steps"]
            )
            console.print(f"created blueprint {created['name']} ({created['id']}): {steps or 'no steps'}")

    run_command(work)


@blueprint_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the blueprints as JSON.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """List the org's blueprints."""

    async def work() -> None:
        async with open_client(api_url, token) as client:
            blueprints = [blueprint async for blueprint in client.blueprints()]
        if as_json:
            typer.echo(json.dumps(blueprints, indent=2))
            return
        # Names and ids are what the other commands take: never cut short (`show` has the description).
        table = Table(title=f"Blueprints ({len(blueprints)})", box=box.SIMPLE_HEAD, show_edge=False)
        for column in ("Name", "Id", "Type", "Version"):
            table.add_column(column, no_wrap=column in ("Name", "Id"))
        for blueprint in sorted(blueprints, key=lambda blueprint: blueprint["name"]):
            table.add_row(
                blueprint["name"] + ("" if blueprint["is_active"] else " (inactive)"),
                blueprint["id"],
                blueprint["entity_type"] or "company",
                str(blueprint["version"]),
            )
        console.print(table)

    run_command(work)


@blueprint_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The blueprint's name.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print it as the JSON `dex blueprint create` takes.")
    ] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Show a blueprint and its steps."""

    async def work() -> None:
        async with open_client(api_url, token) as client:
            blueprint = await blueprint_named(client, name)
        if as_json:
            typer.echo(json.dumps(definition_of(blueprint), indent=2))
        else:
            console.print(blueprint_steps_table(blueprint))
            console.print(f"id {blueprint['id']}")

    run_command(work)


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
