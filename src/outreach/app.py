"""Application assembly: routes, middleware, error handlers and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute
from tortoise.contrib.starlette import RegisterTortoise

from outreach import settings as settings_module
from outreach.feeds.build import FeedCache
from outreach.registration import config as registration_config
from outreach.registration.background import Background
from outreach.security import dummy_password_hash
from outreach.settings import Settings
from outreach.versions import VersionWatch
from outreach.web import (
    api_approvals,
    api_events,
    api_organisations,
    bookmobile_pages,
    bookmobile_public,
    errors,
    feeds,
    health,
    icons,
    openapi,
    outreach_services,
    partners,
    patron,
    programme,
    public,
    registration_api,
    registration_pages,
    registration_staff,
    reports,
    rooms,
    routes_api,
    staff,
    staff_tokens,
    workspace,
)
from outreach.web.idempotency import Idempotency
from outreach.web.language import RememberLanguage
from outreach.web.limits import BodyTimeout
from outreach.web.templating import make_templates


def _routes() -> list[BaseRoute]:
    # Public pages come last: ``/{library}/`` must not shadow fixed paths.
    return [
        *health.routes,
        *icons.routes,
        *bookmobile_public.static,
        *api_organisations.routes,
        *api_events.routes,
        *registration_api.routes,
        *openapi.routes,
        *api_approvals.routes,
        *feeds.routes,
        *staff.routes,
        *registration_staff.routes,
        *workspace.routes,
        *staff_tokens.routes,
        *reports.routes,
        *partners.routes,
        *outreach_services.routes,
        *routes_api.routes,
        *bookmobile_pages.routes,
        *bookmobile_public.routes,
        *rooms.routes,
        *programme.routes,
        *registration_pages.routes,
        *patron.routes,
        *public.routes,
    ]


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the ASGI app; ``manage_database=False`` leaves Tortoise to the caller (tests)."""
    settings = settings or settings_module.load()
    dummy_password_hash()  # made now, so that the first failed sign-in takes no longer
    # The process's data version, kept without a query per request (outreach.versions).
    versions = VersionWatch(settings.database_url)
    cache = FeedCache()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            async with RegisterTortoise(app, config=settings.tortoise_config()):
                await versions.start()
                # The outbox worker (when SMTP is set) and the registration sweep.
                background = Background(settings)
                background.start()
                try:
                    yield
                finally:
                    await background.stop()
                    await versions.stop()
        else:
            yield

    app = Starlette(
        debug=settings.debug,
        routes=_routes(),
        # Outermost first. The body's time limit wraps everything that reads it; the
        # session comes before anything that asks who is signed in; every database
        # failure, wherever it is raised (idempotency, endpoints, commits), is mapped in
        # one place; keyed writes run as one transaction inside it.
        middleware=[
            # Warm feeds first: a repeat poll needs none of what follows.
            Middleware(feeds.WarmFeeds, cache=cache, versions=versions),
            Middleware(BodyTimeout, seconds=settings.body_timeout),
            Middleware(RememberLanguage),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="outreach_session",
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            ),
            Middleware(errors.DatabaseErrors),
            Middleware(Idempotency),
        ],
        exception_handlers={
            errors.DomainError: errors.api_error,
            HTTPException: errors.http_error,
            500: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    registration_config.configure(settings)
    app.state.versions = versions
    app.state.feed_cache = cache
    app.state.templates = make_templates(settings.templates_dir)
    return app
