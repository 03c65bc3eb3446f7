"""The checked-in Prometheus configuration and rules, checked by promtool: the config and
rules are valid, every alert has a severity and a runbook, and the rule unit tests
(prometheus/tests/alerts.test.yml) pass with one test per alert that sees it both fire
and stay quiet."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

import httpx
import yaml

from tests.ops.monitoring import (
    PROMETHEUS_YML,
    RULE_FILES,
    RULE_TESTS,
    alert_names,
    binary,
    rules,
)

# The alerts the operations issue asks for, by the name they have here.
REQUIRED_ALERTS = {
    "PacsDown",
    "ForwardQueueStalled",
    "ForwardDeadLetter",
    "ForwardSuccessLow",
    "UploadCompletionLow",
    "HighErrorRate",
    "HighLatency",
    "ScheduledJobMissed",
    "BackupTooOld",
    "GatewayReplicaDown",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    result = promtool("check", "config", str(PROMETHEUS_YML))
    assert result.returncode == 0, result.stdout + result.stderr
    for path in RULE_FILES:
        assert f"Checking {path}" in result.stdout  # the glob in rule_files finds them all


def test_promtool_accepts_every_rule_file() -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_seed_ratios_are_recording_rules() -> None:
    recorded = {r["record"] for r in rules() if "record" in r}
    assert {"relaypacs:upload_success_rate:ratio_1h", "relaypacs:pacs_connectivity"} <= recorded


def test_every_required_alert_exists_with_a_severity_and_a_runbook() -> None:
    alerts = [r for r in rules() if "alert" in r]
    assert {a["alert"] for a in alerts} >= REQUIRED_ALERTS
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning"}, alert["alert"]
        runbook = alert["annotations"]["runbook"]
        assert runbook.startswith(f"docs/alerts.md#{alert['alert'].lower()}: "), runbook
        assert alert["annotations"]["summary"], alert["alert"]


def test_the_rule_unit_tests_see_every_alert_fire_and_stay_quiet() -> None:
    suite = yaml.safe_load(RULE_TESTS.read_text())
    fired: dict[str, int] = defaultdict(int)
    quiet: dict[str, int] = defaultdict(int)
    for case in suite["tests"]:
        named = {check["alertname"] for check in case["alert_rule_test"]}
        assert len(named) == 1, f"{case['name']}: one alert per test, got {named}"
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet)[check["alertname"]] += 1
    for name in alert_names():
        assert fired[name] and quiet[name], f"{name}: fired {fired[name]}, quiet {quiet[name]}"

    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


async def test_the_latency_rule_leaves_out_exactly_the_routes_timed_by_the_client(
    client: httpx.AsyncClient,
) -> None:
    """The p99 recording rule drops the SSE stream, chunk PUTs and tus PATCHes by their
    route label: its regex must match the labels the app really gives them (whole path
    templates, prefixes included), and not an API route such as the report list."""
    expr = next(
        rule["expr"]
        for rule in rules()
        if rule.get("record") == "relaypacs:http_request_duration_seconds:p99_5m"
    )
    excluded = re.search(r'route!~"([^"]+)"', expr)
    assert excluded is not None
    pattern = re.compile(excluded.group(1))  # PromQL regexes are anchored: fullmatch
    some_id = "0b7c9a52-3f7e-4c1e-9d55-5a8f2e6b1c3d"
    client_timed = [
        ("GET", "/api/notifications/stream"),
        ("PUT", f"/api/upload/{some_id}/chunk?file_index=0&chunk_index=0"),
        ("PATCH", f"/api/tus/{some_id}/0"),
        ("PATCH", f"/api/tus/{some_id}/0/partials/{'a' * 16}"),
    ]
    for method, path in [*client_timed, ("GET", "/api/reports"), ("GET", "/api/uploads")]:
        answer = await client.request(method, path, headers={"Tus-Resumable": "1.0.0"})
        assert answer.status_code < 500, (path, answer.text)  # refused, but routed
    text = (await client.get("/metrics")).text
    labels = set(re.findall(r'relaypacs_http_requests_total\{method="(\w+)",route="([^"]+)"', text))
    # The registry is the process's: other tests' requests are in it too, so look for these.
    expected = [
        ("GET", "/api/notifications/stream"),
        ("PUT", "/api/upload/{upload_id}/chunk"),
        ("PATCH", "/api/tus/{upload_id}/{file_index}"),
        ("PATCH", "/api/tus/{upload_id}/{file_index}/partials/{partial_id}"),
    ]
    assert len(expected) == len(client_timed)
    for label in expected:
        assert label in labels, (label, sorted(labels))
        assert pattern.fullmatch(label[1]), label
    for route in ("/api/reports", "/api/uploads"):
        assert ("GET", route) in labels and not pattern.fullmatch(route)
