from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound


class JobNotFound(NotFound):
    code = "job_not_found"
    message = "No such forwarding job."


class JobNotRetryable(AppError):
    status_code = 409
    code = "job_not_retryable"
    message = "Only a dead-lettered job can be retried."


class IllegalJobTransition(AppError):
    status_code = 409
    code = "illegal_transition"
    message = "This change is not allowed from the forwarding job's current state."
