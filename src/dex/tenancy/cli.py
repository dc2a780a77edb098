"""`dex admin`: bootstrap a deployment and manage API tokens from the shell. Each command is one
transaction: it either does all of its work or none.

Like ``dex.cli``, commands import the database stack when they run, so other `dex` commands start fast."""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from dex.errors import DexError
from dex.kit.cli import fail, load_settings, prepare_database, run_command
from dex.tenancy.context import SuperAdminContext

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from dex.tenancy.service import BootstrapReport, NewApiToken

ResultT = TypeVar("ResultT")

admin_app = typer.Typer(
    help="Administration: bootstrap a deployment, manage API tokens.", no_args_is_help=True
)
token_app = typer.Typer(help="Create and revoke tenant API tokens.", no_args_is_help=True)
admin_app.add_typer(token_app, name="token")

# Whoever runs `dex admin` already holds the database credentials, hence full platform access.
CLI_OPERATOR = SuperAdminContext(super_admin_id=uuid.UUID(int=0), email="cli@super-admin")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT:
    from dex.db.engine import Database

    settings = load_settings()
    url = prepare_database(settings, migrate=settings.embedded)

    async def run() -> ResultT:
        database = Database(url, pool_size=1)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except DexError as exc:
        fail(exc.message)


def _normalized_email(email: str) -> str:
    return email.strip().lower()


# Where `dex serve` answers by default: what the lines to paste point at unless --api-url says otherwise.
DEFAULT_API_URL = "http://127.0.0.1:8000"


@admin_app.command()
def bootstrap(
    email: Annotated[str, typer.Option(help="Email of the super-admin and of the org_admin user.")] = (
        "admin@localhost"
    ),
    password: Annotated[
        str | None, typer.Option(help="Their password; generated and printed once when omitted.")
    ] = None,
    org_name: Annotated[str, typer.Option(help="Name of the org to create.")] = "Default Org",
    org_slug: Annotated[str, typer.Option(help="Slug of the org (how a re-run finds it).")] = "default",
    company_name: Annotated[str, typer.Option(help="Name of the org's first company.")] = "Default Company",
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Create another API token on a re-run.")
    ] = False,
    api_url: Annotated[
        str, typer.Option(help="Where `dex serve` answers, for the lines to paste that this prints.")
    ] = DEFAULT_API_URL,
) -> None:
    """Create a super-admin, an org, a company, an org_admin user, an API token and the example blueprint
    people-at-companies. Safe to re-run."""
    from dex.blueprints import service as blueprints
    from dex.blueprints.examples import example_blueprint
    from dex.tenancy import service
    from dex.tenancy.context import tenant_scope

    normalized = _normalized_email(email)
    chosen_password = password or secrets.token_urlsafe(16)

    async def work(session: AsyncSession) -> BootstrapReport:
        report = await service.bootstrap(
            session,
            email=normalized,
            password=chosen_password,
            org_name=org_name,
            org_slug=org_slug,
            company_name=company_name,
            new_token=new_token,
        )
        assert report.org is not None  # set by every bootstrap
        example = example_blueprint()
        _, created = await blueprints.ensure(
            session, tenant_scope(CLI_OPERATOR, org_id=report.org.id), example
        )
        report.lines.append(f"{'created' if created else 'kept the existing'} blueprint {example.name}")
        return report

    report = _in_transaction(work)
    for line in report.lines:
        typer.echo(line)
    assert report.org is not None and report.company is not None
    typer.echo(f"org {report.org.name} ({report.org.slug}): {report.org.id}")
    typer.echo(f"company {report.company.name}: {report.company.id}")
    if not password and report.password_used:
        typer.echo(f"generated password (shown once): {chosen_password}")
    login = f"dex login --api-url {api_url} --email {normalized}"
    if report.api_token is None:
        typer.echo(f"to use the API from the command line: {login}")
        return
    typer.echo(f"API token {report.api_token.row.id} (shown once): {report.api_token.token}")
    typer.echo(f"to use it from this shell, paste these two lines (or run `{login}` once for every shell):")
    typer.echo(f"export DEX_API_URL={api_url}")
    typer.echo(f"export DEX_API_TOKEN={report.api_token.token}")


def _parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--expires-at is not an ISO 8601 date/time: {value}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@token_app.command("create")
def create_token(
    user_email: Annotated[str, typer.Option(help="The user the token acts as (its org, company, role).")],
    name: Annotated[str, typer.Option(help="A label for the token.")],
    expires_at: Annotated[
        str | None, typer.Option(help="ISO 8601 expiry, e.g. 2030-01-01T00:00:00Z (UTC when no offset).")
    ] = None,
) -> None:
    """Create an API token and print it (the only time it is shown)."""
    from dex.tenancy import service

    expiry = _parse_expiry(expires_at)

    async def create(session: AsyncSession) -> NewApiToken:
        user = await service.get_user_by_email(session, CLI_OPERATOR, email=_normalized_email(user_email))
        return await service.create_api_token(
            session, CLI_OPERATOR, user_id=user.id, name=name, expires_at=expiry
        )

    created = _in_transaction(create)
    typer.echo(f"API token {created.row.id} (shown once): {created.token}")


@token_app.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="The id of the token to revoke.")]) -> None:
    """Revoke an API token: it stops working at once."""
    from dex.tenancy import service

    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        fail(f"not a token id: {token_id}")
    revoked = _in_transaction(
        lambda session: service.revoke_api_token(session, CLI_OPERATOR, token_id=parsed)
    )
    typer.echo(f"revoked API token {revoked.id} ({revoked.name})")


def _password_from_stdin_or_prompt() -> str:
    # A terminal gets a hidden prompt; a pipe (a script, `echo … | dex login`) is read as one line, never
    # by reaching around it to the controlling terminal.
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True))
    return sys.stdin.readline().rstrip("\r\n")


def login(
    api_url: Annotated[
        str, typer.Option("--api-url", envvar="DEX_API_URL", help="The dex API, e.g. http://127.0.0.1:8000.")
    ],
    email: Annotated[str, typer.Option(help="Your user's email.")],
    password: Annotated[
        str | None,
        typer.Option(help="Your password (for scripts); asked for when omitted, or read from a pipe."),
    ] = None,
) -> None:
    """Log in to a dex API and keep the session, so later commands need no --api-url or --token (the
    flags and DEX_API_URL / DEX_API_TOKEN still win). `dex logout` forgets it."""
    from dex.client import log_in
    from dex.credentials import StoredLogin, save_login

    secret = password if password is not None else _password_from_stdin_or_prompt()
    if not secret:
        fail("no password given")
    normalized = _normalized_email(email)

    async def work() -> None:
        token, me = await log_in(api_url, normalized, secret)
        path = save_login(StoredLogin(api_url=api_url.rstrip("/"), token=token, email=normalized))
        typer.echo(
            f"logged in to {api_url.rstrip('/')} as {normalized} ({me['role']} of org {me['org_id']}); "
            f"the session is kept in {path} until `dex logout`"
        )

    run_command(work)


def logout() -> None:
    """Forget the session `dex login` kept."""
    from dex.credentials import credentials_path, remove_login

    try:
        removed = remove_login()
    except DexError as exc:
        fail(exc.message)
    typer.echo(f"logged out ({credentials_path()} removed)" if removed else "not logged in")
