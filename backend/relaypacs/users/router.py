from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from relaypacs.auth import accounts, invitations
from relaypacs.auth.dependencies import CurrentUser, RecentlyAuthenticated
from relaypacs.auth.schemas import (
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    ProfileUpdate,
    SessionList,
    UserCreate,
    UserUpdate,
)
from relaypacs.core import pagination, rate_limit
from relaypacs.core.dependencies import (
    CacheDep,
    ClientDep,
    HasherDep,
    SessionDep,
    SettingsDep,
    require,
)
from relaypacs.core.errors import error_responses
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission, Role
from relaypacs.core.strict import NO_NUL, QueryBool
from relaypacs.users import service
from relaypacs.users.schemas import (
    Preferences,
    PreferencesUpdate,
    ProfileRead,
    UserExport,
    UserPage,
    UserRead,
)

NOT_FOUND = {404: "user_not_found"}

# /api/users — administrators only.
admin_router = APIRouter(
    dependencies=[Depends(require(Permission.user_manage))], responses=error_responses(403)
)
# /api/me — the signed-in user's own settings.
me_router = APIRouter()
# /api/invitations — public: an invitee sets their password with the mailed link.
invitation_router = APIRouter()


@admin_router.get("", response_model=UserPage, status_code=200, responses=error_responses(422))
async def list_users(
    session: SessionDep,
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=200))],
    role: Role | None = None,
    facility_id: uuid.UUID | None = None,
    pending: Annotated[
        QueryBool | None,
        Query(description="Only users with (true) / without (false) a pending request"),
    ] = None,
    active: QueryBool | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="Part of the username, email address or full name (any case)",
        ),
    ] = None,
) -> UserPage:
    rows = await service.list(
        session,
        window=window,
        role=role,
        facility_id=facility_id,
        pending=pending,
        active=active,
        q=q,
    )
    return UserPage.of(rows, UserRead.model_validate)


@admin_router.post(
    "",
    response_model=UserRead,
    status_code=201,
    responses=error_responses(
        422,
        {
            403: "forbidden (not an admin), or weak_password (`reason` says why)",
            404: "unknown_facility: no open facility has this id",
            409: "email_taken or username_taken",
        },
    ),
)
async def create_user(
    data: UserCreate, admin: CurrentUser, session: SessionDep, hasher: HasherDep, client: ClientDep
) -> UserRead:
    user = await accounts.create(
        session, hasher=hasher, data=data, verified=True, actor_id=admin.id, ip=client.ip
    )
    await session.commit()
    return UserRead.model_validate(user)


@admin_router.post(
    "/invitations",
    response_model=UserRead,
    status_code=201,
    summary="Create a user and email them a single-use link to set their password",
    responses=error_responses(
        422,
        {
            404: "unknown_facility: no open facility has this id",
            409: "email_taken or username_taken",
        },
    ),
)
async def invite_user(
    data: InvitationCreate,
    admin: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    client: ClientDep,
) -> UserRead:
    user = await invitations.invite(
        session, settings=settings, hasher=hasher, data=data, actor=admin, client=client
    )
    return UserRead.model_validate(user)


