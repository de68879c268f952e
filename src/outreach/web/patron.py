"""Patron pages: one event, its coming dates and schema.org data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach import publicity
from outreach.feeds import ical
from outreach.feeds.filters import library_scope
from outreach.languages import translated
from outreach.models import (
    Event,
    EventAudience,
    EventFormat,
    EventLanguage,
    EventStatus,
    EventTag,
    Occurrence,
)
from outreach.scheduling.recurrence import UTC, zone
from outreach.settings import Settings
from outreach.web.errors import NotFound


def event_json_ld(
    event: Event,
    *,
    url: str,
    title: str,
    description: str,
    occurrences: list[Occurrence],
    location: dict[str, Any] | None,
    organiser: dict[str, Any],
    languages: list[str],
    audiences: list[str],
) -> dict[str, Any]:
    """schema.org Event data for search engines, one Event per coming occurrence."""
    status = (
        "https://schema.org/EventCancelled"
        if event.status == EventStatus.CANCELLED
        else "https://schema.org/EventScheduled"
    )
    mode = {
        EventFormat.IN_PERSON: "https://schema.org/OfflineEventAttendanceMode",
        EventFormat.ONLINE: "https://schema.org/OnlineEventAttendanceMode",
        EventFormat.HYBRID: "https://schema.org/MixedEventAttendanceMode",
    }[event.format]
    tz = zone(event.timezone)

    def when(instant: dt.datetime) -> str:
        local = instant.astimezone(tz)
        return local.date().isoformat() if event.all_day else local.isoformat()

    items = []
    for occurrence in occurrences:
        end = occurrence.ends_at
        if event.all_day:
            end -= dt.timedelta(days=1)  # schema.org end dates are inclusive
        item: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": title,
            "url": url,
            "startDate": when(occurrence.starts_at),
            "endDate": when(end),
            "eventStatus": (
                "https://schema.org/EventCancelled" if occurrence.cancelled else status
            ),
            "eventAttendanceMode": mode,
            "isAccessibleForFree": True,
            "organizer": organiser,
        }
        if description:
            item["description"] = description
        if location is not None:
            item["location"] = location
        if languages:
            item["inLanguage"] = languages
        if audiences:
            item["audience"] = {"@type": "Audience", "audienceType": ", ".join(audiences)}
        items.append(item)
    return {"@context": "https://schema.org", "@graph": items} if len(items) != 1 else items[0]


def _json_script(data: dict[str, Any]) -> Markup:
    """JSON safe inside a <script> element (no closing tag can appear in it)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


async def event_page(request: Request) -> Response:
    """``/{library}/events/{id}``: one public event, its coming dates and schema.org data."""
    settings: Settings = request.app.state.settings
    scope = await library_scope(request.path_params["library"])
    library = scope.libraries[0]
    event_id: int = request.path_params["event_id"]
    event = await Event.get_or_none(
        publicity.events(), id=event_id, library_id=library.id
    ).prefetch_related("branch", "room")
    if event is None:
        raise NotFound("event")
    lang = request.query_params.get("lang") or library.default_language
    if lang not in scope.languages:
        lang = library.default_language
    now = dt.datetime.now(UTC)
    occurrences = (
        await Occurrence.filter(event_id=event.id, ends_at__gt=now)
        .filter(stop_id=None)
        .order_by("starts_at")
        .limit(20)
    )
    route_stops = (
        await Occurrence.filter(publicity.stops("stop__"), event_id=event.id, ends_at__gt=now)
        .order_by("starts_at")
        .limit(40)
        .prefetch_related("stop")
    )
    title = translated(event.title, lang, library.default_language)
    description = translated(event.description, lang, library.default_language)
    audiences = [
        ical.AUDIENCE_LABELS.get(str(a), str(a))
        for a in await EventAudience.filter(event_id=event.id)
        .order_by("audience")
        .values_list("audience", flat=True)
    ]
    languages = [
        str(code)
        for code in await EventLanguage.filter(event_id=event.id)
        .order_by("language")
        .values_list("language", flat=True)
    ]
    tags = await EventTag.filter(event_id=event.id).prefetch_related("goal", "value")
    goals = [
        f"{t.goal.code} {translated(t.goal.name, lang, library.default_language)}"
        for t in sorted(tags, key=lambda t: (not t.primary, t.id))
        if t.goal is not None and not t.goal.internal
    ]
    url = f"{settings.base_url}/{library.slug}/events/{event.id}"
    location: dict[str, Any] | None = None
    branch = event.branch
    if event.place_name or event.place_address:
        location = {"@type": "Place", "name": event.place_name, "address": event.place_address}
    elif branch is not None:
        location = {
            "@type": "Place",
            "name": branch.name,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": branch.address,
                "postalCode": branch.postcode,
                "addressLocality": branch.city,
            },
            "geo": {"@type": "GeoCoordinates", "latitude": branch.lat, "longitude": branch.lon},
        }
    if location is not None and event.lat is not None and event.lon is not None:
        location["geo"] = {"@type": "GeoCoordinates", "latitude": event.lat, "longitude": event.lon}
    if event.format == EventFormat.ONLINE and event.online_url:
        location = {"@type": "VirtualLocation", "url": event.online_url}
    organiser = {
        "@type": "Organization",
        "name": translated(library.name, lang, library.default_language),
        "url": f"{settings.base_url}/{library.slug}/",
    }
    json_ld = event_json_ld(
        event,
        url=url,
        title=title,
        description=description,
        occurrences=occurrences,
        location=location,
        organiser=organiser,
        languages=languages,
        audiences=audiences,
    )
    tz = zone(event.timezone)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "public/events_detail.html",
        {
            "library": library,
            "lang": lang,
            "event": event,
            "title": title,
            "description": description,
            "kind": ical.KIND_LABELS.get(event.kind.value, event.kind.value),
            "audiences": audiences,
            "goals": goals,
            "occurrences": [
                (o.starts_at.astimezone(tz), o.ends_at.astimezone(tz), o.cancelled)
                for o in occurrences
            ],
            "stops": [
                (o.starts_at.astimezone(tz), o.stop.name if o.stop else "", o.cancelled)
                for o in route_stops
            ],
            "location": location,
            "cancelled": event.status == EventStatus.CANCELLED,
            "json_ld": _json_script(json_ld),
        },
    )


routes = [
    Route("/{library:slug}/events/{event_id:id}", event_page, methods=["GET"]),
]
