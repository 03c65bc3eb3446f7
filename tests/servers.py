"""Real servers for tests: PostgreSQL, Redis, an S3 (moto) server and Orthanc.

Every server listens on a free loopback port, keeps its state in a temporary
directory and runs in its own process group, so it never touches servers the
user already runs and can be stopped reliably.  Missing binaries raise
:class:`ServerUnavailable`; a server that does not become ready raises
``RuntimeError`` with the tail of its log.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "MotoS3Server",
    "OrthancServer",
    "PostgresServer",
    "RedisServer",
    "ServerUnavailable",
    "free_port",
]

LOOPBACK = "127.0.0.1"
DEFAULT_READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class ServerUnavailable(Exception):
    """A binary needed to run a server is not installed."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- helpers


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _require_binary(name: str, candidates: list[Path], install_hint: str) -> Path:
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServerUnavailable(f"{name!r} not found; {install_hint}")


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _spawn(argv: list[str], log_path: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (own process group), output to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group, wait, then SIGKILL it."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Kill leftovers of the group even if the leader exited.
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
        pass


def _wait_ready(
    what: str,
    check: Callable[[], bool],
    proc: subprocess.Popen[bytes] | None,
    log_path: Path,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {proc.returncode} before becoming ready; "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} not ready after {timeout:.0f} s; log {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.1)


def _http_answers(url: str, headers: dict[str, str] | None = None, want: int | None = None) -> bool:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return want is None or status == want


_running: set[_Server] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            server.stop()


class _Server:
    """Context-manager plumbing shared by all servers."""

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

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


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path:
    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)
    for bindir in bindirs:
        if (bindir / "pg_ctl").is_file() and (bindir / "initdb").is_file():
            return bindir
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and Path(pg_ctl).with_name("initdb").is_file():
        return Path(pg_ctl).parent
    raise ServerUnavailable(
        "PostgreSQL server binaries ('initdb', 'pg_ctl') not found in /usr/lib/postgresql/*/bin "
        "or PATH; install them with `apt-get install -y postgresql`"
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer(_Server):
    """A throw-away PostgreSQL cluster with trust auth and superuser ``relay``.

    As root the cluster runs as the ``postgres`` user (PostgreSQL refuses root)
    in a fresh directory under the system temp dir, because ``base_dir`` may
    sit below a root-only (0700) directory such as pytest's ``tmp_path``.
    """

    user = "relay"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.port = 0
        self._bindir: Path | None = None
        self._root: Path | None = None
        self._run_as: list[str] = []

    # paths, valid once started
    @property
    def data_dir(self) -> Path:
        assert self._root is not None, "server not started"
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        assert self._root is not None, "server not started"
        return self._root / "postgres.log"

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL for the asyncpg driver."""
        return f"postgresql+asyncpg://{self.user}@{LOOPBACK}:{self.port}/{dbname}"

    def dsn(self, dbname: str) -> str:
        """Plain libpq/asyncpg DSN."""
        return f"postgresql://{self.user}@{LOOPBACK}:{self.port}/{dbname}"

    def start(self) -> None:
        if self._root is not None:
            return
        bindir = _postgres_bindir()
        self._bindir = bindir
        owner: pwd.struct_passwd | None = None
        if _is_root():
            runuser = str(
                _require_binary(
                    "runuser",
                    [Path("/usr/sbin/runuser"), Path("/sbin/runuser")],
                    "install it with `apt-get install -y util-linux`",
                )
            )
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable(
                    "PostgreSQL refuses to run as root and there is no 'postgres' user; "
                    "install PostgreSQL with `apt-get install -y postgresql` or run the tests as non-root"
                ) from None
            self._run_as = [runuser, "-u", "postgres", "--"]
            root = Path(tempfile.mkdtemp(prefix="relaypacs-pg-"))
            os.chown(root, owner.pw_uid, owner.pw_gid)
        else:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            root = self.base_dir / "postgres"
            # Unix socket paths are limited to ~107 bytes; fall back to a short dir.
            if len(str(root)) > 80:
                root = Path(tempfile.mkdtemp(prefix="relaypacs-pg-"))
            else:
                root.mkdir()
        root.chmod(0o700)
        self._root = root
        self.port = free_port()
        try:
            self._initdb()
            self._pg_ctl_start()
        except BaseException:
            self.stop()
            raise
        _running.add(self)

    def _run(self, argv: list[str], what: str, timeout: float = 60.0) -> str:
        result = subprocess.run(
            argv,
            check=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self._root,
        )
        if result.returncode != 0:
            tail = _log_tail(self.log_path) if self._root and self.log_path.exists() else ""
            raise RuntimeError(
                f"{what} failed ({result.returncode}): {result.stdout}{result.stderr}\n{tail}".rstrip()
            )
        return result.stdout

    def _initdb(self) -> None:
        assert self._bindir is not None
        self._run(
            [
                *self._run_as,
                str(self._bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                self.user,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )

    def _pg_ctl_start(self) -> None:
        assert self._bindir is not None and self._root is not None
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self._root}",
                f"-c listen_addresses={LOOPBACK}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        # pg_ctl detaches the postmaster into its own session (setsid) itself.
        self._run(
            [
                *self._run_as,
                str(self._bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-o",
                options,
                "-w",
                "-t",
                str(int(DEFAULT_READY_TIMEOUT)),
                "start",
            ],
            "pg_ctl start",
            timeout=DEFAULT_READY_TIMEOUT + 10,
        )

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with ``psql`` and return its unaligned, tuples-only output."""
        assert self._bindir is not None, "server not started"
        psql = self._bindir / "psql"
        if not psql.is_file():
            psql = _require_binary(
                "psql", [], "install it with `apt-get install -y postgresql-client`"
            )
        return self._run(
            [
                str(psql),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                dbname,
                "-c",
                sql,
            ],
            "psql",
        )

    def create_database(self, name: str, template: str | None = None) -> None:
        sql = f"CREATE DATABASE {_quote_ident(name)}"
        if template is not None:
            sql += f" TEMPLATE {_quote_ident(template)}"
        self.psql(sql)

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self._root is None:
            return
        _running.discard(self)
        pid = self._postmaster_pid()
        if pid is not None and self._bindir is not None:
            try:
                subprocess.run(
                    [
                        *self._run_as,
                        str(self._bindir / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "10",
                        "stop",
                    ],
                    check=False,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=20,
                )
            except subprocess.TimeoutExpired:
                pass
            try:  # still alive? the postmaster leads its own process group
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None


# --------------------------------------------------------------------------- Redis


class RedisServer(_Server):
    """``redis-server`` without persistence."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.port = 0
        self.log_path = self.base_dir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        if self._proc is not None:
            return
        binary = _require_binary(
            "redis-server", [], "install it with `apt-get install -y redis-server`"
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()  # a restart keeps its port
        self._proc = _spawn(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base_dir),
                "--daemonize",
                "no",
            ],
            self.log_path,
        )
        try:
            _wait_ready(
                "redis-server",
                self._ping,
                self._proc,
                self.log_path,
                DEFAULT_READY_TIMEOUT,
            )
        except BaseException:
            self.stop()
            raise
        _running.add(self)

    def _ping(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")

    def stop(self) -> None:
        if self._proc is None:
            return
        _running.discard(self)
        _terminate(self._proc)
        self._proc = None


# --------------------------------------------------------------------------- S3 (moto)


class MotoS3Server(_Server):
    """moto's standalone server, speaking the S3 API."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.port = 0
        self.log_path = self.base_dir / "moto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        if self._proc is not None:
            return
        binary = _require_binary(
            "moto_server",
            [Path(sys.executable).parent / "moto_server"],
            'install it with `pip install "moto[server]"`',
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._proc = _spawn([str(binary), "-H", LOOPBACK, "-p", str(self.port)], self.log_path)
        try:
            _wait_ready(
                "moto_server",
                lambda: _http_answers(self.endpoint_url + "/"),
                self._proc,
                self.log_path,
                DEFAULT_READY_TIMEOUT,
            )
        except BaseException:
            self.stop()
            raise
        _running.add(self)

    def stop(self) -> None:
        if self._proc is None:
            return
        _running.discard(self)
        _terminate(self._proc)
        self._proc = None


# --------------------------------------------------------------------------- Orthanc

ORTHANC_BINARY = Path("/usr/sbin/Orthanc")
ORTHANC_DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
_ORTHANC_HINT = "install it with `apt-get install -y orthanc orthanc-dicomweb`"


def _aet_from_name(name: str) -> str:
    aet = re.sub(r"[^A-Z0-9_]", "_", name.upper())[:16]
    return aet or "ORTHANC"


class OrthancServer(_Server):
    """An Orthanc PACS with the DICOMweb plugin and HTTP basic auth.

    Ports and storage stay the same across ``stop()``/``start()`` and
    ``kill()``/``start()``, so a test can take the PACS down and bring it back.
    """

    username = "relay"
    password = "relay-secret"

    def __init__(self, base_dir: Path, name: str) -> None:
        self.base_dir = Path(base_dir)
        self.name = name
        self.aet = _aet_from_name(name)
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.config_path = self.base_dir / "orthanc.json"
        self.log_path = self.base_dir / "orthanc.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return self.http_url + "/dicom-web"

    @property
    def auth_header(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def config(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "StorageDirectory": str(self.base_dir / "storage"),
            "IndexDirectory": str(self.base_dir / "index"),
            "StorageCompression": False,
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "HttpDescribeErrors": True,
            "DicomServerEnabled": True,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowEcho": True,
            "UnknownSopClassAccepted": True,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "Plugins": [str(ORTHANC_DICOMWEB_PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
            "SaveJobs": False,
            "ConcurrentJobs": 2,
            "StableAge": 1,
            "ExecuteLuaEnabled": False,
            "RestApiWriteToFileSystemEnabled": False,
            "LoadPrivateDictionary": False,
            "DicomModalities": {},
            "OrthancPeers": {},
        }

    def start(self) -> None:
        if self.running:
            return
        binary = _require_binary("Orthanc", [ORTHANC_BINARY], _ORTHANC_HINT)
        if not ORTHANC_DICOMWEB_PLUGIN.is_file():
            raise ServerUnavailable(
                f"Orthanc DICOMweb plugin {ORTHANC_DICOMWEB_PLUGIN} not found; {_ORTHANC_HINT}"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        self._proc = _spawn([str(binary), str(self.config_path)], self.log_path, cwd=self.base_dir)
        try:
            _wait_ready(
                f"Orthanc {self.name!r}",
                lambda: _http_answers(self.http_url + "/system", self.auth_header, want=200),
                self._proc,
                self.log_path,
                DEFAULT_READY_TIMEOUT,
            )
        except BaseException:
            self.kill()
            raise
        _running.add(self)

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), SIGKILL if it hangs."""
        if self._proc is None:
            return
        _running.discard(self)
        _terminate(self._proc)
        self._proc = None

    def kill(self) -> None:
        """Crash it: SIGKILL the process group without a graceful shutdown."""
        if self._proc is None:
            return
        _running.discard(self)
        _signal_group(self._proc, signal.SIGKILL)
        self._proc.wait(STOP_TIMEOUT)
        self._proc = None

    def request(self, method: str, path: str, body: bytes | None = None) -> Any:
        """Call the Orthanc REST API with basic auth; return decoded JSON (or None)."""
        request = urllib.request.Request(
            self.http_url + path, data=body, method=method, headers=self.auth_header
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        if not payload:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return payload

    def clear(self) -> None:
        """Delete every patient (and so every study and instance)."""
        for patient_id in self.request("GET", "/patients"):
            self.request("DELETE", f"/patients/{patient_id}")
