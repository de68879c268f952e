"""Subscription feeds over HTTP, answered from bytes built once per data version."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

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
    """The app's cache of built feeds (create_app makes it; created here if missing)."""
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


def not_modified(
    none_match: str | None, modified_since: str | None, etag: str, last_modified: dt.datetime
) -> bool:
    """Conditional GET: If-None-Match wins over If-Modified-Since; malformed ones are ignored."""
    if none_match is not None:
        matched = _matching_etag(none_match, etag)
        if matched is not None:
            return matched
    if modified_since is not None:
        since = _since(modified_since)
        if since is not None:
            return last_modified <= since
    return False


def _answer(
    feed: BuiltFeed,
    filename: str,
    accept_encoding: str | None,
    none_match: str | None,
    modified_since: str | None,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, header lines and body of the answer: the feed in the coding
    ``Accept-Encoding`` prefers, with that coding's own ETag (a 304 only for the ETag of
    the coding that would be sent). The header lines are formatted once per feed, coding,
    status and file name, and kept on the feed."""
    coding = negotiate(accept_encoding)
    chosen = feed.representation(coding)
    status = (
        304 if not_modified(none_match, modified_since, chosen.etag, feed.last_modified) else 200
    )
    key = (coding, status, filename)
    lines = feed.answers.get(key)
    if lines is None:
        headers = {
            "ETag": chosen.etag,
            "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if status == 304:
            lines = Response(status_code=304, headers=headers).raw_headers
        else:
            headers["Content-Disposition"] = f'inline; filename="{filename}"'
            if chosen.coding != IDENTITY:
                headers["Content-Encoding"] = chosen.coding
            lines = Response(chosen.body, media_type=CONTENT_TYPE, headers=headers).raw_headers
        feed.answers[key] = lines
    return status, lines, chosen.body if status == 200 else b""


class _Sent(Response):
    """A response whose header lines were formatted before."""

    def __init__(self, status: int, lines: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = list(lines)


def feed_response(request: Request, feed: BuiltFeed, filename: str) -> Response:
    """The answer of :func:`_answer` as a Starlette response."""
    headers = request.headers
    status, lines, body = _answer(
        feed,
        filename,
        headers.get("accept-encoding"),
        headers.get("if-none-match"),
        headers.get("if-modified-since"),
    )
    return _Sent(status, lines, body)


def _params(request: Request) -> dict[str, Sequence[str]]:
    params: dict[str, Sequence[str]] = {}
    for name, value in request.query_params.multi_items():
        params[name] = [*params.get(name, ()), value]
    return params


def raw_key(scope: ASGIScope) -> tuple[object, ...]:
    """The cache key of a feed request as it was sent (path and query, not yet parsed)."""
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    return ("raw", scope["path"], tuple(sorted(query)))


class WarmFeeds:
    """ASGI middleware, outermost: a feed request that this process answered before for
    the data version it knows without asking the database is answered from the feed
    cache at once (200 or 304 in the coding asked for: the very header lines and bytes
    the route sent), skipping the other middleware and the route table; anything else
    goes on to the app.
    """

    def __init__(self, app: ASGIApp, *, cache: FeedCache, versions: VersionWatch) -> None:
        self.app = app
        self.cache = cache
        self.versions = versions

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/feeds/")
            and scope["method"] in ("GET", "HEAD")
        ):
            version = self.versions.known()
            if version is not None:
                feed = self.cache.get((*raw_key(scope), version[0], today()))
                if feed is not None:
                    found: dict[bytes, str] = {}
                    for name, value in scope["headers"]:
                        if name in _CONDITIONS and name not in found:  # the first, as Starlette
                            found[name] = value.decode("latin-1")
                    status, lines, body = _answer(
                        feed,
                        scope["path"].rsplit("/", 1)[-1],
                        found.get(b"accept-encoding"),
                        found.get(b"if-none-match"),
                        found.get(b"if-modified-since"),
                    )
                    await send({"type": "http.response.start", "status": status, "headers": lines})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


_CONDITIONS = frozenset((b"accept-encoding", b"if-none-match", b"if-modified-since"))


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
    raw = raw_key(request.scope)
    feed = cache.get((*raw, version[0], day))
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
        cache.put((*raw, version[0], day), feed)
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
