"""The one place where routers get their prefixes, tags and authentication.

Public routes (no access token) are exactly: the ops router (/healthz, /readyz,
/metrics), `GET /api/client-config` (the web app's error-reporting DSN),
`auth.router.public` (register, verify-email, verify-email/resend, login,
login/2fa, refresh), `GET /api/facilities` (the open facilities' names, for
registration), the upload transfer routes (chunk, status, complete, and DELETE
for cancel) and the tus endpoint (/api/tus/, whose OPTIONS is open to all), which take
either the owner's access token or the upload's X-Upload-Token,
and the notification event
stream, which takes a single-use ticket (EventSource cannot send headers). Everything
else is mounted on `api_router`, which requires an access token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from relaypacs.audit.router import router as audit_router
from relaypacs.auth.dependencies import get_principal
from relaypacs.auth.mfa_router import router as auth_mfa_router
from relaypacs.auth.router import public as auth_public_router
from relaypacs.auth.router import router as auth_router
from relaypacs.core.config import MAX_CHUNK_SIZE
from relaypacs.core.errors import error_responses
from relaypacs.facilities.router import public as facilities_public_router
from relaypacs.facilities.router import router as facilities_router
from relaypacs.notifications.router import router as notifications_router
from relaypacs.notifications.router import stream_router as notifications_stream_router
from relaypacs.ops.router import client_router as ops_client_router
from relaypacs.ops.router import router as ops_router
from relaypacs.pacs.router import router as pacs_router
from relaypacs.reports.router import router as reports_router
from relaypacs.stats.router import router as stats_router
from relaypacs.uploads.router import put_chunk
from relaypacs.uploads.router import router as uploads_router
from relaypacs.uploads.router import transfer_router as uploads_transfer_router
from relaypacs.uploads.tus.router import LARGE_BODY_ENDPOINTS as TUS_LARGE_BODIES
from relaypacs.uploads.tus.router import router as tus_router
from relaypacs.users.router import admin_router as users_router
from relaypacs.users.router import invitation_router, me_router

public_router = APIRouter(prefix="/api")
# The web app's start-up configuration (the browser's Sentry DSN): read before signing in.
public_router.include_router(ops_client_router, tags=["ops"])
public_router.include_router(auth_public_router, prefix="/auth", tags=["auth"])
# The open facilities' names, which registration offers.
public_router.include_router(facilities_public_router, prefix="/facilities", tags=["facilities"])
# An invited user sets their password with the link an admin's invitation mailed them.
public_router.include_router(invitation_router, prefix="/invitations", tags=["users"])
# Chunk, status and complete accept the owner's access token OR the upload's own
# X-Upload-Token (so a service worker can finish an upload); the dependency checks both.
public_router.include_router(uploads_transfer_router, tags=["uploads"])
# The tus 1.0.0 endpoint (docs/tus.md): the same two credentials, per file of an upload.
public_router.include_router(tus_router, prefix="/tus", tags=["tus"])
public_router.include_router(
    notifications_stream_router, prefix="/notifications", tags=["notifications"]
)

api_router = APIRouter(
    prefix="/api",
    dependencies=[Depends(get_principal)],
    responses=error_responses(401),
)
api_router.include_router(auth_router, prefix="/auth", tags=["auth"])
api_router.include_router(auth_mfa_router, prefix="/auth", tags=["auth"])
api_router.include_router(me_router, prefix="/me", tags=["me"])
api_router.include_router(users_router, prefix="/users", tags=["users"])
api_router.include_router(facilities_router, prefix="/facilities", tags=["facilities"])
api_router.include_router(audit_router, prefix="/audit", tags=["audit"])
# Before the uploads: their /upload/{upload_id} would otherwise take /upload/stats.
api_router.include_router(stats_router, tags=["stats"])
api_router.include_router(uploads_router, tags=["uploads"])
api_router.include_router(pacs_router, prefix="/pacs", tags=["pacs"])
api_router.include_router(reports_router, prefix="/reports", tags=["reports"])
api_router.include_router(notifications_router, prefix="/notifications", tags=["notifications"])

# Every request body is at most REQUEST_MAX_BODY_BYTES (core/limits.py) except on these
# routes; a chunk is then held to its own upload's chunk size (uploads/chunks.py), a tus
# body to its file's remaining length (uploads/tus/transfer.py).
LARGE_BODIES: dict[Callable[..., Any], int] = {
    put_chunk: MAX_CHUNK_SIZE,
    **dict.fromkeys(TUS_LARGE_BODIES, 2**63 - 1),
}

__all__ = ["LARGE_BODIES", "api_router", "ops_router", "public_router"]
