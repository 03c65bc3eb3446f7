from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from relaypacs.auth import reauth, service, verification
from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.dependencies import CurrentUser, PrincipalDep, RecentPrincipal
from relaypacs.auth.schemas import (
    Accepted,
    ChangePasswordRequest,
    EmailVerified,
    LoginMfaRequest,
    LoginRequest,
    Me,
    MfaChallenge,
    Reauthenticated,
    ReauthRequest,
    RefreshRequest,
    RegisterRequest,
    ResendVerificationRequest,
    RevokedCount,
    SessionList,
    SessionRead,
    TokenPair,
    VerifyEmailRequest,
    membership_of,
)
from relaypacs.core.dependencies import CacheDep, ClientDep, HasherDep, SessionDep, SettingsDep
from relaypacs.core.errors import AppError, NotFound, error_responses
from relaypacs.core.permissions import ROLE_PERMISSIONS
from relaypacs.core.web_app import web_app_built

RATE_LIMITED = error_responses({429: "rate_limited (Retry-After says when to try again)"})
# Operations that need a sign-in or POST /reauth within REAUTH_WINDOW_MINUTES.
REAUTH = error_responses({403: "reauthentication_required: no recent sign-in or POST /reauth"})

# Routes that need no access token; api.py mounts this router without authentication.
public = APIRouter()
# Routes for a signed-in user (api.py's parent router declares their 401).
router = APIRouter()


@public.post(
    "/register",
    response_model=Accepted,
    status_code=202,
    responses=error_responses(
        {
            403: "weak_password: the password policy refuses it (`reason` says why)",
            404: "unknown_facility: no open facility has this id",
            409: "username_taken",
            422: "Invalid input (`validation_error`, `invalid_json`)",
        },
        429,
    ),
)
async def register(
    data: RegisterRequest,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    cache: CacheDep,
    client: ClientDep,
) -> Accepted:
    message = await service.register(
        session, settings=settings, hasher=hasher, cache=cache, data=data, client=client
    )
    return Accepted(message=message)


