from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "No such notification."


class InvalidStreamTicket(AppError):
    status_code = 401
    code = "invalid_stream_ticket"
    message = "The stream ticket is missing, expired or already used; request a new one."


class PushNotConfigured(NotFound):
    # An optional feature this server does not offer is not a server error: 404, as for
    # any resource that does not exist here (the web app asks /push-config first).
    code = "push_not_configured"
    message = "Web Push is not configured on this server (VAPID keys missing)."


class PushSubscriptionNotFound(NotFound):
    code = "push_subscription_not_found"
    message = "No such push subscription."


class InvalidPushKey(AppError):
    status_code = 422
    code = "invalid_push_key"
    message = "The subscription's keys are not a valid P-256 public key and 16-byte secret."


class InvalidPushEndpoint(AppError):
    status_code = 422
    code = "invalid_push_endpoint"
    message = "The subscription's endpoint is not an acceptable push service URL."


class PushEndpointNotAllowed(AppError):
    status_code = 422
    code = "push_endpoint_not_allowed"
    message = "The subscription's endpoint is not a push service this server may send to."
