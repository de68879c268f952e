"""The public bookmobile page: routes, their public stops, next visits and feeds."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as Endpoint

from outreach.bookmobile.public_page import Timetable, public_timetable
from outreach.models import Library
from outreach.scheduling.recurrence import UTC, zone
from outreach.settings import Settings
from outreach.versions import current_data_version
from outreach.web.errors import NotFound
from outreach.web.routes_api import visit_json


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    return library


class PageCache:
    """Rendered pages by key, each until its own expiry, at most ``size`` of them (least
    recently used first out); one page is rendered at a time per key, so that a crowd
    arriving after a change waits for one rendering instead of each doing its own."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[object, ...], tuple[bytes, dt.datetime | None]] = (
            OrderedDict()
        )
        self._locks: dict[tuple[object, ...], asyncio.Lock] = {}

    def get(self, key: tuple[object, ...], now: dt.datetime) -> bytes | None:
        found = self._pages.get(key)
        if found is None:
            return None
        body, expires = found
        if expires is not None and now >= expires:
            del self._pages[key]
            return None
        self._pages.move_to_end(key)
        return body

    def put(self, key: tuple[object, ...], body: bytes, expires: dt.datetime | None) -> None:
        self._pages[key] = (body, expires)
        self._pages.move_to_end(key)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)

    def lock(self, key: tuple[object, ...]) -> asyncio.Lock:
        if len(self._locks) > 4 * self.size:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(key, asyncio.Lock())


def page_cache(request: Request) -> PageCache:
    """The app's cache of rendered public pages, created on first use."""
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None:
        cache = PageCache()
        request.app.state.page_cache = cache
    return cache


async def _render_bookmobile_page(request: Request, library: Library) -> tuple[bytes, Timetable]:
    tz = zone(library.timezone)
    settings: Settings = request.app.state.settings
    base_url = settings.base_url
    timetable = await public_timetable(library)
    routes = [
        {
            "route": item.route,
            "vehicle": item.vehicle,
            "rrule": item.event.rrule or "",
            "feed_path": f"/feeds/{library.slug}/routes/{item.route.id}.ics",
            "stops": [
                {
                    "stop": entry.stop,
                    "feed_path": f"/feeds/{library.slug}/stops/{entry.stop.id}.ics",
                    "visits": [visit_json(visit, tz) for visit in entry.visits],
                }
                for entry in item.stops
            ],
        }
        for item in timetable.routes
    ]
    template = request.app.state.templates.get_template("public/bookmobile.html")
    body = template.render(
        {
            "request": request,
            "library": library,
            "lang": library.default_language,
            "routes": routes,
            "base_url": base_url,
            "webcal": "webcal://" + base_url.split("://", 1)[-1],
            "days_back": settings.feed_days_back,
        }
    )
    return body.encode("utf-8"), timetable


async def bookmobile_page(request: Request) -> Response:
    """Routes, their public stops, next visits and a subscribe link for every stop.

    The page is the same for everyone, so it is rendered once per data version and kept
    until that changes or its first visit ends (:class:`PageCache`); a request then
    costs one query, the version's."""
    slug = request.path_params["library"]
    version, _ = await current_data_version()
    cache = page_cache(request)
    key = ("bookmobile", slug, version)
    body = cache.get(key, dt.datetime.now(UTC))
    if body is None:
        async with cache.lock(key):
            body = cache.get(key, dt.datetime.now(UTC))
            if body is None:
                library = await _library(slug)
                body, timetable = await _render_bookmobile_page(request, library)
                cache.put(key, body, timetable.changes_at)
    return HTMLResponse(body)


# After the staff paths (outreach.app): ``/{library}/bookmobile`` would match ``/staff/bookmobile``.
routes: list[BaseRoute] = [
    Endpoint("/{library:slug}/bookmobile", bookmobile_page, methods=["GET"]),
]