@public.post(
    "/verify-email",
    response_model=EmailVerified,
    status_code=200,
    responses=error_responses(
        422,
        {
            404: "invalid_verification_token: invalid, expired or already used",
            409: "email_taken: the address now belongs to another account",
        },
    ),
)
async def verify_email(
    data: VerifyEmailRequest, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> EmailVerified:
    user = await verification.verify(session, settings=settings, token=data.token, ip=client.ip)
    return EmailVerified(email=user.email)


@public.get(
    "/verify-email",
    response_model=EmailVerified,
    status_code=200,
    summary="Verify from the emailed link",
    responses={
        303: {"description": "A browser (Accept: text/html) goes to the web app's /verify-email"},
        **error_responses(
            422,
            {
                404: "invalid_verification_token: invalid, expired or already used",
                409: "email_taken: the address now belongs to another account",
            },
        ),
    },
)
async def verify_email_link(
    token: Annotated[str, Query(min_length=10, max_length=200)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> EmailVerified | Response:
    # A person clicking the mailed link lands on the web app's page (without the token in its
    # URL); API clients asking for JSON get JSON.
    to_web_app = "text/html" in request.headers.get("accept", "") and web_app_built(settings)
    try:
        user = await verification.verify(session, settings=settings, token=token, ip=client.ip)
    except AppError as exc:
        if to_web_app:
            return RedirectResponse(f"/verify-email?result=invalid&reason={exc.code}", 303)
        raise
    if to_web_app:
        return RedirectResponse("/verify-email?result=verified", 303)
    return EmailVerified(email=user.email)


@public.post(
    "/verify-email/resend",
    response_model=Accepted,
    status_code=202,
    responses=error_responses(422, 429),
)
async def resend_verification(
    data: ResendVerificationRequest,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    client: ClientDep,
) -> Accepted:
    message = await service.resend_verification(
        session, settings=settings, cache=cache, email=data.email, client=client
    )
    return Accepted(message=message)


@public.post(
    "/login",
    response_model=TokenPair | MfaChallenge,
    status_code=200,
    responses=error_responses(
        422,
        429,
        {
            401: "invalid_credentials (or the account is locked for a while)",
            403: "email_not_verified",
        },
    ),
)
async def login(
    data: LoginRequest,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    cache: CacheDep,
    client: ClientDep,
) -> TokenPair | MfaChallenge:
    return await service.login(
        session, settings=settings, hasher=hasher, cache=cache, data=data, client=client
    )


@public.post(
    "/login/2fa",
    response_model=TokenPair,
    status_code=200,
    responses=error_responses(422, 429, {401: "invalid_mfa_code: wrong, reused or expired"}),
)
async def login_2fa(
    data: LoginMfaRequest,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    client: ClientDep,
) -> TokenPair:
    return await service.login_second_factor(
        session,
        settings=settings,
        cache=cache,
        mfa_token=data.mfa_token,
        code=data.code,
        client=client,
    )


@public.post(
    "/refresh",
    response_model=TokenPair,
    status_code=200,
    responses=error_responses(422, {401: "invalid_token: invalid, expired or reused"}),
)
async def refresh(
    data: RefreshRequest, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> TokenPair:
    return await auth_sessions.refresh(
        session, settings=settings, token=data.refresh_token, client=client
    )


@router.post("/logout", status_code=204, response_class=Response)
async def logout(principal: PrincipalDep, session: SessionDep, client: ClientDep) -> Response:
    await auth_sessions.revoke(
        session,
        auth_session=principal.session,
        actor=principal.user,
        reason="logout",
        client=client,
    )
    return Response(status_code=204)


@router.get("/me", response_model=Me, status_code=200)
async def me(principal: PrincipalDep) -> Me:
    user = principal.user
    return Me(
        id=user.id,
        email=user.email,
        username=user.username,
        full_name=user.full_name,
        facility_id=user.facility_id,
        facility=user.facility,
        role=user.role,
        membership=membership_of(user),
        mfa_enabled=user.mfa_enabled,
        permissions=sorted(ROLE_PERMISSIONS[user.role]),
        session_id=principal.session.id,
    )


@router.post(
    "/password",
    response_model=RevokedCount,
    status_code=200,
    summary="Change my password (every session, this one too, must sign in again)",
    responses=error_responses(
        422,
        429,
        {
            403: "wrong_password (the current one), or weak_password (the new one: `reason` "
            "says why)"
        },
    ),
)
async def change_password(
    data: ChangePasswordRequest,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    cache: CacheDep,
    client: ClientDep,
) -> RevokedCount:
    revoked = await service.change_password(
        session,
        settings=settings,
        hasher=hasher,
        cache=cache,
        user=user,
        data=data,
        client=client,
    )
    return RevokedCount(revoked=revoked)


@router.post(
    "/reauth",
    response_model=Reauthenticated,
    status_code=200,
    summary="Confirm your password (and 2FA code) before an account change",
    responses=error_responses(
        422,
        429,
        {
            400: "mfa_code_required",
            403: "wrong_password, or invalid_mfa_code",
        },
    ),
)
async def reauthenticate(
    data: ReauthRequest,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    cache: CacheDep,
    client: ClientDep,
) -> Reauthenticated:
    valid_until = await reauth.reauthenticate(
        session,
        settings=settings,
        hasher=hasher,
        cache=cache,
        principal=principal,
        password=data.password,
        code=data.code,
        client=client,
    )
    return Reauthenticated(valid_until=valid_until)


@router.get("/sessions", response_model=SessionList, status_code=200)
async def list_sessions(
    principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> SessionList:
    rows = await auth_sessions.list_active(session, settings=settings, user_id=principal.user.id)
    return SessionList(
        items=[SessionRead.of(s, current=s.id == principal.session.id) for s in rows]
    )


@router.delete(
    "/sessions/{session_id:uuid}",
    status_code=204,
    response_class=Response,
    summary="Sign out one of my sessions (this one too)",
    responses=error_responses({404: "No such session of yours"}),
)
async def revoke_session(
    session_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, client: ClientDep
) -> Response:
    target = await auth_sessions.get_owned(
        session, session_id=session_id, user_id=principal.user.id
    )
    if target is None:
        raise NotFound("No such session.")
    await auth_sessions.revoke(
        session, auth_session=target, actor=principal.user, reason="revoked_by_user", client=client
    )
    return Response(status_code=204)


@router.post(
    "/sessions/revoke-all",
    response_model=RevokedCount,
    status_code=200,
    responses=error_responses(
        422, {403: "reauthentication_required: no recent sign-in or POST /reauth"}
    ),
)
async def revoke_all_sessions(
    principal: RecentPrincipal,
    session: SessionDep,
    client: ClientDep,
    include_current: Annotated[
        bool,
        Query(description='Sign this session out too ("sign out everywhere")'),
    ] = False,
) -> RevokedCount:
    """Revoke every other session of yours (this one stays signed in unless
    `include_current`)."""
    revoked = await auth_sessions.revoke_all_with_audit(
        session,
        user=principal.user,
        keep=None if include_current else principal.session.id,
        client=client,
    )
    return RevokedCount(revoked=revoked)
