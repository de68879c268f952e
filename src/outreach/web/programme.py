"""The programme page: a library's coming occurrences, filtered like the feed, with its links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.feeds import ical
from outreach.feeds.build import feed_name
from outreach.feeds.filters import FeedFilter, Scope, library_scope, parse_filter
from outreach.feeds.selection import Window, public_occurrences, today
from outreach.languages import translated
from outreach.models import Event, EventStatus
from outreach.scheduling.recurrence import UTC, zone
from outreach.settings import Settings
from outreach.web.feeds import _params

# A programme page lists at most this many occurrences; the feed has them all.
PAGE_LIMIT = 200


def subscribe_links(settings: Settings, scope: Scope, filt: FeedFilter) -> dict[str, str]:
    """The feed's https:// address and its webcal:// twin (some Outlooks drop webcal)."""
    https = f"{settings.base_url}{scope.feed_path}"
    if filt.query:
        https += f"?{filt.query}"
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


async def programme(request: Request) -> Response:
    """``/{library}/events``: coming occurrences, filtered like the feed, with its links."""
    settings: Settings = request.app.state.settings
    scope = await library_scope(request.path_params["library"])
    filt = await parse_filter(scope, _params(request))
    library = scope.libraries[0]
    lang = filt.lang or library.default_language
    window = Window.for_day(settings, today())
    now = dt.datetime.now(UTC)
    # Coming dates only, but an event cancelled within the feed's grace stays listed
    # (marked cancelled), as in the feed.
    query = await public_occurrences(
        scope, filt, now, window.end, cancelled_since=window.grace_start
    )
    rows = (
        await query.order_by("starts_at", "id")
        .limit(PAGE_LIMIT + 1)
        .prefetch_related("event", "branch", "room", "stop")
    )
    tz = zone(library.timezone)
    days: dict[dt.date, list[dict[str, Any]]] = {}
    for row in rows[:PAGE_LIMIT]:
        event: Event = row.event
        start = row.starts_at.astimezone(tz)
        end = row.ends_at.astimezone(tz)
        title = translated(event.title, lang, library.default_language)
        if row.stop is not None:
            title = f"{title}: {row.stop.name}"
        place = (
            row.stop.name
            if row.stop is not None
            else (event.place_name or (row.branch.name if row.branch is not None else ""))
        )
        days.setdefault(start.date(), []).append(
            {
                "event": event,
                "title": title,
                "start": start,
                "end": end,
                "all_day": event.all_day,
                "place": place,
                "cancelled": row.cancelled or event.status == EventStatus.CANCELLED,
                "kind": ical.KIND_LABELS.get(event.kind.value, event.kind.value),
            }
        )
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "public/events.html",
        {
            "library": library,
            "lang": lang,
            "filter": filt,
            "days": days,
            "more": len(rows) > PAGE_LIMIT,
            "links": subscribe_links(settings, scope, filt),
            "calendar_name": feed_name(scope, filt),
            "window_days_back": settings.feed_days_back,
            "window_end": window.end.date(),
        },
    )


routes = [
    Route("/{library:slug}/events", programme, methods=["GET"]),
]
