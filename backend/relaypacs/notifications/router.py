from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sse_starlette import EventSourceResponse

from relaypacs.auth.dependencies import CurrentUser, PrincipalDep
from relaypacs.core import pagination
from relaypacs.core.dependencies import CacheDep, DatabaseDep, SessionDep, SettingsDep
from relaypacs.core.errors import error_responses
from relaypacs.core.pagination import Window
from relaypacs.core.strict import MAX_JSON_INT, QUERY_INT, QueryBool
from relaypacs.notifications import push, service, stream
from relaypacs.notifications.dependencies import HubDep
from relaypacs.notifications.schemas import (
    NotificationPage,
    NotificationRead,
    PushConfig,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
    PushSubscriptionRead,
    ReadAllResult,
    StreamEvent,
    StreamTicket,
)

router = APIRouter()
# Opened by EventSource, which cannot send an Authorization header: the single-use ticket
# from POST /stream-ticket authenticates it instead (see api.py).
stream_router = APIRouter()

# Within the BIGINT ids (anything larger would reach the database and fail there, a 500), and
# within what a JSON number holds exactly.
NotificationId = Annotated[int, Path(ge=1, le=MAX_JSON_INT), QUERY_INT]

_404 = {404: "notification_not_found: no such notification (or not yours)"}


@router.get(
    "",
    response_model=NotificationPage,
    status_code=200,
    summary="My notifications",
    responses=error_responses(422),
)
async def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    window: Annotated[Window, Depends(pagination.window(default_size=20, max_size=100))],
    unread_only: QueryBool = False,
) -> NotificationPage:
    rows, unread = await service.list(session, user=user, window=window, unread_only=unread_only)
    return NotificationPage.of(rows, service.to_read, unread_count=unread)


@router.post("/read-all", response_model=ReadAllResult, status_code=200)
async def read_all(session: SessionDep, user: CurrentUser) -> ReadAllResult:
    updated = await service.read_all(session, user=user)
    return ReadAllResult(updated=updated, unread_count=0)


@router.post(
    "/stream-ticket",
    response_model=StreamTicket,
    status_code=201,
    summary="A single-use ticket to open the event stream",
)
async def stream_ticket(
    principal: PrincipalDep, cache: CacheDep, settings: SettingsDep
) -> StreamTicket:
    ticket = await stream.issue_ticket(cache, settings=settings, principal=principal)
    return StreamTicket(
        ticket=ticket,
        expires_in=settings.sse_ticket_ttl_seconds,
        stream_url=f"/api/notifications/stream?ticket={ticket}",
    )


@router.get("/push-config", response_model=PushConfig, status_code=200)
async def push_config(settings: SettingsDep) -> PushConfig:
    enabled = push.enabled(settings)
    return PushConfig(enabled=enabled, public_key=settings.vapid_public_key if enabled else None)


@router.get("/push-subscriptions", response_model=list[PushSubscriptionRead], status_code=200)
async def list_push_subscriptions(
    session: SessionDep, user: CurrentUser
) -> list[PushSubscriptionRead]:
    rows = await push.list_for_user(session, user=user)
    return [PushSubscriptionRead.model_validate(row) for row in rows]


@router.post(
    "/push-subscriptions",
    response_model=PushSubscriptionRead,
    status_code=201,
    responses=error_responses(
        {
            404: "push_not_configured: this server offers no Web Push (no VAPID keys)",
            422: "Invalid request (`validation_error`), invalid keys (`invalid_push_key`), an "
            "endpoint that is not https (`invalid_push_endpoint`), or not an allowed, public "
            "push service (`push_endpoint_not_allowed`)",
        }
    ),
)
async def create_push_subscription(
    data: PushSubscriptionCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PushSubscriptionRead:
    row = await push.subscribe(
        session,
        settings=settings,
        user=user,
        data=data,
        user_agent=request.headers.get("user-agent"),
    )
    return PushSubscriptionRead.model_validate(row)


@router.delete(
    "/push-subscriptions",
    status_code=204,
    responses=error_responses(422, {404: "push_subscription_not_found: none of yours"}),
)
async def delete_push_subscription(
    data: PushSubscriptionDelete, session: SessionDep, user: CurrentUser
) -> None:
    await push.unsubscribe(session, user=user, endpoint=str(data.endpoint))


@router.post(
    "/{notification_id}/read",
    response_model=NotificationRead,
    status_code=200,
    responses=error_responses(422, _404),
)
async def mark_read(
    notification_id: NotificationId, session: SessionDep, user: CurrentUser
) -> NotificationRead:
    row = await service.set_read(session, user=user, notification_id=notification_id, read=True)
    return service.to_read(row)


@router.post(
    "/{notification_id}/unread",
    response_model=NotificationRead,
    status_code=200,
    responses=error_responses(422, _404),
)
async def mark_unread(
    notification_id: NotificationId, session: SessionDep, user: CurrentUser
) -> NotificationRead:
    row = await service.set_read(session, user=user, notification_id=notification_id, read=False)
    return service.to_read(row)


@stream_router.get(
    "/stream",
    status_code=200,
    summary="Server-Sent Events: notifications and report updates",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "An event stream; each event as shown",
            "content": {"text/event-stream": {"schema": StreamEvent.model_json_schema()}},
        },
        **error_responses(422, {401: "invalid_stream_ticket: missing, expired or already used"}),
    },
)
async def event_stream(
    settings: SettingsDep,
    database: DatabaseDep,
    cache: CacheDep,
    hub: HubDep,
    # Optional and unconstrained here, so a missing or malformed ticket is the same 401
    # as an expired one (never a 422 that echoes what was sent).
    ticket: Annotated[str | None, Query(description="From POST /stream-ticket")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    # A client opening a new EventSource (fresh ticket) cannot set the header itself.
    after: Annotated[
        int | None, Query(ge=0, le=MAX_JSON_INT, description="Same as Last-Event-ID"), QUERY_INT
    ] = None,
) -> EventSourceResponse:
    principal = await stream.redeem_ticket(
        cache, settings=settings, database=database, ticket=ticket
    )
    return EventSourceResponse(
        stream.events(
            settings=settings,
            database=database,
            hub=hub,
            principal=principal,
            # EventSource's own reconnect sends the header, newer than the URL's `after`.
            last_event_id=stream.parse_last_event_id(last_event_id) or after,
        ),
        ping=settings.sse_ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
