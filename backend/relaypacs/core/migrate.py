"""Run Alembic programmatically (start-up and the `relaypacs db` commands)."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config

from relaypacs.core.config import CoreSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: CoreSettings, *, output: io.StringIO | None = None) -> Config:
    config = Config(stdout=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(settings: CoreSettings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: CoreSettings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def current(settings: CoreSettings) -> str:
    output = io.StringIO()
    command.current(alembic_config(settings, output=output))
    return output.getvalue().strip()
