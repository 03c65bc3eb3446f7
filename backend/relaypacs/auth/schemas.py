from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from relaypacs.core.permissions import Permission, Role
from relaypacs.core.strict import HAS_TEXT, TRIM, EmailAddress, RequestModel, StrictBool

if TYPE_CHECKING:
    from relaypacs.auth.models import AuthSession, User

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
]
FullName = Annotated[str, StringConstraints(max_length=200, pattern=HAS_TEXT), TRIM]
# Length is checked by the password policy, so the error names the reason.
Password = Annotated[str, Field(min_length=1, max_length=1024)]
# A TOTP code or a backup code, as typed.
OtpCode = Annotated[str, StringConstraints(min_length=6, max_length=20)]


class RegisterRequest(RequestModel):
    email: EmailAddress
    username: Username
    full_name: FullName
    password: Password
    # Both are requests: the account starts as a clinician with no facility access, and an
    # admin grants the facility (and the radiographer role) by approving the request.
    facility_id: uuid.UUID | None = None
    role: Literal[Role.clinician, Role.radiographer] = Role.clinician


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str


class VerifyEmailRequest(RequestModel):
    token: Annotated[str, Field(min_length=10, max_length=200)]


class ResendVerificationRequest(RequestModel):
    email: EmailAddress


class EmailVerified(BaseModel):
    status: Literal["verified"] = "verified"
    email: str


class LoginRequest(RequestModel):
    login: Annotated[str, StringConstraints(max_length=320, pattern=HAS_TEXT), TRIM] = Field(
        description="Username or email address"
    )
    password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_expires_at: datetime


class MfaChallenge(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class LoginMfaRequest(RequestModel):
    mfa_token: Annotated[str, Field(min_length=10, max_length=2000)]
    code: OtpCode


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, Field(min_length=10, max_length=2000)]


class MembershipRequest(BaseModel):
    """A pending request for facility access (and role), awaiting an admin."""

    facility_id: uuid.UUID | None
    facility: str | None
    role: Role
    requested_at: datetime


def membership_of(user: User) -> MembershipRequest | None:
    if user.membership_requested_at is None or user.requested_role is None:
        return None
    return MembershipRequest(
        facility_id=user.requested_facility_id,
        facility=user.requested_facility.name if user.requested_facility else None,
        role=user.requested_role,
        requested_at=user.membership_requested_at,
    )


class Me(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    full_name: str
    facility_id: uuid.UUID | None
    facility: str | None
    role: Role
    membership: MembershipRequest | None
    mfa_enabled: bool
    permissions: list[Permission]
    session_id: uuid.UUID


class ChangePasswordRequest(RequestModel):
    current_password: Password
    new_password: Password


class ReauthRequest(BaseModel):
    password: Password
    code: OtpCode | None = Field(
        default=None, description="With 2FA on: a code from the authenticator app, or a backup code"
    )


class Reauthenticated(BaseModel):
    status: Literal["reauthenticated"] = "reauthenticated"
    valid_until: datetime


class MfaSetup(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class MfaCodeRequest(RequestModel):
    code: OtpCode


class BackupCodes(BaseModel):
    backup_codes: list[str]


class MfaStatus(BaseModel):
    enabled: bool
    enabled_at: datetime | None
    backup_codes_remaining: int = Field(description="Unused backup codes (0 while 2FA is off)")


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    device: str | None
    browser: str | None
    current: bool

    @classmethod
    def of(cls, row: AuthSession, *, current: bool) -> SessionRead:
        """A session row as the API shows it; `current` marks the caller's own session."""
        return cls(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            device=row.device,
            browser=row.browser,
            current=current,
        )


class SessionList(BaseModel):
    items: list[SessionRead]


class RevokedCount(BaseModel):
    revoked: int


class UserCreate(RequestModel):
    email: EmailAddress
    username: Username
    full_name: FullName
    facility_id: uuid.UUID | None = None
    role: Role
    password: Password


class InvitationCreate(RequestModel):
    """A user invited by email: they choose their own password with the mailed link."""

    email: EmailAddress
    username: Username
    full_name: FullName
    facility_id: uuid.UUID | None = None
    role: Role


class InvitationAccept(RequestModel):
    token: Annotated[str, Field(min_length=10, max_length=200)]
    password: Password


class InvitationAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    username: str


class UserUpdate(RequestModel):
    role: Role | None = None
    # Sent as null: the user leaves their facility. Left out: unchanged.
    facility_id: uuid.UUID | None = None
    full_name: FullName | None = None
    is_active: StrictBool | None = None


class ProfileUpdate(RequestModel):
    email: EmailAddress | None = None
    full_name: FullName | None = None
