"""Backup failures: each is one line that says what is wrong and what to do (the CLI prints
it and exits non-zero; the scheduled job logs its code)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class BackupError(Exception):
    """An operational failure of backup or restore, with a one-line message."""

    code = "backup_failed"


class BackupNotFound(BackupError):
    code = "backup_not_found"


class BackupCorrupt(BackupError):
    """The backup does not match its manifest: refused by restore."""

    code = "backup_corrupt"

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class TargetNotEmpty(BackupError):
    code = "restore_target_not_empty"


class ToolMissing(BackupError):
    code = "backup_tool_missing"


class TargetUnavailable(BackupError):
    code = "backup_target_unavailable"


@contextlib.contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """botocore's failures as one-line TargetUnavailable errors naming `what`
    (e.g. "the backup bucket s3://bucket/prefix/")."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise TargetUnavailable(f"{what} answered {code}") from exc
    except BotoCoreError as exc:
        raise TargetUnavailable(f"cannot reach {what}: {type(exc).__name__}") from exc
