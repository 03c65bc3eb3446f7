"""The one place where routers get their prefixes, tags and authentication.

Public (unauthenticated) routes: everything in `ops_router` (/healthz, /readyz,
/metrics). Every router added to `api_router` is authenticated unless listed here.
"""

from __future__ import annotations

from fastapi import APIRouter

from relaypacs.ops.router import router as ops_router

api_router = APIRouter(prefix="/api")

__all__ = ["api_router", "ops_router"]
