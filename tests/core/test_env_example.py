"""`.env.example` documents exactly the settings the app reads, with their defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from relaypacs.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _documented() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = value
    return pairs


def _nested(name: str) -> type[BaseModel] | None:
    annotation = Settings.model_fields[name].annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _env_names() -> dict[str, tuple[str, str | None]]:
    """Every environment variable the settings read → (field, nested field)."""
    names: dict[str, tuple[str, str | None]] = {}
    for name, info in Settings.model_fields.items():
        nested = _nested(name)
        if nested is not None:
            for sub in nested.model_fields:
                names[f"{name.upper()}__{sub.upper()}"] = (name, sub)
            continue
        choices = getattr(info.validation_alias, "choices", None)
        names[str(choices[0]) if choices else name.upper()] = (name, None)
    return names


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert set(_documented()) == set(_env_names())


def test_documented_defaults_are_the_real_defaults() -> None:
    documented = _documented()
    values: dict[str, Any] = {}
    for env, (name, sub) in _env_names().items():
        if sub is None:
            values[name] = documented[env]
        else:
            values.setdefault(name, {})[sub] = documented[env]
    # Exactly what a copy of .env.example as .env would give the app.
    parsed = Settings.model_validate(values)
    defaults = Settings.model_construct()
    machine_dependent = {"password_hash_concurrency"}
    for name in Settings.model_fields:
        if name not in machine_dependent:
            assert getattr(parsed, name) == getattr(defaults, name), name
