"""The demo behind `make demo`: the shipped example blueprint over the shipped example companies, on the
embedded database and the provider sandbox — progress bar, then a table of the enriched people. Then it
keeps serving and prints the console's address with a login for the demo org, until Ctrl-C (or, with
``exit_after``, it stops at once: scripts and CI)."""

from __future__ import annotations

import asyncio
import secrets
import uuid

from rich.console import Console

from dex.blueprints.examples import EXAMPLES, example_blueprint
from dex.config import Settings
from dex.db.engine import Database
from dex.errors import NotFound
from dex.local import local_client
from dex.pipeline.cli import follow, people_table, summary_line
from dex.pipeline.spreadsheet import parse_csv
from dex.providers.runtime import provider_mode
from dex.tenancy import service as tenancy
from dex.tenancy.auth import API_KEY_SUPER_ADMIN

DEMO_EMAIL = "demo@dex.local"


async def demo_login(database_url: str, org_id: uuid.UUID) -> tuple[str, str]:
    """The demo org's admin login, with a fresh random password each run (the old one stops working)."""
    password = secrets.token_urlsafe(12)
    database = Database(database_url, pool_size=1)
    try:
        async with database.transaction() as session:
            try:
                user = await tenancy.get_user_by_email(session, API_KEY_SUPER_ADMIN, email=DEMO_EMAIL)
            except NotFound:
                await tenancy.create_user(
                    session,
                    API_KEY_SUPER_ADMIN,
                    org_id=org_id,
                    email=DEMO_EMAIL,
                    password=password,
                    role="org_admin",
                )
            else:
                await tenancy.set_user_password(
                    session, API_KEY_SUPER_ADMIN, user_id=user.id, password=password
                )
    finally:
        await database.dispose()
    return DEMO_EMAIL, password


async def run_demo(
    settings: Settings, database_url: str, console: Console, *, exit_after: bool = False
) -> None:
    definition = example_blueprint().model_dump(mode="json", exclude_none=True)
    companies = parse_csv((EXAMPLES / "companies.csv").read_bytes()).entities
    async with local_client(settings, database_url, console=True) as client:
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
        if exit_after:
            return
        assert client.org_id is not None
        email, password = await demo_login(database_url, client.org_id)
        console.print(
            f"\n[bold]Console:[/bold] {client.base_url}/console/batches/{submitted['submission_id']}\n"
            f"  sign in as [bold]{email}[/bold] with password [bold]{password}[/bold]\n"
            "Serving until Ctrl-C."
        )
        await asyncio.Event().wait()
