"""The demo behind `make demo`: the shipped example blueprint over the shipped example companies, on the
embedded database and the provider sandbox — progress bar, then a table of the enriched people."""

from __future__ import annotations

from rich.console import Console

from dex.blueprints.examples import EXAMPLES, example_blueprint
from dex.config import Settings
from dex.local import local_client
from dex.pipeline.cli import follow, people_table, summary_line
from dex.pipeline.ingest import parse_csv
from dex.providers.runtime import provider_mode


async def run_demo(settings: Settings, database_url: str, console: Console) -> None:
    definition = example_blueprint().model_dump(mode="json", exclude_none=True)
    companies = parse_csv((EXAMPLES / "companies.csv").read_bytes()).entities
    async with local_client(settings, database_url) as client:
        console.print(f"dex is serving at {client.base_url} (API docs: {client.base_url}/docs)")
        console.print(f"providers: {provider_mode(settings)} mode")
        blueprint = await client.ensure_blueprint(definition)
        steps = " → ".join(step["operation_id"] for step in definition["steps"])
        console.print(f"blueprint [bold]{blueprint['name']}[/bold]: {steps}")
        entities = [{"entity_type": "company", "input": row} for row in companies]
        submitted = await client.submit(blueprint["id"], entities, source="demo")
        console.print(f"submitted {len(entities)} companies as {submitted['submission_id']}")
        status = await follow(client, submitted["submission_id"])
        console.print(people_table(status))
        console.print(summary_line(status))
