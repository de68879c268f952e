"""The public bookmobile pages: a library's routes with their stops on a map and in a list,
each route's days in words and each stop's next visits in local time, and one page per
stop with its address, its visits and its feed.

Both pages send a Content-Security-Policy that allows only what they use: their own
scripts and styles (the vendored Leaflet, ``static/bookmobile-map.js``), the inline style of
the base template by its hash, and map tiles only from the origin of
``OUTREACH_MAP_TILES`` when one is set.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import hashlib
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.routing import Route as Endpoint
from starlette.staticfiles import StaticFiles

from outreach import i18n
from outreach.bookmobile.public_page import (
    StopPage,
    Timetable,
    Visit,
    public_timetable,
    stop_timetable,
)
from outreach.errors import NotFound
from outreach.i18n import gettext as _
from outreach.languages import translated
from outreach.models import Event, Library, Route, Stop
from outreach.scheduling.recurrence import UTC, to_local, zone
from outreach.scheduling.wording import describe_schedule
from outreach.settings import Settings
from outreach.versions import current_data_version
from outreach.web.language import negotiate
from outreach.web.links import origin
from outreach.web.subscribe import subscribe_box

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


async def _library(request: Request, slug: str) -> Library:
    """The library, the page's language chosen by its default; a localised 404 if none."""
    library = await Library.get_or_none(slug=slug)
    if library is None:
        negotiate(request, default=i18n.SOURCE_LANGUAGE)
        raise NotFound("library", message=_("There is no library at this address."))
    negotiate(request, default=library.default_language)
    return library


def _no_bookmobile(library: Library) -> NotFound:
    return NotFound(
        "bookmobile",
        message=_(
            "%(library)s has no bookmobile routes.",
            library=translated(library.name, i18n.current(), library.default_language),
        ),
    )


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _schedule(route: Route, event: Event, cancelled: list[dt.date], tz: ZoneInfo) -> str:
    """The route's days in words, from today on (exceptions and cancelled runs included)."""
    today = to_local(dt.datetime.now(UTC), tz).date()
    return _upper_first(
        describe_schedule(
            event.rrule,
            start=to_local(event.starts_at, tz),
            tz=tz,
            all_day=event.all_day,
            exdates=event.exdates or [],
            cancelled=cancelled,
            since=today,
            until=route.valid_until,
        )
    )


# A timetable of a thousand stops shows thousands of dates and times, most of them the
# same few dozen days and clock times; Babel resolves a pattern for each call (a skeleton
# costs ~0.2 ms), so each text is made once per language.
@functools.lru_cache(maxsize=4096)
def _day(lang: str, day: dt.date, full: bool) -> str:
    with i18n.speaking(lang):
        return i18n.format_date(day, "full") if full else i18n.format_skeleton(day, "yMMMEd")


@functools.lru_cache(maxsize=4096)
def _clock(lang: str, time: dt.time) -> str:
    with i18n.speaking(lang):
        return i18n.format_time(time)


def _visit(visit: Visit, tz: ZoneInfo) -> dict[str, Any]:
    start, end = to_local(visit.starts_at, tz), to_local(visit.ends_at, tz)
    lang = i18n.current()
    return {
        "day": _day(lang, start.date(), True),
        "short_day": _day(lang, start.date(), False),
        # Visits never pass midnight; both times as the arrival is shown.
        "hours": f"{_clock(lang, start.time())}–{_clock(lang, end.time())}",
        "iso": start.isoformat(timespec="minutes"),
        "cancelled": visit.cancelled,
    }


def _map_stop(library: Library, stop: Stop, route_key: str) -> dict[str, Any]:
    return {
        "id": stop.id,
        "name": stop.name,
        "community": stop.community,
        "address": stop.address,
        "postcode": stop.postcode,
        "lat": stop.lat,
        "lon": stop.lon,
        "route": route_key,
        "url": f"/{library.slug}/bookmobile/stops/{stop.id}",
    }


def _map(settings: Settings) -> dict[str, str]:
    return {"tiles": settings.map_tiles or "", "attribution": settings.map_attribution}


@functools.lru_cache(maxsize=8)
def _tile_source(tiles: str | None) -> str:
    """The CSP source of the tile server (``https://*.tile.example.org``), or nothing."""
    if not tiles:
        return ""
    scheme, _, rest = tiles.partition("://")
    host = re.sub(r"\{[^}]*\}", "*", rest.split("/", 1)[0])
    if "*" in host and not (host.startswith("*.") and "*" not in host[1:]):
        # A placeholder inside the host that CSP cannot express: any host of the scheme.
        return f"{scheme}:"
    return f"{scheme}://{host}"


_STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)


