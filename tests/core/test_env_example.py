"""`.env.example` documents exactly the settings the app reads, with their defaults."""

from __future__ import annotations

from pathlib import Path

from relaypacs.core.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _documented() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = value
    return pairs


def _env_name(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else name.upper()


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert set(_documented()) == {_env_name(name) for name in Settings.model_fields}


def test_documented_defaults_are_the_real_defaults() -> None:
    documented = _documented()
    values = {name: documented[_env_name(name)] for name in Settings.model_fields}
    # Exactly what a copy of .env.example as .env would give the app.
    parsed = Settings.model_validate(values)
    defaults = Settings.model_construct()
    machine_dependent = {"password_hash_concurrency"}
    for name in Settings.model_fields:
        if name not in machine_dependent:
            assert getattr(parsed, name) == getattr(defaults, name), name
