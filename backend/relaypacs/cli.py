"""The `relaypacs` command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from relaypacs.core import migrate, operational_errors
from relaypacs.core.config import ConfigurationError
from relaypacs.core.logging import configure_logging
from relaypacs.settings import Settings, load_settings

app = typer.Typer(help="RelayPACS Gateway", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
uploads_app = typer.Typer(help="Uploads", no_args_is_help=True)
push_app = typer.Typer(help="Web Push", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(uploads_app, name="uploads")
app.add_typer(push_app, name="push")


@contextmanager
def database_errors(settings: Settings, *, migrating: bool = False) -> Iterator[None]:
    """A database that is missing, unmigrated or unreachable: one line and exit 1, not a
    traceback (anything else keeps its traceback: it is a bug)."""
    try:
        yield
    except Exception as exc:
        message = operational_errors.describe(
            exc, database_url=settings.database_url, migrating=migrating
        )
        if message is None:
            raise
        typer.echo(f"relaypacs: {message}", err=True)
        raise typer.Exit(1) from None


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings (exit 2 with one line naming the variable) and set up logging."""
    try:
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        typer.echo(f"relaypacs: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings)
    return settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT)")] = None,
) -> None:
    """Run the API server."""
    import uvicorn

    from relaypacs.main import create_app

    settings = settings_or_exit()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        timeout_graceful_shutdown=10,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = settings_or_exit()
    with database_errors(settings, migrating=True):
        migrate.upgrade(settings, revision)
    typer.echo(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    settings = settings_or_exit()
    with database_errors(settings, migrating=True):
        migrate.downgrade(settings, revision)
    typer.echo(f"database downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    settings = settings_or_exit()
    with database_errors(settings, migrating=True):
        revision = migrate.current(settings)
    typer.echo(revision or "(no revision: empty database)")


@users_app.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Option(help="The admin's email address")],
    username: Annotated[str, typer.Option(help="The admin's username")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    full_name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
    facility: Annotated[
        str | None, typer.Option(help="Facility to belong to (created when missing)")
    ] = None,
) -> None:
    """Create an administrator (non-interactive; the database must be migrated)."""
    import asyncio

    from relaypacs.users import commands

    if not password_stdin:
        typer.echo("relaypacs: pass --password-stdin and pipe the password in", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    settings = settings_or_exit()
    try:
        with database_errors(settings):
            user_id = asyncio.run(
                commands.create_admin(
                    settings,
                    email=email,
                    username=username,
                    password=password,
                    full_name=full_name,
                    facility=facility,
                )
            )
    except commands.CommandError as exc:
        typer.echo(f"relaypacs: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"admin created: {user_id}")


@uploads_app.command("cleanup")
def uploads_cleanup() -> None:
    """Expire overdue uploads and delete their stored chunks (also runs daily)."""
    import asyncio

    from relaypacs.uploads import housekeeping

    settings = settings_or_exit()
    with database_errors(settings):
        report = asyncio.run(housekeeping.run_once(settings))
    typer.echo(
        f"expired uploads: {report.expired_uploads}, orphaned uploads: "
        f"{report.orphaned_uploads}, bytes freed: {report.bytes_freed}"
    )


@push_app.command("keys")
def push_keys() -> None:
    """Print a new VAPID key pair as .env lines (needs no configuration)."""
    from relaypacs.notifications import push

    private_key, public_key = push.generate_vapid_keys()
    typer.echo(f"VAPID_PRIVATE_KEY={private_key}")
    typer.echo(f"VAPID_PUBLIC_KEY={public_key}")


reports_app = typer.Typer(help="Reports", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("sync")
def reports_sync() -> None:
    """Check open reports against their PACS now (also runs every few minutes)."""
    import asyncio

    from relaypacs.reports import sync

    settings = settings_or_exit()
    with database_errors(settings):
        summary = asyncio.run(sync.run_once(settings))
    unreachable = ", ".join(sorted(summary.unreachable)) or "none"
    typer.echo(
        f"reports checked: {summary.checked}, made ready: {summary.ready}, "
        f"unreachable PACS: {unreachable}"
    )


def _backup_app() -> typer.Typer:
    from relaypacs.backup import commands

    return commands.build(settings_or_exit, database_errors)


app.add_typer(_backup_app(), name="backup")


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:  # raised lazily, e.g. from inside Alembic's env
        print(f"relaypacs: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
