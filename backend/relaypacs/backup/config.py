"""Backup settings: the backup domain's group of the one root `Settings`
(relaypacs/settings.py). Variables: BACKUP_TARGET, BACKUP_S3_*, BACKUP_CRON,
BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY, BACKUP_PG_BIN_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from relaypacs.core.config import CoreSettings


class BackupSettings(CoreSettings):
    # Where backups go: a directory, or s3://bucket/prefix. Empty: <DATA_DIR>/backups.
    backup_target: str = ""
    # The backup bucket's connection; each empty value falls back to the storage's S3_* one.
    backup_s3_endpoint_url: str = ""
    backup_s3_region: str = ""
    backup_s3_access_key_id: str = ""
    backup_s3_secret_access_key: SecretStr = SecretStr("")
    # The scheduled backup (UTC crontab); empty turns the schedule off.
    backup_cron: str = "15 1 * * *"
    # Retention after each backup: the newest backup of each of the last N days that have
    # one, and of each of the last M ISO weeks that have one.
    backup_keep_daily: Annotated[int, Field(ge=1, le=3650)] = 7
    backup_keep_weekly: Annotated[int, Field(ge=0, le=520)] = 4
    # pg_dump/pg_restore's directory; empty: /usr/lib/postgresql/<server major>/bin, then PATH.
    backup_pg_bin_dir: Path | None = None

    @field_validator("backup_pg_bin_dir", mode="before")
    @classmethod
    def _empty_pg_bin_dir(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("backup_target")
    @classmethod
    def _check_target(cls, value: str) -> str:
        if value.startswith("s3://") and not value.removeprefix("s3://").split("/", 1)[0]:
            raise ValueError("expected s3://bucket/prefix (the bucket is missing)")
        if "://" in value and not value.startswith("s3://"):
            raise ValueError("expected a directory or s3://bucket/prefix")
        return value

    @field_validator("backup_cron")
    @classmethod
    def _check_backup_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        if not value.strip():
            return ""
        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return value

    @property
    def backup_target_location(self) -> str:
        return self.backup_target or str(self.data_dir / "backups")
