"""Shared FastAPI dependencies and their `Annotated` aliases.

`require(permission)` is here, below every domain, so that any domain's router can use
it. It reads the caller's identity that `auth.dependencies.get_principal` established
for this request (api.py puts that on the parent router, so it runs first); with no
identity established it answers 401: it fails closed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database
from relaypacs.core.errors import Forbidden, NotAuthenticated
from relaypacs.core.permissions import Permission, Role, has_permission
from relaypacs.core.security import PasswordHasher


def get_settings(request: Request) -> CoreSettings:
    settings: CoreSettings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).sessionmaker() as session:
        yield session


SettingsDep = Annotated[CoreSettings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


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


ClientDep = Annotated[ClientInfo, Depends(get_client)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
CacheDep = Annotated[Cache, Depends(get_cache)]


class Identity(Protocol):
    """Who is calling, as far as permissions go (auth's `Principal` is one)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def role(self) -> Role: ...


def set_identity(request: Request, identity: Identity) -> None:
    request.state.identity = identity


def get_identity(request: Request) -> Identity:
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:
        raise NotAuthenticated()
    return identity


def require(permission: Permission) -> Callable[[Identity], Identity]:
    """Dependency factory: the caller, if their role grants `permission` (else 403)."""

    def dependency(identity: Annotated[Identity, Depends(get_identity)]) -> Identity:
        if not has_permission(identity.role, permission):
            raise Forbidden()
        return identity

    dependency.__name__ = f"require_{permission.name}"
    return dependency
