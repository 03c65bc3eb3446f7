"""Accounts as identities: find a user, create one. The HTTP surfaces that manage
accounts (admin, profile, preferences) are in `relaypacs.users`."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import passwords
from relaypacs.auth.errors import EmailTaken, UsernameTaken, UserNotFound
from relaypacs.auth.models import User
from relaypacs.auth.schemas import UserCreate
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.core.security import PasswordHasher


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_or_raise(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def get_by_login(session: AsyncSession, *, login: str) -> User | None:
    """Find a user by email or username (both case-insensitive)."""
    key = login.strip().lower()
    return await session.scalar(select(User).where(or_(User.email == key, User.username == key)))


async def find_conflict(session: AsyncSession, *, email: str, username: str) -> str | None:
    """'username' or 'email' when taken by someone (usernames win: they are public)."""
    rows = (
        await session.execute(
            select(User.username, User.email).where(
                or_(User.username == username.lower(), User.email == email)
            )
        )
    ).all()
    if any(r.username == username.lower() for r in rows):
        return "username"
    return "email" if rows else None


async def create(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    data: UserCreate,
    verified: bool,
    actor_id: uuid.UUID | None,
    ip: str | None = None,
) -> User:
    """Create an account after checking password strength and uniqueness; caller commits."""
    email = normalize_email(data.email)
    passwords.check_strength(
        data.password, username=data.username, email=email, full_name=data.full_name
    )
    conflict = await find_conflict(session, email=email, username=data.username)
    if conflict == "username":
        raise UsernameTaken()
    if conflict == "email":
        raise EmailTaken()
    now = utcnow()
    user = User(
        id=uuid.uuid4(),
        email=email,
        username=data.username.lower(),
        full_name=data.full_name,
        facility=data.facility,
        role=data.role,
        password_hash=await hasher.hash(data.password),
        email_verified_at=now if verified else None,
        password_changed_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent registration won the race
        await session.rollback()
        raise EmailTaken() from None
    audit.record(
        session,
        action="user_created",
        actor_id=actor_id or user.id,
        target_type="user",
        target_id=user.id,
        ip=ip,
        details={"role": user.role.value, "verified": verified},
    )
    return user


async def count_admins(session: AsyncSession) -> int:
    total = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin)
    )
    return int(total or 0)
