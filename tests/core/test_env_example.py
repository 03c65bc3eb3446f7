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


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert set(_documented()) == {name.upper() for name in Settings.model_fields}


def test_documented_defaults_are_the_real_defaults() -> None:
    parsed = Settings.model_validate({k.lower(): v for k, v in _documented().items()})
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        assert getattr(parsed, name) == getattr(defaults, name), name
