"""What the monitoring tests share: where the files are, the Debian binaries, and the
dashboard's and rules' expressions as Prometheus will see them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "prometheus"
PROMETHEUS_YML = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.rules.yml"))
RULE_TESTS = PROMETHEUS_DIR / "tests" / "alerts.test.yml"
GRAFANA_DIR = ROOT / "grafana" / "provisioning"
DASHBOARD = GRAFANA_DIR / "dashboards" / "relaypacs-overview.json"
DATASOURCE_UID = "relaypacs-prometheus"

# Grafana's built-in interval variables, as concrete durations for a 1 s scrape.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1s", "$__range": "5m"}


def binary(name: str) -> str:
    """The path of a Debian monitoring binary; skips locally, fails in CI, when missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (scripts/system-packages.sh test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def rules() -> list[dict[str, Any]]:
    """Every recording and alerting rule of every rule file."""
    found: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend(group["rules"])
    return found


def alert_names() -> list[str]:
    return [r["alert"] for r in rules() if "alert" in r]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included, rows themselves left out."""
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found.extend(panel.get("panels", []))
        if panel["type"] != "row":
            found.append(panel)
    return found


def as_prometheus_sees_it(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    leftover = re.search(r"\$\{?\w+", expr)
    assert leftover is None, f"unknown dashboard variable {leftover.group(0)} in {expr}"
    return expr
