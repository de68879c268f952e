"""Subscription feeds over HTTP, answered from bytes built once per data version."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.feeds.build import BuiltFeed, FeedCache, cached_feed
from outreach.feeds.encodings import IDENTITY, negotiate
from outreach.feeds.filters import Scope, library_scope, network_scope, parse_filter
from outreach.feeds.selection import today
from outreach.scheduling.recurrence import UTC
from outreach.versions import VersionWatch

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar clients poll on their own schedule; a CDN may keep a copy for five minutes.
CACHE_CONTROL = "public, max-age=300"
_ETAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ETAG_LIST = re.compile(rf"^\s*(?:\*|{_ETAG}(?:\s*,\s*{_ETAG})*)\s*$")
_ETAG_ITEM = re.compile(_ETAG)


def feed_cache(request: Request) -> FeedCache:
    """The app's cache of built feeds, created on first use."""
    cache: FeedCache | None = getattr(request.app.state, "feed_cache", None)
    if cache is None:
        cache = FeedCache()
        request.app.state.feed_cache = cache
    return cache


def _matching_etag(header: str, etag: str) -> bool | None:
    """Whether If-None-Match matches (weak comparison, RFC 9110), None when malformed."""
    if not _ETAG_LIST.match(header):
        return None
    if header.strip() == "*":
        return True
    return any(tag.removeprefix("W/") == etag for tag in _ETAG_ITEM.findall(header))


def _since(header: str) -> dt.datetime | None:
    """If-Modified-Since as an instant, None when malformed or in the future."""
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if since.tzinfo is None or since > dt.datetime.now(UTC):
        return None
    return since


def not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    """Conditional GET: If-None-Match wins over If-Modified-Since; malformed ones are ignored."""
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        matched = _matching_etag(none_match, etag)
        if matched is not None:
            return matched
    modified_since = request.headers.get("if-modified-since")
    if modified_since is not None:
        since = _since(modified_since)
        if since is not None:
            return last_modified <= since
    return False


def feed_response(request: Request, feed: BuiltFeed, filename: str) -> Response:
    """The feed in the coding ``Accept-Encoding`` prefers, with that coding's own ETag
    (a 304 only for the ETag of the coding that would be sent)."""
    chosen = feed.representation(negotiate(request.headers.get("accept-encoding")))
    headers = {
        "ETag": chosen.etag,
        "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if not_modified(request, chosen.etag, feed.last_modified):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if chosen.coding != IDENTITY:
        headers["Content-Encoding"] = chosen.coding
    return Response(chosen.body, media_type=CONTENT_TYPE, headers=headers)


def _params(request: Request) -> dict[str, Sequence[str]]:
    params: dict[str, Sequence[str]] = {}
    for name, value in request.query_params.multi_items():
        params[name] = [*params.get(name, ()), value]
    return params


async def data_version(request: Request) -> tuple[int, dt.datetime]:
    """The data version as this process knows it (no query on a warm request)."""
    versions: VersionWatch = request.app.state.versions
    return await versions.current()


async def _serve(request: Request, scope_of: str, slug: str) -> Response:
    version = await data_version(request)
    day = today()
    cache = feed_cache(request)
    # Repeats are answered by the raw request before any lookup, without touching the
    # database. Invalid requests raise before anything is cached.
    raw_key = ("raw", request.url.path, tuple(sorted(request.query_params.multi_items())))
    feed = cache.get((*raw_key, version[0], day))
    if feed is None:
        scope: Scope = await (library_scope(slug) if scope_of == "library" else network_scope(slug))
        filt = await parse_filter(scope, _params(request))
        feed = await cached_feed(
            cache,
            (scope.key, filt.query),
            scope,
            filt,
            request.app.state.settings,
            version=version,
            day=day,
        )
        cache.put((*raw_key, version[0], day), feed)
    return feed_response(request, feed, f"{slug}.ics")


async def library_feed(request: Request) -> Response:
    """``/feeds/{library}.ics``: the library's public programme, filtered."""
    return await _serve(request, "library", request.path_params["library"])


async def network_feed(request: Request) -> Response:
    """``/feeds/networks/{network}.ics``: the public programme of a network's libraries."""
    return await _serve(request, "network", request.path_params["network"])


routes = [
    Route("/feeds/networks/{network:slug}.ics", network_feed, methods=["GET"]),
    Route("/feeds/{library:slug}.ics", library_feed, methods=["GET"]),
]