@invitation_router.post(
    "/accept",
    response_model=InvitationAccepted,
    status_code=200,
    summary="Set the password of an invited account (the link works once)",
    responses=error_responses(
        422,
        {
            403: "weak_password (`reason` says why)",
            404: "invalid_invitation: unknown, expired or already used",
            429: "rate_limited (Retry-After says when to try again)",
        },
    ),
)
async def accept_invitation(
    data: InvitationAccept,
    session: SessionDep,
    hasher: HasherDep,
    client: ClientDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> InvitationAccepted:
    await rate_limit.limit_ip(cache, settings, "invitation_accept", ip=client.ip)
    user = await invitations.accept(
        session, hasher=hasher, token=data.token, password=data.password, client=client
    )
    return InvitationAccepted(username=user.username)


@admin_router.get(
    "/{user_id:uuid}",
    response_model=UserRead,
    status_code=200,
    responses=error_responses(NOT_FOUND),
)
async def get_user(user_id: uuid.UUID, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await accounts.get_or_raise(session, user_id=user_id))


@admin_router.patch(
    "/{user_id:uuid}",
    response_model=UserRead,
    status_code=200,
    responses=error_responses(
        422,
        {
            404: "user_not_found, or unknown_facility (no open facility has this id)",
            409: "cannot_change_own_account: admins keep their own role and active flag",
        },
    ),
)
async def update_user(
    user_id: uuid.UUID,
    changes: UserUpdate,
    admin: CurrentUser,
    session: SessionDep,
    client: ClientDep,
) -> UserRead:
    user = await accounts.get_or_raise(session, user_id=user_id)
    updated = await accounts.update(session, user=user, changes=changes, actor=admin, client=client)
    return UserRead.model_validate(updated)


@admin_router.get(
    "/{user_id:uuid}/sessions",
    response_model=SessionList,
    status_code=200,
    responses=error_responses(NOT_FOUND),
    summary="A user's active sessions (device, browser, IP, created, last seen)",
)
async def list_user_sessions(
    user_id: uuid.UUID,
    admin: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> SessionList:
    user = await accounts.get_or_raise(session, user_id=user_id)
    return await service.sessions_of(
        session, settings=settings, user=user, actor=admin, client=client
    )


@admin_router.post(
    "/{user_id:uuid}/invitation",
    response_model=UserRead,
    status_code=200,
    responses=error_responses(
        {
            404: "user_not_found",
            409: "no_pending_invitation: created with a password, or the invitation was used",
        }
    ),
    summary="Mail an invited user a new link (every earlier link stops working)",
)
async def reissue_invitation(
    user_id: uuid.UUID,
    admin: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> UserRead:
    user = await accounts.get_or_raise(session, user_id=user_id)
    user = await invitations.reissue(
        session, settings=settings, user=user, actor=admin, client=client
    )
    return UserRead.model_validate(user)


@admin_router.post(
    "/{user_id:uuid}/membership/{decision}",
    response_model=UserRead,
    status_code=200,
    responses=error_responses(
        422,
        {
            404: "user_not_found, or unknown_facility (the requested facility is no longer open)",
            409: "no_pending_request",
        },
    ),
    summary="Approve or reject a pending facility membership request",
)
async def decide_membership(
    user_id: uuid.UUID,
    decision: Literal["approve", "reject"],
    admin: CurrentUser,
    session: SessionDep,
    client: ClientDep,
) -> UserRead:
    user = await accounts.get_or_raise(session, user_id=user_id)
    decided = await accounts.decide_membership(
        session, user=user, approve=decision == "approve", actor=admin, client=client
    )
    return UserRead.model_validate(decided)


@me_router.get("/profile", response_model=ProfileRead, status_code=200)
async def get_profile(user: CurrentUser) -> ProfileRead:
    return service.profile(user)


@me_router.patch(
    "/profile",
    response_model=ProfileRead,
    status_code=200,
    responses=error_responses(
        422, {403: "reauthentication_required (an email change)", 409: "email_taken"}
    ),
)
async def update_profile(
    changes: ProfileUpdate,
    user: CurrentUser,
    recently_authenticated: RecentlyAuthenticated,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> ProfileRead:
    updated = await accounts.update_profile(
        session,
        settings=settings,
        user=user,
        changes=changes,
        recently_authenticated=recently_authenticated,
        client=client,
    )
    return service.profile(updated)


@me_router.get("/preferences", response_model=Preferences, status_code=200)
async def get_preferences(user: CurrentUser, session: SessionDep) -> Preferences:
    return await service.get_preferences(session, user_id=user.id)


@me_router.patch(
    "/preferences", response_model=Preferences, status_code=200, responses=error_responses(422)
)
async def update_preferences(
    changes: PreferencesUpdate, user: CurrentUser, session: SessionDep
) -> Preferences:
    return await service.update_preferences(session, user=user, changes=changes)


@me_router.get(
    "/export",
    response_model=UserExport,
    status_code=200,
    summary="Everything stored about you (GDPR)",
)
async def export_my_data(
    user: CurrentUser, session: SessionDep, client: ClientDep
) -> dict[str, Any]:
    return await service.build_export(session, user=user, client=client)
