"""The docker-compose stack and the image stay in step with the settings the app reads.

There is no Docker engine on the test machines, so this checks the files themselves:
every variable the gateway service sets is a real setting (a typo would silently fall
back to a default), and the values that must be production-grade are.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_env_example import _env_names

from tests.conftest import start_or_skip
from tests.servers import ServerUnavailable

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _gateway_env() -> dict[str, str]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return {str(k): str(v) for k, v in services["gateway"]["environment"].items()}


def test_every_gateway_variable_is_a_setting() -> None:
    unknown = set(_gateway_env()) - set(_env_names())
    assert not unknown, f"not settings the app reads: {sorted(unknown)}"


def test_the_stack_runs_scaled_out_parts_in_production_mode() -> None:
    env = _gateway_env()
    assert env["ENVIRONMENT"] == "production"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["STORAGE_BACKEND"] == "s3"
    # Secrets have no default: compose refuses to start without them.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"])
    services = _compose()["services"]
    assert isinstance(services, dict)
    assert {"gateway", "postgres", "redis", "minio", "orthanc"} <= set(services)
    for dependency in ("postgres", "redis", "minio"):
        assert services["gateway"]["depends_on"][dependency]["condition"] == "service_healthy"


def test_the_image_builds_the_frontend_and_installs_the_pinned_backend() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "-c backend/requirements.lock" in dockerfile
    assert "FRONTEND_DIST=/app/frontend/dist" in dockerfile
    assert re.search(r"^USER relaypacs$", dockerfile, re.M), "the app must not run as root"
    for variable in re.findall(
        r"\b([A-Z_]+)=", dockerfile.split("ENV HOST=", 1)[1].split("\n\n")[0]
    ):
        assert variable in _env_names() or variable in {"PYTHONDONTWRITEBYTECODE"}, variable


# --- the whole stack ----------------------------------------------------------------------

# Every stateful service and where its state lives: each must be a named volume.
STATE = {
    "gateway": "/app/data/backups",
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "minio": "/data",
    "orthanc": "/var/lib/orthanc/db",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "dcm4chee-ldap": "/var/lib/openldap/openldap-data",
    "dcm4chee-db": "/var/lib/postgresql/data",
    "dcm4chee": "/storage",
}
DCM4CHEE = {"dcm4chee-ldap", "dcm4chee-db", "dcm4chee"}


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """target → source of each volume entry (short syntax)."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target = str(entry).split(":")[:2]
        mounts[target] = source
    return mounts


def _default(expression: str) -> str:
    match = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.+)\}", expression)
    assert match, expression
    return match.group(1)


def test_the_stack_has_every_part_of_the_deployment() -> None:
    assert set(_services()) == {
        "frontend", "gateway", "postgres", "redis", "minio", "orthanc", "prometheus",
        "grafana", "postgres-exporter", "redis-exporter", *DCM4CHEE,
    }  # fmt: skip


def test_every_service_has_a_health_check() -> None:
    for name, service in _services().items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        test = check["test"]
        assert isinstance(test, list) and test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name
        assert check["interval"] and check["timeout"] and check["retries"], name


def test_every_stateful_service_keeps_its_state_in_a_declared_named_volume() -> None:
    volumes = _compose()["volumes"]
    assert isinstance(volumes, dict)
    declared = set(volumes)
    used: set[str] = set()
    for name, service in _services().items():
        for source in _mounts(service).values():
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
        if name in STATE:
            source = _mounts(service).get(STATE[name], "")
            assert source in declared, f"{name} keeps {STATE[name]} outside a named volume"
    assert used == declared, f"declared but unused: {sorted(declared - used)}"


def test_the_monitoring_mounts_its_provisioning_from_the_repository() -> None:
    services = _services()
    assert _mounts(services["prometheus"])["/etc/prometheus"] == "./prometheus"
    assert _mounts(services["grafana"])["/etc/grafana/provisioning"] == "./grafana/provisioning"
    command = " ".join(services["prometheus"]["command"])
    assert "--config.file=/etc/prometheus/prometheus.yml" in command


def test_dependencies_exist_and_wait_for_health() -> None:
    services = _services()
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on an unknown {dependency}"
            assert how == {"condition": "service_healthy"}, f"{name} → {dependency}: {how}"
            # A service that always runs cannot wait for one of an optional profile.
            if not service.get("profiles"):
                assert not services[dependency].get("profiles"), f"{name} → {dependency}"
    assert set(services["frontend"]["depends_on"]) == {"gateway"}
    assert set(services["postgres-exporter"]["depends_on"]) == {"postgres"}
    assert set(services["redis-exporter"]["depends_on"]) == {"redis"}


