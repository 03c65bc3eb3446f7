"""An error's log line says what failed and where, never the exception's message, which
may quote patient data (JSON in production, readable lines otherwise; the app's own
records and those of uvicorn and other libraries alike)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.config import CoreSettings
from relaypacs.core.logging import WITHHELD, configure_logging, get_logger
from tests import phi_scan

SECRET = phi_scan.registered_name("Quarrington^Philippa")


def _fail() -> None:
    try:
        raise KeyError(f"no record for {SECRET}")
    except KeyError as exc:
        raise RuntimeError(f"lookup of {SECRET} failed") from exc


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_an_exception_is_logged_with_its_type_and_frames_but_not_its_message(
    capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure_logging(CoreSettings(log_format=log_format))
    capsys.readouterr()
    try:
        _fail()
    except RuntimeError:
        get_logger("relaypacs.test").exception("unhandled_error", path="/api/x")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    err = capsys.readouterr().err
    text = (
        "\n".join(json.loads(line)["exception"] for line in err.splitlines())
        if log_format == "json"
        else err
    )
    assert "Quarrington" not in err and "Philippa" not in err
    assert text.count(f"builtins.RuntimeError {WITHHELD}") == 2
    assert text.count(f"builtins.KeyError {WITHHELD}") == 2
    assert "direct cause" in text
    assert f"line {_fail.__code__.co_firstlineno + 4}, in _fail" in text


async def test_an_unexpected_error_in_a_request_is_logged_without_its_message(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async def boom() -> None:
        raise RuntimeError(f"while reading {SECRET}")

    app.add_api_route("/api/_test/boom", boom, methods=["GET"])
    configure_logging(app.state.settings)  # bound to the captured stderr
    response = await client.get("/api/_test/boom")
    assert response.status_code == 500
    err = capsys.readouterr().err
    assert "unhandled_error" in err and f"builtins.RuntimeError {WITHHELD}" in err
    assert "Quarrington" not in err
