"""Application factory and lifespan."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from fastapi import FastAPI

from relaypacs import __version__
from relaypacs.api import LARGE_BODIES, api_router, ops_router, public_router
from relaypacs.auth import service as auth_service
from relaypacs.backup import jobs as backup_jobs
from relaypacs.core import jobs, migrate
from relaypacs.core.cache import create_cache
from relaypacs.core.config import StorageBackend
from relaypacs.core.database import Database
from relaypacs.core.errors import install_error_handlers
from relaypacs.core.limits import BodyLimitMiddleware, route_limits
from relaypacs.core.logging import configure_logging, get_logger
from relaypacs.core.middleware import RequestContextMiddleware
from relaypacs.core.security import PasswordHasher
from relaypacs.flows import delivery
from relaypacs.flows.forwarding import Forwarding
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.service import Notifier
from relaypacs.ops import sentry
from relaypacs.pacs.conflicts import PacsStudyIndex
from relaypacs.pacs.worker import Forwarder
from relaypacs.reports import sync as report_sync
from relaypacs.settings import Settings, load_settings
from relaypacs.uploads import housekeeping
from relaypacs.uploads.storage import StorageError, build_storage
from relaypacs.uploads.tus.middleware import TusHeadersMiddleware
from relaypacs.web import install_web_app

log = get_logger("relaypacs")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.db_migrate_on_startup:
        await anyio.to_thread.run_sync(migrate.upgrade, settings)
    database = Database(settings)
    cache = create_cache(settings.redis_url)
    hasher = PasswordHasher(settings.password_hash_concurrency)
    app.state.database = database
    app.state.cache = cache
    app.state.hasher = hasher
    app.state.readiness_checks = {"database": database.ping}
    if settings.redis_url:
        app.state.readiness_checks["cache"] = cache.ping
    storage = build_storage(settings)
    if settings.s3_create_bucket and settings.storage_backend is StorageBackend.s3:
        try:
            await storage.ensure_bucket()  # type: ignore[attr-defined]
        except StorageError:
            log.error("storage_bucket_not_created", bucket=settings.s3_bucket)
    app.state.storage = storage
    app.state.readiness_checks["storage"] = storage.ping
    async with database.sessionmaker() as session:
        await auth_service.ensure_bootstrap_admin(session, settings=settings, hasher=hasher)
    scheduler = jobs.create_scheduler()
    jobs.add_cron_job(
        scheduler,
        database,
        name=housekeeping.JOB_NAME,
        crontab=settings.upload_cleanup_cron,
        func=lambda: housekeeping.cleanup(database=database, storage=storage, cache=cache),
    )
    jobs.add_cron_job(
        scheduler,
        database,
        name="stream_event_prune",
        crontab="30 2 * * *",
        func=lambda: notifications_service.prune_stream_events(database, settings=settings),
    )
    backup_target = backup_jobs.schedule(scheduler, database, settings, storage)
    scheduler.start()
    hub = notifications_service.build_hub(settings, database)
    await hub.start()
    notifier = Notifier(settings=settings, database=database, hub=hub)
    app.state.hub = hub
    app.state.notifier = notifier
    jobs.add_interval_job(
        scheduler,
        database,
        name=report_sync.JOB_NAME,
        interval=timedelta(minutes=settings.report_sync_interval_minutes),
        func=lambda: report_sync.sync_once(settings=settings, database=database, notifier=notifier),
    )
    forwarder = Forwarder(
        settings=settings,
        database=database,
        storage=storage,
        notifier=notifier,
        on_change=delivery.job_changed,
        cache=cache,
    )
    app.state.forwarder = forwarder
    app.state.handoff = Forwarding(settings=settings, forwarder=forwarder)
    app.state.pacs_studies = PacsStudyIndex(
        settings=settings, clients=forwarder.clients, health=forwarder.health
    )
    app.state.readiness_info = {
        name: functools.partial(forwarder.monitor.recent_or_raise, name)
        for name, dest in settings.destinations.items()
        if dest.configured
        and (name in settings.active_destinations or name == settings.fallback_pacs)
    }
    await forwarder.start()
    log.info(
        "started",
        environment=settings.environment.value,
        database=settings.database.get_backend_name(),
        version=__version__,
    )
    try:
        yield
    finally:
        await forwarder.stop()
        scheduler.shutdown(wait=False)
        backup_target.close()
        await notifier.drain()
        await hub.stop()
        storage.close()
        await cache.close()
        await database.dispose()
        log.info("stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings)
    sentry.init(settings)
    app = FastAPI(
        title="RelayPACS Gateway",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(public_router)
    app.include_router(api_router)
    install_web_app(app, settings)
    # The last added is the outermost: every answer, a 413 too, gets its request id.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.request_max_body_bytes,
        routes=route_limits(app.routes, LARGE_BODIES),
    )
    # Outside the body limit: its 413 gets Tus-Resumable too, and a method override is
    # applied before the limit is chosen by method.
    app.add_middleware(TusHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