def test_dcm4chee_runs_behind_its_profile_and_the_gateway_is_wired_to_it() -> None:
    services = _services()
    for name in DCM4CHEE:
        assert services[name]["profiles"] == ["dcm4chee"], name
        assert services[name]["image"].startswith("dcm4che/"), name
    arc = services["dcm4chee"]["environment"]
    assert arc["LDAP_URL"] == "ldap://dcm4chee-ldap:389"
    assert arc["POSTGRES_HOST"] == "dcm4chee-db"
    env = _gateway_env()
    assert _default(env["PACS_DCM4CHEE__URL"]).startswith("http://dcm4chee:8080/dcm4chee-arc/")
    assert _default(env["PACS_DCM4CHEE__HOST"]) == "dcm4chee"
    assert env["ACTIVE_PACS"] == "${ACTIVE_PACS:-orthanc}"


def test_images_are_pinned() -> None:
    for name, service in _services().items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", f"{name}: pin {image}"


def test_redis_persists_to_its_volume() -> None:
    command = _services()["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"


def test_only_the_web_front_is_published_and_the_gateway_trusts_the_web_front_alone() -> None:
    services = _services()
    assert "ports" not in services["gateway"], "reach the gateway through the web front"
    for name, service in services.items():
        for port in service.get("ports", []):
            if name != "frontend":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    networks: Any = _compose()["networks"]
    subnet = networks["default"]["ipam"]["config"][0]["subnet"]
    front = services["frontend"]["networks"]["default"]["ipv4_address"]
    # Not the whole network: another container, or Docker's proxy for IPv6 clients, is on it.
    assert _gateway_env()["FORWARDED_ALLOW_IPS"] == front
    defaults = [re.fullmatch(r"\$\{[A-Z_]+:-([^}]+)\}", value) for value in (front, subnet)]
    assert all(defaults), (front, subnet)
    [front_default, subnet_default] = [match[1] for match in defaults if match]
    assert ipaddress.ip_address(front_default) in ipaddress.ip_network(subnet_default)


def test_the_web_front_image_renders_the_tested_nginx_config_for_the_gateway() -> None:
    dockerfile = (ROOT / "frontend" / "Dockerfile").read_text()
    template = "deploy/nginx/relaypacs.conf.template"
    assert f"COPY {template} /etc/nginx/templates/" in dockerfile
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    placeholders = set(re.findall(r"\$\{(RELAYPACS_[A-Z_]+)\}", (ROOT / template).read_text()))
    for name in placeholders:
        assert re.search(rf"\b{name}=", dockerfile), f"the image does not set {name}"
    assert "NGINX_ENVSUBST_FILTER=^RELAYPACS_" in dockerfile
    frontend = _services()["frontend"]
    assert frontend["build"] == {"context": ".", "dockerfile": "frontend/Dockerfile"}
    assert frontend["environment"]["RELAYPACS_GATEWAY"] == "gateway:8000"
    assert _services()["gateway"]["expose"] == ["8000"]


def test_the_compose_variables_are_documented_with_their_defaults() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)[:?}-]", text))
    example = ROOT / "deploy" / "compose.env.example"
    documented = dict(
        line.split("=", 1)
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used == set(documented), (sorted(used - set(documented)), sorted(set(documented) - used))
    for name, default in re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", text):
        assert documented[name] == default, name
    for name in re.findall(r"\$\{([A-Z0-9_]+):\?", text):
        assert documented[name] == "", f"{name} is required: no value in the example"


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """Debian's docker-compose (v1) validates the file against the compose schema."""
    binary = shutil.which("docker-compose")
    if binary is None:
        start_or_skip(_no_docker_compose)
    env = dict(os.environ, **{name: "x" * 32 for name in _REQUIRED})
    for profile in ([], ["--profile", "dcm4chee"]):
        result = subprocess.run(
            [str(binary), "-f", str(ROOT / "docker-compose.yml"), *profile, "config", "-q"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    # Without a required secret compose refuses to start, naming it.
    del env["SECRET_KEY"]
    result = subprocess.run(
        [str(binary), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


_REQUIRED = ("SECRET_KEY", "POSTGRES_PASSWORD", "S3_SECRET_ACCESS_KEY", "GRAFANA_ADMIN_PASSWORD")


def _no_docker_compose() -> None:
    raise ServerUnavailable(
        "docker-compose not found; install it with `apt-get install -y docker-compose`"
    )
