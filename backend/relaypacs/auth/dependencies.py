"""Who is calling: the access token → `Principal` (`PrincipalDep`, `CurrentUser`), and
whether they authenticated recently (`RecentPrincipal`, `RecentlyAuthenticated`).

`get_principal` is on api.py's parent router, so it runs first on every protected route
and records the caller's identity for `core.dependencies.require`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from relaypacs.auth import reauth
from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.models import User
from relaypacs.auth.sessions import Principal
from relaypacs.core.dependencies import (
    CacheDep,
    Identity,
    SessionDep,
    SettingsDep,
    require,
    set_identity,
)
from relaypacs.core.errors import NotAuthenticated
from relaypacs.core.permissions import Permission

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    principal = await auth_sessions.authenticate(
        session, settings=settings, token=credentials.credentials
    )
    set_identity(request, principal)
    return principal


def get_current_user(principal: Annotated[Principal, Depends(get_principal)]) -> User:
    return principal.user


PrincipalDep = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_recent_principal(
    principal: PrincipalDep, cache: CacheDep, settings: SettingsDep
) -> Principal:
    """The caller, if they signed in or re-authenticated recently (else 403
    `reauthentication_required`): for account changes (see auth/reauth.py)."""
    await reauth.ensure_recent(cache, settings=settings, principal=principal)
    return principal


async def get_recently_authenticated(
    principal: PrincipalDep, cache: CacheDep, settings: SettingsDep
) -> bool:
    """Whether the caller signed in or re-authenticated recently (for a route where only
    some changes need it, e.g. the email address in a profile update)."""
    return await reauth.is_recent(cache, settings=settings, principal=principal)


RecentPrincipal = Annotated[Principal, Depends(get_recent_principal)]
RecentlyAuthenticated = Annotated[bool, Depends(get_recently_authenticated)]


def user_with(permission: Permission) -> Callable[..., Awaitable[User]]:
    """Dependency factory: the current user, if their role grants `permission` (else 403)."""
    check = Depends(require(permission))

    # The check is a default, not an `Annotated` alias: under postponed annotations FastAPI
    # could not see this closure's local `check` in a string annotation.
    async def dependency(user: CurrentUser, _identity: Identity = check) -> User:
        return user

    dependency.__name__ = f"user_with_{permission.name}"
    return dependency
