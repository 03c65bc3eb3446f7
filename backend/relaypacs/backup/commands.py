"""`relaypacs backup create|list|verify|restore|prune`: a typer app that cli.py mounts,
given its settings loader and database-error wrapper (both live above this layer)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from relaypacs.backup.config import BackupSettings
from relaypacs.backup.errors import BackupError

if TYPE_CHECKING:
    from relaypacs.backup import service
    from relaypacs.backup.targets import Target

# The backup machinery (storage, SQLAlchemy, boto3) is imported by the command that runs,
# so that every other `relaypacs` command starts as fast as before.

S = TypeVar("S", bound=BackupSettings)
TargetOption = Annotated[
    str | None,
    typer.Option("--target", help="A directory or s3://bucket/prefix (default BACKUP_TARGET)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts")]
BackupId = Annotated[str, typer.Argument(help="A backup id from `backup list`, or latest")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"relaypacs: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _progress() -> Iterator[service.Progress]:
    """A progress bar on a terminal's stderr (nothing when piped)."""
    from rich.progress import Progress

    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{phase} objects", total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _manifest_summary(manifest: Any) -> dict[str, Any]:
    return {
        "id": manifest.id,
        "finished_at": manifest.finished_at.isoformat(),
        "database": manifest.database.kind,
        "revision": manifest.database.revision,
        "tables": len(manifest.database.tables),
        "rows": sum(manifest.database.tables.values()),
        "objects": manifest.storage.objects,
        "bytes": manifest.storage.bytes + manifest.database.size,
    }


def build(
    load_settings: Callable[[], S],
    database_errors: Callable[[S], AbstractContextManager[None]],
) -> typer.Typer:
    app = typer.Typer(help="Backups of the database and the stored studies", no_args_is_help=True)

    def run(settings: S, target: Target, work: Any) -> Any:
        try:
            with database_errors(settings):
                return asyncio.run(work)
        except BackupError as exc:
            raise _fail(str(exc)) from None
        finally:
            target.close()

    def target_of(settings: BackupSettings, location: str | None) -> Target:
        from relaypacs.backup.targets import build_target

        try:
            return build_target(settings, location)
        except BackupError as exc:
            raise _fail(str(exc)) from None

    @app.command("create")
    def create(
        target: TargetOption = None,
        prune: Annotated[bool, typer.Option(help="Apply retention afterwards")] = True,
        as_json: JsonOption = False,
    ) -> None:
        """Back up the database and every stored object (then apply retention)."""
        from relaypacs.backup import service

        settings = load_settings()
        where = target_of(settings, target)

        async def work() -> tuple[Any, list[str]]:
            from relaypacs.backup.objects import stored_objects
            from relaypacs.uploads.storage import build_storage

            storage = build_storage(settings)
            try:
                with _progress() as progress:
                    manifest = await service.create(
                        settings, target=where, objects=stored_objects(storage), progress=progress
                    )
            finally:
                storage.close()
            deleted = await service.prune(settings, target=where) if prune else []
            return manifest, deleted

        manifest, deleted = run(settings, where, work())
        summary = _manifest_summary(manifest) | {"target": where.location, "pruned": deleted}
        if as_json:
            typer.echo(json.dumps(summary))
            return
        typer.echo(
            f"backup {manifest.id} written to {where.location}: {summary['tables']} tables, "
            f"{summary['rows']} rows, {manifest.storage.objects} objects, "
            f"{summary['bytes']} bytes; pruned {len(deleted)}"
        )

    @app.command("list")
    def list_(target: TargetOption = None, as_json: JsonOption = False) -> None:
        """List the backups in the target, newest first."""
        from relaypacs.backup import service

        settings = load_settings()
        where = target_of(settings, target)
        infos: list[service.BackupInfo] = run(settings, where, service.list_backups(target=where))
        rows = [
            _manifest_summary(i.manifest) | {"complete": True}
            if i.manifest is not None
            else {"id": i.id, "complete": False}
            for i in infos
        ]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        if not rows:
            typer.echo(f"no backups in {where.location}")
        for row in rows:
            if row["complete"]:
                typer.echo(
                    f"{row['id']}  {row['finished_at']}  {row['database']}  "
                    f"{row['rows']} rows  {row['objects']} objects  {row['bytes']} bytes"
                )
            else:
                typer.echo(f"{row['id']}  incomplete (no manifest)")

    @app.command("verify")
    def verify(
        backup_id: BackupId, target: TargetOption = None, as_json: JsonOption = False
    ) -> None:
        """Re-hash a backup against its manifest; exit 1 if anything differs."""
        from relaypacs.backup import service

        settings = load_settings()
        where = target_of(settings, target)
        with _progress() as progress:
            manifest, problems = run(
                settings,
                where,
                service.verify(target=where, backup_id=backup_id, progress=progress),
            )
        if as_json:
            typer.echo(json.dumps({"id": manifest.id, "ok": not problems, "problems": problems}))
        else:
            for problem in problems:
                typer.echo(f"{manifest.id}: {problem}", err=True)
        if problems:
            raise _fail(f"backup {manifest.id} is corrupt: {len(problems)} problems")
        if not as_json:
            typer.echo(
                f"backup {manifest.id} is intact: {manifest.storage.objects} objects verified"
            )

    @app.command("restore")
    def restore(
        backup_id: BackupId,
        target: TargetOption = None,
        force: Annotated[
            bool, typer.Option("--force", help="Replace a database and storage that are not empty")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Restore a backup into DATABASE_URL and the configured storage (stop the gateway
        first); refused when either is not empty, unless --force."""
        from relaypacs.backup import service

        settings = load_settings()
        where = target_of(settings, target)

        async def work() -> service.RestoreReport:
            from relaypacs.backup.objects import stored_objects
            from relaypacs.uploads.storage import build_storage

            storage = build_storage(settings)
            try:
                with _progress() as progress:
                    return await service.restore(
                        settings,
                        target=where,
                        backup_id=backup_id,
                        objects=stored_objects(storage),
                        force=force,
                        progress=progress,
                    )
            finally:
                storage.close()

        report: service.RestoreReport = run(settings, where, work())
        if as_json:
            typer.echo(json.dumps(_manifest_summary(report.manifest) | {"restored": True}))
            return
        typer.echo(
            f"restored backup {report.manifest.id}: {len(report.tables)} tables "
            f"({sum(report.tables.values())} rows, as in the manifest), {report.objects} objects; "
            "start the gateway (it applies newer migrations: `relaypacs db upgrade`)"
        )

    @app.command("prune")
    def prune(target: TargetOption = None, as_json: JsonOption = False) -> None:
        """Apply retention (BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY) now."""
        from relaypacs.backup import service

        settings = load_settings()
        where = target_of(settings, target)
        deleted: list[str] = run(settings, where, service.prune(settings, target=where))
        typer.echo(json.dumps({"deleted": deleted}) if as_json else f"pruned {len(deleted)}")

    return app
