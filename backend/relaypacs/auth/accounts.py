"""The account rows: find, create and change a user (admin changes, profile). The HTTP
surfaces that manage accounts (admin, /me) are in `relaypacs.users`."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import passwords, verification
from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.errors import (
    CannotChangeOwnAccount,
    EmailTaken,
    NoPendingRequest,
    ReauthenticationRequired,
    UsernameTaken,
    UserNotFound,
)
from relaypacs.auth.models import User
from relaypacs.auth.schemas import ProfileUpdate, UserCreate, UserUpdate
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.permissions import Role
from relaypacs.core.security import PasswordHasher
from relaypacs.facilities import service as facilities
from relaypacs.facilities.models import Facility


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
    requested_facility: Facility | None = None,
    requested_role: Role | None = None,
) -> User:
    """Create an account after checking password strength and uniqueness; caller commits.
    `requested_*` record a pending membership request (self-registration)."""
    email = normalize_email(data.email)
    facility = (
        await facilities.get_open_or_raise(session, facility_id=data.facility_id)
        if data.facility_id is not None
        else None
    )
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
        home_facility=facility,
        role=data.role,
        password_hash=await hasher.hash(data.password),
        email_verified_at=now if verified else None,
        password_changed_at=now,
    )
    if requested_role is not None:
        user.requested_facility = requested_facility
        user.requested_role = requested_role
        user.membership_requested_at = now
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
        details={
            "role": user.role.value,
            "verified": verified,
            "facility_id": str(facility.id) if facility else None,
            "requested_facility_id": str(requested_facility.id) if requested_facility else None,
            "requested_role": requested_role.value if requested_role else None,
        },
    )
    return user


async def count_admins(session: AsyncSession) -> int:
    total = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin)
    )
    return int(total or 0)


async def update(
    session: AsyncSession, *, user: User, changes: UserUpdate, actor: User, client: ClientInfo
) -> User:
    """Admin change of role, facility, name or active flag; disabling, or changing the role
    or facility, revokes every session."""
    if user.id == actor.id and (
        (changes.role is not None and changes.role != user.role) or changes.is_active is False
    ):
        raise CannotChangeOwnAccount()
    # What a user may see follows their role and facility: a change ends their sessions
    # (open event streams close at their next session check), so they sign in again.
    facility_given = "facility_id" in changes.model_fields_set
    facility_changed = facility_given and changes.facility_id != user.facility_id
    access_changed = (changes.role is not None and changes.role != user.role) or facility_changed
    if changes.role is not None and changes.role != user.role:
        audit.record(
            session,
            action="role_changed",
            actor_id=actor.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
            details={"from": user.role.value, "to": changes.role.value},
        )
        user.role = changes.role
    if facility_changed:
        facility = (
            await facilities.get_open_or_raise(session, facility_id=changes.facility_id)
            if changes.facility_id is not None
            else None
        )
        audit.record(
            session,
            action="facility_changed",
            actor_id=actor.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
            details={
                "from": str(user.facility_id) if user.facility_id else None,
                "to": str(changes.facility_id) if changes.facility_id else None,
            },
        )
        user.home_facility = facility
    if access_changed and user.membership_pending:
        # Access set by hand in user management answers the pending request.
        _close_request(session, user, actor=actor, client=client, outcome="superseded")
    if changes.full_name is not None:
        user.full_name = changes.full_name
    if changes.is_active is not None and changes.is_active != user.is_active:
        user.is_active = changes.is_active
        revoked = 0
        if not changes.is_active:
            revoked = await auth_sessions.revoke_all(session, user_id=user.id, reason="disabled")
        audit.record(
            session,
            action="user_disabled" if not changes.is_active else "user_enabled",
            actor_id=actor.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
            details={"sessions_revoked": revoked},
        )
    if access_changed and user.is_active and user.id != actor.id:
        revoked = await auth_sessions.revoke_all(session, user_id=user.id, reason="access_changed")
        audit.record(
            session,
            action="sessions_revoked",
            actor_id=actor.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
            details={"reason": "role or facility changed", "count": revoked},
        )
    await session.commit()
    await session.refresh(user)
    return user


def _close_request(
    session: AsyncSession, user: User, *, actor: User, client: ClientInfo, outcome: str
) -> None:
    audit.record(
        session,
        action=f"membership_{outcome}",
        actor_id=actor.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={
            "requested_facility_id": (
                str(user.requested_facility_id) if user.requested_facility_id else None
            ),
            "requested_role": user.requested_role.value if user.requested_role else None,
        },
    )
    user.requested_facility = None
    user.requested_role = None
    user.membership_requested_at = None


async def decide_membership(
    session: AsyncSession, *, user: User, approve: bool, actor: User, client: ClientInfo
) -> User:
    """Approve (grant the requested facility and role; sessions end) or reject a pending
    membership request."""
    if not user.membership_pending or user.requested_role is None:
        raise NoPendingRequest()
    if not approve:
        _close_request(session, user, actor=actor, client=client, outcome="rejected")
        await session.commit()
        await session.refresh(user)
        return user
    facility_id = user.requested_facility_id
    if facility_id is not None:
        await facilities.get_open_or_raise(session, facility_id=facility_id)
    grant: dict[str, object] = {"role": user.requested_role}
    if facility_id is not None:
        grant["facility_id"] = facility_id
    changes = UserUpdate.model_validate(grant)
    audit.record(
        session,
        action="membership_approved",
        actor_id=actor.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={
            "facility_id": str(facility_id) if facility_id else None,
            "role": user.requested_role.value,
        },
    )
    user.requested_facility = None
    user.requested_role = None
    user.membership_requested_at = None
    return await update(session, user=user, changes=changes, actor=actor, client=client)


async def update_profile(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User,
    changes: ProfileUpdate,
    recently_authenticated: bool,
    client: ClientInfo,
) -> User:
    """Name changes at once; a new email (which needs a recent sign-in or re-authentication)
    takes effect only once verified."""
    token: str | None = None
    new_email = normalize_email(changes.email) if changes.email else None
    if new_email and new_email != user.email and not recently_authenticated:
        raise ReauthenticationRequired(window_minutes=settings.reauth_window_minutes)
    if changes.full_name is not None:
        user.full_name = changes.full_name
    if new_email and new_email != user.email:
        taken = await session.scalar(
            select(func.count()).select_from(User).where(User.email == new_email)
        )
        if taken:
            raise EmailTaken()
        user.pending_email = new_email
        # Only the latest request's link can change the address (earlier ones stop working).
        await verification.withdraw_email_changes(session, user=user)
        token = await verification.issue(session, settings=settings, user=user, email=new_email)
        audit.record(
            session,
            action="email_change_requested",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
        )
    await session.commit()
    if token and new_email:
        await verification.send(settings, email=new_email, full_name=user.full_name, token=token)
    return user
