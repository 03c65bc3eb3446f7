"""The Grafana provisioning and the "RelayPACS Overview" dashboard, checked for what
Grafana needs (Grafana itself is not installable here): a schema version, every panel
and query pointing at the provisioned datasource, unique panel ids, the panels the
operations issue lists, and every query parsable by promtool."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from tests.ops.monitoring import (
    DASHBOARD,
    DATASOURCE_UID,
    GRAFANA_DIR,
    as_prometheus_sees_it,
    binary,
    dashboard,
    panels,
)

# The panels the operations issue lists, by (a part of) their title.
REQUIRED_PANELS = [
    "Request rate by route",
    "5xx error ratio by route",
    "Latency p50 by route",
    "Latency p99 by route",
    "Uploads ended by outcome",
    "Upload volume",
    "Chunk rejections by reason",
    "PACS up per destination",
    "Forward throughput",
    "Forward batch latency",
    "Queue depth",
    "Oldest queued job age",
    "Dead letters",
    "SSE connections",
    "Scheduled job",
    "Backup age",
    "PostgreSQL",
    "Redis",
]


def test_the_datasource_is_provisioned_with_the_uid_the_dashboard_uses() -> None:
    config = yaml.safe_load((GRAFANA_DIR / "datasources" / "prometheus.yml").read_text())
    (source,) = config["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == DATASOURCE_UID
    assert source["url"] == "http://prometheus:9090"


def test_the_dashboard_provider_loads_the_folder_the_dashboard_is_in() -> None:
    config = yaml.safe_load((GRAFANA_DIR / "dashboards" / "relaypacs.yml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    # Mounted at /etc/grafana/provisioning, as grafana/provisioning is.
    mounted = "/etc/grafana/provisioning/" + str(DASHBOARD.parent.relative_to(GRAFANA_DIR))
    assert provider["options"]["path"] == mounted


def test_the_dashboard_has_a_schema_version_a_uid_and_unique_panel_ids() -> None:
    board = dashboard()
    assert board["title"] == "RelayPACS Overview"
    assert board["uid"] == "relaypacs-overview"
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    ids = [p["id"] for p in board["panels"]] + [
        n["id"] for p in board["panels"] for n in p.get("panels", [])
    ]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_panel_and_query_uses_the_provisioned_prometheus() -> None:
    for panel in panels(dashboard()):
        assert panel["targets"], f"{panel['title']}: no query"
        refs: list[dict[str, Any]] = [panel["datasource"]] + [
            t["datasource"] for t in panel["targets"]
        ]
        for ref in refs:
            assert ref == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_the_dashboard_has_every_panel_the_issue_lists() -> None:
    titles = [p["title"] for p in panels(dashboard())]
    for wanted in REQUIRED_PANELS:
        assert any(wanted in title for title in titles), f"no panel for {wanted!r}"


def test_every_panel_query_parses(tmp_path: Any) -> None:
    # promtool checks each expression as a recording rule would be checked.
    queries = [
        {
            "record": f"dashboard:panel_{p['id']}_{t['refId']}",
            "expr": as_prometheus_sees_it(t["expr"]),
        }
        for p in panels(dashboard())
        for t in p["targets"]
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": queries}]}))
    result = subprocess.run(
        [binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
