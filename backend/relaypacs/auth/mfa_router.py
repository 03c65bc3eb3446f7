"""Two-factor authentication routes (/api/auth/2fa/...): status, enrolment, backup codes,
turning it off. Mounted by api.py beside auth.router, under the same prefix."""

from __future__ import annotations

from fastapi import APIRouter, Response

from relaypacs.auth import mfa
from relaypacs.auth.dependencies import CurrentUser, RecentPrincipal
from relaypacs.auth.schemas import BackupCodes, MfaCodeRequest, MfaSetup, MfaStatus
from relaypacs.core.dependencies import ClientDep, SessionDep, SettingsDep
from relaypacs.core.errors import error_responses

router = APIRouter()


@router.get(
    "/2fa",
    response_model=MfaStatus,
    status_code=200,
    summary="Is 2FA on, since when, and how many backup codes are left",
)
async def mfa_status(user: CurrentUser, session: SessionDep) -> MfaStatus:
    return await mfa.status(session, user=user)


@router.post(
    "/2fa/setup",
    response_model=MfaSetup,
    status_code=200,
    responses=error_responses({403: "reauthentication_required", 409: "mfa_already_enabled"}),
)
async def mfa_setup(principal: RecentPrincipal, session: SessionDep, client: ClientDep) -> MfaSetup:
    return await mfa.setup(session, user=principal.user, client=client)


@router.post(
    "/2fa/enable",
    response_model=BackupCodes,
    status_code=200,
    responses=error_responses(
        422,
        {
            403: "invalid_mfa_code: wrong, reused or expired; or reauthentication_required",
            409: "mfa_already_enabled, or mfa_setup_required (POST /2fa/setup first)",
        },
    ),
)
async def mfa_enable(
    data: MfaCodeRequest,
    principal: RecentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> BackupCodes:
    return await mfa.enable(
        session, settings=settings, user=principal.user, code=data.code, client=client
    )


@router.post(
    "/2fa/disable",
    status_code=204,
    response_class=Response,
    responses=error_responses(
        422,
        {
            403: "invalid_mfa_code: wrong, reused or expired; or reauthentication_required",
            409: "mfa_not_enabled",
        },
    ),
)
async def mfa_disable(
    data: MfaCodeRequest, principal: RecentPrincipal, session: SessionDep, client: ClientDep
) -> Response:
    await mfa.disable(session, user=principal.user, code=data.code, client=client)
    return Response(status_code=204)


@router.post(
    "/2fa/backup-codes",
    response_model=BackupCodes,
    status_code=200,
    summary="Replace your backup codes (the old ones stop working)",
    responses=error_responses(
        {403: "reauthentication_required", 409: "mfa_not_enabled: 2FA is not on"}
    ),
)
async def mfa_regenerate_backup_codes(
    principal: RecentPrincipal, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> BackupCodes:
    return await mfa.regenerate_backup_codes(
        session, settings=settings, user=principal.user, client=client
    )
