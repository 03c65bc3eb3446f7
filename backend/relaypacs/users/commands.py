"""Command-line use cases for accounts (run outside the web app)."""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from relaypacs.auth import accounts
from relaypacs.auth.schemas import UserCreate
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database
from relaypacs.core.errors import AppError
from relaypacs.core.permissions import Role
from relaypacs.core.security import PasswordHasher
from relaypacs.facilities import service as facilities
from relaypacs.facilities.schemas import FacilityCreate


class CommandError(Exception):
    """A one-line reason the command could not do its work."""


async def create_admin(
    settings: CoreSettings,
    *,
    email: str,
    username: str,
    password: str,
    full_name: str,
    facility: str | None,
) -> uuid.UUID:
    try:
        data = UserCreate(
            email=email,
            username=username,
            full_name=full_name,
            role=Role.admin,
            password=password,
        )
        facility_name = FacilityCreate(name=facility).name if facility is not None else None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CommandError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    database = Database(settings)
    try:
        async with database.sessionmaker() as session:
            try:
                if facility_name:
                    home = await facilities.get_or_create_by_name(session, name=facility_name)
                    data.facility_id = home.id
                user = await accounts.create(
                    session, hasher=PasswordHasher(1), data=data, verified=True, actor_id=None
                )
                await session.commit()
            except AppError as exc:
                if exc.code in {"email_taken", "username_taken"}:
                    raise CommandError(
                        f"a user with this {exc.code.split('_')[0]} already exists"
                    ) from None
                raise CommandError(exc.message) from None
            return user.id
    finally:
        await database.dispose()
