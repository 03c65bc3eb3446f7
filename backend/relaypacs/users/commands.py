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


class CommandError(Exception):
    """A one-line reason the command could not do its work."""


async def create_admin(
    settings: CoreSettings,
    *,
    email: str,
    username: str,
    password: str,
    full_name: str,
    facility: str,
) -> uuid.UUID:
    try:
        data = UserCreate(
            email=email,
            username=username,
            full_name=full_name,
            facility=facility,
            role=Role.admin,
            password=password,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CommandError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    database = Database(settings)
    try:
        async with database.sessionmaker() as session:
            try:
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
