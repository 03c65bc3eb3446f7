from __future__ import annotations

from relaypacs.core.errors import AppError, NotAuthenticated, NotFound


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    message = "Wrong username/email or password, or the account is temporarily locked."


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "The token is invalid, expired or revoked; sign in again."


class InvalidMfaCode(NotAuthenticated):
    code = "invalid_mfa_code"
    message = "The authentication code is wrong, expired or already used."


class EmailNotVerified(AppError):
    status_code = 403
    code = "email_not_verified"
    message = "Verify your email address before signing in; check your inbox."


class NoPendingInvitation(AppError):
    status_code = 409
    code = "no_pending_invitation"
    message = (
        "This account has no invitation waiting: it was created with a password, or its "
        "invitation was already used."
    )


class InvalidInvitation(AppError):
    # No open invitation has this token (any more): unknown, expired or already used.
    status_code = 404
    code = "invalid_invitation"
    message = (
        "This invitation link is invalid, expired or already used. "
        "Ask an administrator for a new one."
    )


class WeakPassword(AppError):
    # A well-formed password the policy refuses (its strength estimate cannot be stated
    # in a schema): refused, like any policy, with 403, not a 422 validation error.
    status_code = 403
    code = "weak_password"
    message = "The password is too weak."


class UsernameTaken(AppError):
    status_code = 409
    code = "username_taken"
    message = "This username is already taken."


class EmailTaken(AppError):
    status_code = 409
    code = "email_taken"
    message = "Another account already uses this email address."


class InvalidVerificationToken(AppError):
    # No pending verification has this token (any more).
    status_code = 404
    code = "invalid_verification_token"
    message = "This verification link is invalid, expired or already used."


class MfaAlreadyEnabled(AppError):
    status_code = 409
    code = "mfa_already_enabled"
    message = "Two-factor authentication is already enabled."


class MfaNotEnabled(AppError):
    status_code = 409
    code = "mfa_not_enabled"
    message = "Two-factor authentication is not enabled."


class MfaSetupMissing(AppError):
    status_code = 409
    code = "mfa_setup_required"
    message = "Call 2fa/setup first to get a secret."


class WrongPassword(AppError):
    # 403, not 401: the access token is fine (a 401 would make clients refresh and retry).
    status_code = 403
    code = "wrong_password"
    message = "The current password is wrong."


class WrongMfaCode(AppError):
    # 403, not 401: the access token is fine (a 401 would make clients refresh and retry).
    status_code = 403
    code = "invalid_mfa_code"
    message = "The authentication code is wrong, expired or already used."


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "No such user."


class CannotChangeOwnAccount(AppError):
    status_code = 409
    code = "cannot_change_own_account"
    message = "Admins cannot disable themselves or change their own role."


class NoPendingRequest(AppError):
    status_code = 409
    code = "no_pending_request"
    message = "This user has no pending facility membership request."


class ReauthenticationRequired(AppError):
    # 403, not 401: the access token is fine (a 401 would make clients refresh and retry).
    status_code = 403
    code = "reauthentication_required"
    message = (
        "This change needs a recent sign-in: confirm your password (and a 2FA code when "
        "two-factor authentication is on) with POST /api/auth/reauth, then try again."
    )


class MfaCodeRequired(AppError):
    status_code = 400
    code = "mfa_code_required"
    message = "Two-factor authentication is on: give a code from your authenticator app too."
