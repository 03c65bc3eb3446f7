from __future__ import annotations

from relaypacs.core.errors import AppError


class CannotChangeOwnAccount(AppError):
    status_code = 409
    code = "cannot_change_own_account"
    message = "Admins cannot disable themselves or change their own role."


class UserAlreadyExists(AppError):
    status_code = 409
    code = "user_exists"
    message = "A user with this email or username already exists."
