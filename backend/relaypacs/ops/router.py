from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from relaypacs.core.dependencies import SettingsDep
from relaypacs.core.errors import NotAuthenticated, error_body, error_responses
from relaypacs.ops import service
from relaypacs.ops.dependencies import OpsSettingsDep
from relaypacs.ops.schemas import (
    BrowserErrorReporting,
    ClientConfig,
    Health,
    NotReady,
    Readiness,
)

router = APIRouter(tags=["ops"])
# Mounted under /api (api.py): the web app's own start-up configuration.
client_router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=Health, status_code=200, summary="Process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    status_code=200,
    summary="Dependencies are reachable",
    responses={
        503: {"model": NotReady, "description": "A component is unavailable; the body names it"}
    },
)
async def readyz(request: Request, settings: SettingsDep) -> Any:
    report = await service.check_readiness(
        checks=request.app.state.readiness_checks,
        informational=getattr(request.app.state, "readiness_info", {}),
        timeout=settings.readiness_timeout_seconds,
    )
    if report.status == "ready":
        return report
    failing = sorted(name for name, check in report.checks.items() if not check.ok)
    body = report.model_dump() | error_body(
        "not_ready", f"Unavailable: {', '.join(failing)}.", components=failing
    )
    return JSONResponse(body, status_code=503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (a bearer token when METRICS_TOKEN is set)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
        **error_responses({401: "METRICS_TOKEN is set and the request lacks it"}),
    },
)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    expected = settings.metrics_token.get_secret_value()
    if expected:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise NotAuthenticated("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.")
    await service.refresh_metrics(getattr(request.app.state, "database", None))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@client_router.get(
    "/client-config",
    response_model=ClientConfig,
    summary="The web app's start-up configuration (error reporting)",
)
async def client_config(settings: OpsSettingsDep, response: Response) -> ClientConfig:
    response.headers["Cache-Control"] = "no-cache"
    return ClientConfig(
        sentry=BrowserErrorReporting(
            dsn=settings.sentry_browser_dsn or None,
            environment=settings.sentry_environment_name,
            traces_sample_rate=settings.sentry_browser_traces_sample_rate,
        )
    )
