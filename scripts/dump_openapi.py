#!/usr/bin/env python3
"""Print the API's OpenAPI document as sorted JSON (input of `make api-types`).

Usage: dump_openapi.py [OUTPUT]  (to stdout, or written to OUTPUT only once it is complete)

A throwaway app on SQLite in a temporary directory: no database, server or `.env` needed,
and the environment's own settings are ignored, so the output depends on the code alone.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from relaypacs.core.config import Environment, LogFormat
from relaypacs.main import create_app
from relaypacs.settings import Settings


def _drop_settings_from_environment() -> None:
    fields = set(Settings.model_fields)
    for name in list(os.environ):
        if name.lower().split("__", 1)[0] in fields:
            del os.environ[name]


def openapi_document() -> dict[str, Any]:
    _drop_settings_from_environment()
    with tempfile.TemporaryDirectory(prefix="relaypacs-openapi-") as tmp:
        settings = Settings(
            _env_file=None,
            environment=Environment.development,
            data_dir=Path(tmp),
            database_url=f"sqlite+aiosqlite:///{tmp}/openapi.db",
            db_migrate_on_startup=False,
            log_format=LogFormat.console,
        )
        return create_app(settings).openapi()


def main(argv: list[str]) -> None:
    text = json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not argv:
        sys.stdout.write(text)
        return
    output = Path(argv[0])
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)


if __name__ == "__main__":
    main(sys.argv[1:])
