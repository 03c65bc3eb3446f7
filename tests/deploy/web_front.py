"""What the web-front tests share: the running stack and small helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.deploy.nginx_server import NginxServer
from tests.live_server import LiveServer

TIMEOUT = httpx.Timeout(60.0)


@dataclass
class Stack:
    gateway: LiveServer
    nginx: NginxServer
    database_url: str
    base: Path
    dist: Path


def media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip()


def built(dist: Path, pattern: str) -> str:
    found = sorted(dist.glob(pattern))
    assert found, f"no {pattern} in the build"
    return "/" + found[0].relative_to(dist).as_posix()