@functools.lru_cache(maxsize=32)
def content_security_policy(styles: tuple[bytes, ...], tiles: str | None) -> str:
    """The policy of a page with these inline ``<style>`` blocks (the base template's),
    allowed by their hashes: scripts and styles from this site, tiles from the tile server."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style).digest()).decode() + "'"
        for style in styles
    )
    images = " ".join(part for part in ("'self'", _tile_source(tiles)) if part)
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self'{' ' + hashes if hashes else ''}; img-src {images}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _page(request: Request, body: bytes) -> Response:
    settings: Settings = request.app.state.settings
    # Styles are in the head; the rest of a long page need not be searched for them.
    head = body[: body.find(b"</head>")]
    policy = content_security_policy(tuple(_STYLE.findall(head)), settings.map_tiles)
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})


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
        self._facts: dict[tuple[object, ...], str] = {}

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

    def fact(self, key: tuple[object, ...]) -> str | None:
        """Something learnt while rendering that a later request needs before its page."""
        return self._facts.get(key)

    def remember(self, key: tuple[object, ...], value: str) -> None:
        if len(self._facts) >= 4 * self.size:
            self._facts.clear()
        self._facts[key] = value

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
    timetable = await public_timetable(library)
    if not timetable.routes:
        raise _no_bookmobile(library)
    lang = i18n.current()
    routes = []
    stops_on_map = []
    for item in timetable.routes:
        key = f"route-{item.route.id}"
        feed = f"/feeds/{library.slug}/routes/{item.route.id}.ics"
        stops_on_map += [_map_stop(library, entry.stop, key) for entry in item.stops]
        routes.append(
            {
                "key": key,
                "route": item.route,
                "title": translated(item.event.title, lang, library.default_language),
                "vehicle": item.vehicle,
                "schedule": _schedule(item.route, item.event, item.cancelled, tz),
                "subscribe": subscribe_box(request, feed),
                "stops": [
                    {
                        "stop": entry.stop,
                        "url": f"/{library.slug}/bookmobile/stops/{entry.stop.id}",
                        "arrival": _clock(lang, entry.stop.arrival),
                        "visits": [_visit(visit, tz) for visit in entry.visits],
                    }
                    for entry in item.stops
                ],
            }
        )
    template = request.app.state.templates.get_template("public/bookmobile.html")
    body = template.render(
        {
            "request": request,
            "library": library,
            "lang": lang,
            "routes": routes,
            "map": _map(settings),
            "map_stops": stops_on_map,
        }
    )
    return body.encode("utf-8"), timetable


async def bookmobile_page(request: Request) -> Response:
    """Routes, their public stops on a map and in a list, next visits, the days in words.

    The page is the same for everyone who asks in one language at one address, so it is
    rendered once per data version, language, origin (its links are absolute) and query
    (the language switch keeps it), and kept until the data changes or its first visit
    ends (:class:`PageCache`); a request then costs one query, the version's."""
    slug = request.path_params["library"]
    version, _changed_at = await current_data_version()
    cache = page_cache(request)
    # Without a wish of the reader's the library's default language is the page's: it is
    # learnt once per data version, so that a kept page still costs one query.
    known = ("default language", slug, version)
    library: Library | None = None
    default = cache.fact(known)
    if default is None:
        library = await _library(request, slug)
        default = library.default_language
        cache.remember(known, default)
    lang = negotiate(request, default=default)
    key = ("bookmobile", slug, version, lang, origin(request), request.url.query)
    body = cache.get(key, dt.datetime.now(UTC))
    if body is None:
        async with cache.lock(key):
            body = cache.get(key, dt.datetime.now(UTC))
            if body is None:
                library = library or await _library(request, slug)
                body, timetable = await _render_bookmobile_page(request, library)
                cache.put(key, body, timetable.changes_at)
    return _page(request, body)


async def stop_page(request: Request) -> Response:
    """One public stop: where it is, when the bookmobile comes, its feed and its route's days."""
    library = await _library(request, request.path_params["library"])
    found: StopPage | None = await stop_timetable(library, request.path_params["id"])
    if found is None:
        raise NotFound("stop", message=_("There is no such bookmobile stop."))
    tz = zone(library.timezone)
    lang = i18n.current()
    settings: Settings = request.app.state.settings
    stop = found.stop
    template = request.app.state.templates.get_template("public/bookmobile_stop.html")
    body = template.render(
        {
            "request": request,
            "library": library,
            "lang": lang,
            "stop": stop,
            "route": found.route,
            "title": translated(found.event.title, lang, library.default_language),
            "vehicle": found.vehicle,
            "schedule": _schedule(found.route, found.event, found.cancelled, tz),
            "arrival": _clock(lang, stop.arrival),
            "visits": [_visit(visit, tz) for visit in found.visits],
            "subscribe": subscribe_box(request, f"/feeds/{library.slug}/stops/{stop.id}.ics"),
            "map": _map(settings),
            "map_stops": [_map_stop(library, stop, f"route-{found.route.id}")],
        }
    )
    return _page(request, body.encode("utf-8"))


# After the staff and feed paths (outreach.app): ``/{library}/bookmobile`` would match
# ``/staff/bookmobile``.
routes: list[BaseRoute] = [
    Endpoint("/{library:slug}/bookmobile", bookmobile_page, methods=["GET"]),
    Endpoint("/{library:slug}/bookmobile/stops/{id:id}", stop_page, methods=["GET"]),
]

# Before every ``/{library}/…`` path: a library's slug could be "static".
static: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")]
