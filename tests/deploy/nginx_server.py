"""The web front's nginx config (deploy/nginx/relaypacs.conf.template) run by a real nginx.

The template is rendered exactly as the frontend image renders it (envsubst of the three
RELAYPACS_* variables, nothing else) and included in a small main config that plays the
part of the image's /etc/nginx/nginx.conf: own prefix, pid file, temp paths and logs in a
temporary directory, a free loopback port, in the foreground in its own process group.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.servers import (
    DEFAULT_READY_TIMEOUT,
    LOOPBACK,
    _require_binary,
    _spawn,
    _terminate,
    _wait_ready,
    free_port,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "relaypacs.conf.template"
VARIABLES = ("RELAYPACS_LISTEN", "RELAYPACS_GATEWAY", "RELAYPACS_WEB_ROOT")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def nginx_binary() -> Path:
    return _require_binary(
        "nginx", [Path("/usr/sbin/nginx")], "install it with `apt-get install -y nginx`"
    )


def render(values: dict[str, str]) -> str:
    """The template with its ${VAR} placeholders filled in, as envsubst does."""
    text = TEMPLATE.read_text()
    used = set(_PLACEHOLDER.findall(text))
    assert used == set(VARIABLES), f"the template's placeholders: {sorted(used)}"
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main_config(base: Path, site: Path, upstream: str = "") -> str:
    # As root the workers would run as `nobody`, who cannot read pytest's private tmp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = base / "temp"
    return f"""{user}daemon off;
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log notice;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{upstream}    include {site};
}}
"""


def check_config(base: Path, gateway: str, web_root: str, listen: str = "8080") -> str:
    """`nginx -t` of the template rendered with these values; its output (raises on error)."""
    base.mkdir(parents=True, exist_ok=True)
    conf = _write(
        base,
        {"RELAYPACS_LISTEN": listen, "RELAYPACS_GATEWAY": gateway, "RELAYPACS_WEB_ROOT": web_root},
    )
    result = subprocess.run(
        [str(nginx_binary()), "-t", "-p", str(base), "-c", str(conf), "-e", str(base / "t.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def upstream_block(name: str, servers: Sequence[str]) -> str:
    """An upstream group the template's `proxy_pass http://$relaypacs_gateway` picks by name
    (nginx looks a variable's host up among the groups before asking the resolver): plain
    round-robin, no stickiness, keep-alive connections to the replicas, each dropped by
    nginx after 4 s idle: before uvicorn's own 5 s, or nginx may send a request on a
    connection uvicorn is closing, which is a 502 that nginx cannot retry for a POST."""
    lines = "".join(f"        server {server} max_fails=1 fail_timeout=2s;\n" for server in servers)
    keepalive = "        keepalive 16;\n        keepalive_timeout 4s;\n"
    return f"    upstream {name} {{\n{lines}{keepalive}    }}\n"


def _write(base: Path, values: dict[str, str], upstream: str = "") -> Path:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (base / "temp" / name).mkdir(parents=True, exist_ok=True)
    site = base / "relaypacs.conf"
    site.write_text(render(values))
    conf = base / "nginx.conf"
    conf.write_text(main_config(base, site, upstream))
    return conf


class NginxServer:
    """nginx with the web front's config, in front of `gateway` (host:port), serving `web_root`."""

    def __init__(
        self, base: Path, *, gateway: str, web_root: Path, replicas: Sequence[str] = ()
    ) -> None:
        """`gateway` is one host:port or, with `replicas`, the name of their upstream group."""
        self.base = base
        self.gateway = gateway
        self.replicas = list(replicas)
        self.web_root = web_root
        self.port = 0
        self.access_log = base / "access.log"  # the config logs to stdout
        self.error_log = base / "error.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = _write(
            self.base,
            {
                "RELAYPACS_LISTEN": f"{LOOPBACK}:{self.port}",
                "RELAYPACS_GATEWAY": self.gateway,
                "RELAYPACS_WEB_ROOT": str(self.web_root),
            },
            upstream_block(self.gateway, self.replicas) if self.replicas else "",
        )
        argv = [
            str(nginx_binary()),
            "-p",
            str(self.base),
            "-c",
            str(conf),
            "-e",
            str(self.error_log),
        ]
        self._proc = _spawn(argv, self.access_log)
        try:
            _wait_ready("nginx", self._answers, self._proc, self.error_log, DEFAULT_READY_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1):
            return True

    def stop(self) -> None:
        if self._proc is not None:
            _terminate(self._proc)
            self._proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
