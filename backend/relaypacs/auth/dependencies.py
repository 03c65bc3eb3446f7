"""Authentication and permission dependencies (`CurrentUser`, `require(...)`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.errors import Forbidden, NotAuthenticated
from relaypacs.auth.sessions import ClientInfo, Principal
from relaypacs.core.cache import Cache
from relaypacs.core.dependencies import SessionDep, SettingsDep
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.core.security import PasswordHasher
from relaypacs.users.models import User

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


def get_client(request: Request) -> ClientInfo:
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


def get_cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    return await auth_sessions.authenticate(
        session, settings=settings, token=credentials.credentials
    )


def get_current_user(principal: Annotated[Principal, Depends(get_principal)]) -> User:
    return principal.user


ClientDep = Annotated[ClientInfo, Depends(get_client)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
CacheDep = Annotated[Cache, Depends(get_cache)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def require(permission: Permission) -> Callable[[User], Awaitable[User]]:
    """Dependency factory: the current user, if their role grants `permission` (else 403)."""

    async def dependency(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise Forbidden()
        return user

    dependency.__name__ = f"require_{permission.name}"
    return dependency
