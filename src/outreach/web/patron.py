"""Patron pages: one event in the reader's language (its coming dates, moved and cancelled
ones marked, where it is, what it serves, schema.org data), and its calendar files: the
whole series, or one occurrence, to add to a calendar."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach import i18n, publicity
from outreach.feeds.selection import Series, load_series
from outreach.feeds.single import Instance, occurrence_calendar, series_calendar
from outreach.i18n import gettext as _
from outreach.labels import audience_label, kind_label
from outreach.languages import language_of, translated
from outreach.models import (
    Audience,
    Event,
    EventAudience,
    EventFormat,
    EventLanguage,
    EventStatus,
    EventTag,
    Library,
    Occurrence,
    OccurrenceOverride,
)
from outreach.scheduling.recurrence import UTC, zone
from outreach.web import calendar_links
from outreach.web.errors import NotFound
from outreach.web.language import negotiate
from outreach.web.links import absolute_url, origin

# The coming dates an event page lists (a weekly club has a year of them; its series
# file and the programme's feed have them all).
COMING_LIMIT = 20
# An occurrence in a calendar file's address: its original start in UTC.
_START_FORMAT = "%Y%m%dT%H%M%SZ"
_ATTENDANCE_MODES = {
    EventFormat.IN_PERSON: "https://schema.org/OfflineEventAttendanceMode",
    EventFormat.ONLINE: "https://schema.org/OnlineEventAttendanceMode",
    EventFormat.HYBRID: "https://schema.org/MixedEventAttendanceMode",
}


@dataclass(frozen=True)
class Coming:
    """One coming date as the page shows it."""

    occurrence: Occurrence
    start: dt.datetime
    end: dt.datetime
    # The date and time in words of the page's language.
    when: str
    cancelled: bool
    # The local start the rule gave it, where the occurrence was moved.
    moved_from: dt.datetime | None
    moved_from_words: str
    note: str
    room: str
    ics: str
    google: str
    outlook_live: str
    outlook_office: str


def event_json_ld(
    event: Event,
    *,
    url: str,
    title: str,
    description: str,
    coming: list[Coming],
    location: dict[str, Any] | None,
    organiser: dict[str, Any],
    languages: list[str],
    audiences: list[str],
    registration_url: str | None,
) -> dict[str, Any]:
    """schema.org Event data for search engines, one Event per coming occurrence."""
    tz = zone(event.timezone)

    def when(instant: dt.datetime) -> str:
        local = instant.astimezone(tz)
        return local.date().isoformat() if event.all_day else local.isoformat()

    items = []
    for one in coming:
        end = one.occurrence.ends_at
        if event.all_day:
            end -= dt.timedelta(days=1)  # schema.org end dates are inclusive
        if one.cancelled:
            status = "https://schema.org/EventCancelled"
        elif one.moved_from is not None:
            status = "https://schema.org/EventRescheduled"
        else:
            status = "https://schema.org/EventScheduled"
        item: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": title,
            "url": url,
            "startDate": when(one.occurrence.starts_at),
            "endDate": when(end),
            "eventStatus": status,
            "eventAttendanceMode": _ATTENDANCE_MODES[event.format],
            "isAccessibleForFree": True,
            "organizer": organiser,
        }
        if one.moved_from is not None:
            item["previousStartDate"] = when(one.occurrence.original_start)
        if description:
            item["description"] = description
        if location is not None:
            item["location"] = location
        if languages:
            item["inLanguage"] = languages
        if audiences:
            item["audience"] = {"@type": "Audience", "audienceType": ", ".join(audiences)}
        if registration_url is not None and not one.cancelled:
            # Free (isAccessibleForFree): an offer of a place, without a price that would
            # need a currency.
            item["offers"] = {
                "@type": "Offer",
                "url": registration_url,
                "availability": "https://schema.org/InStock",
            }
        items.append(item)
    return {"@context": "https://schema.org", "@graph": items} if len(items) != 1 else items[0]


def _json_script(data: dict[str, Any]) -> Markup:
    """JSON safe inside a <script> element (no closing tag can appear in it)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


async def _public_event(request: Request) -> tuple[Library, Event]:
    """The library and the public event the path names, or 404."""
    library = await Library.get_or_none(slug=request.path_params["library"])
    if library is None:
        raise NotFound("library")
    event = await Event.get_or_none(
        publicity.events(), id=request.path_params["event_id"], library_id=library.id
    ).prefetch_related("branch", "room")
    if event is None:
        raise NotFound("event")
    return library, event


async def _own_series(event: Event) -> Series | None:
    """The event's own series as the feed writes it (a bookmobile route has only stops)."""
    return next((s for s in await load_series([event.id]) if s.stop is None), None)


def _location(event: Event) -> dict[str, Any] | None:
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
    return location


def _place_words(event: Event, room: str) -> str:
    """Where it happens, as one line for a calendar: room, branch, address."""
    if event.place_name or event.place_address:
        return ", ".join(p for p in (event.place_name, event.place_address) if p)
    branch = event.branch
    if branch is None:
        return event.online_url
    return ", ".join(
        p for p in (room, branch.name, branch.address, f"{branch.postcode} {branch.city}") if p
    )


async def _serves(event: Event, lang: str, fallback: str) -> list[dict[str, Any]]:
    """The values and goals the event serves, grouped by the strategy that states them."""
    tags = await EventTag.filter(event_id=event.id).prefetch_related(
        "goal__strategy", "value__strategy"
    )
    groups: dict[int, dict[str, Any]] = {}
    for tag in sorted(tags, key=lambda t: (not t.primary, t.id)):
        item = tag.goal if tag.goal is not None else tag.value
        if item is None or (tag.goal is not None and tag.goal.internal):
            continue
        strategy = item.strategy
        group = groups.setdefault(
            strategy.id,
            {
                "strategy": translated(strategy.name, lang, strategy.source_language),
                "years": f"{strategy.period_start.year}–{strategy.period_end.year}",
                "goals": [],
                "values": [],
            },
        )
        entry = {
            "code": item.code,
            "name": translated(item.name, lang, strategy.source_language or fallback),
            "primary": tag.primary,
        }
        group["goals" if tag.goal is not None else "values"].append(entry)
    return list(groups.values())


def _moment(local: dt.datetime) -> str:
    """A short date and a time ("Sat, Dec 12, 2026, 10:00" in each language's way)."""
    return _(
        "%(date)s, %(hours)s",
        date=i18n.format_skeleton(local, "yMMMEd"),
        hours=i18n.format_time(local, "short"),
    )


def _when(start: dt.datetime, end: dt.datetime, *, all_day: bool) -> str:
    """A date and time as people write them in the page's language (Babel's patterns)."""
    if all_day:
        last = end - dt.timedelta(days=1)  # all-day ends at the next local midnight
        if last.date() <= start.date():
            return i18n.format_date(start.date(), "full")
        return i18n.format_interval(start, last, "yMMMMEEEEd")
    if end.date() != start.date():
        return f"{_moment(start)} – {_moment(end)}"
    # Translators: a date and the hours of an event on it ("Tuesday, 1 December 2026, 10:00–11:30").
    return _(
        "%(date)s, %(hours)s",
        date=i18n.format_date(start.date(), "full"),
        hours=i18n.format_interval(start, end, "Hm"),
    )


def _coming(
    request: Request,
    event: Event,
    occurrences: Iterable[Occurrence],
    notes: dict[dt.datetime, str],
    *,
    title: str,
    description: str,
) -> list[Coming]:
    tz = zone(event.timezone)
    base = f"/{request.path_params['library']}/events/{event.id}"
    found = []
    for occurrence in occurrences:
        room = occurrence.room.name if occurrence.room is not None else ""
        occasion = calendar_links.Occasion(
            title=title,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            all_day=event.all_day,
            timezone=event.timezone,
            location=_place_words(event, room),
            details="\n\n".join(p for p in (description, absolute_url(request, base)) if p),
        )
        moved = occurrence.starts_at != occurrence.original_start
        start, end = occurrence.starts_at.astimezone(tz), occurrence.ends_at.astimezone(tz)
        found.append(
            Coming(
                occurrence=occurrence,
                start=start,
                end=end,
                when=_when(start, end, all_day=event.all_day),
                cancelled=occurrence.cancelled or event.status == EventStatus.CANCELLED,
                moved_from=occurrence.original_start.astimezone(tz) if moved else None,
                moved_from_words=_moment(occurrence.original_start.astimezone(tz)) if moved else "",
                note=notes.get(occurrence.original_start.astimezone(UTC), ""),
                room=room,
                ics=f"{base}/{occurrence.original_start.astimezone(UTC):{_START_FORMAT}}.ics",
                google=calendar_links.google(occasion),
                outlook_live=calendar_links.outlook(occasion, host="outlook.live.com"),
                outlook_office=calendar_links.outlook(occasion, host="outlook.office.com"),
            )
        )
    return found


async def event_page(request: Request) -> Response:
    """``/{library}/events/{id}``: one public event, its coming dates and schema.org data."""
    library, event = await _public_event(request)
    lang = negotiate(request, default=library.default_language)
    fallback = library.default_language
    now = dt.datetime.now(UTC)
    occurrences = (
        await Occurrence.filter(event_id=event.id, ends_at__gt=now, stop_id=None)
        .order_by("starts_at")
        .limit(COMING_LIMIT)
        .prefetch_related("room")
    )
    route_stops = (
        await Occurrence.filter(publicity.stops("stop__"), event_id=event.id, ends_at__gt=now)
        .order_by("starts_at")
        .limit(40)
        .prefetch_related("stop")
    )
    notes = {
        o.original_start.astimezone(UTC): o.note
        for o in await OccurrenceOverride.filter(event_id=event.id).exclude(note="")
    }
    title = translated(event.title, lang, fallback)
    description = translated(event.description, lang, fallback)
    audiences = [
        audience_label(Audience(str(a)))
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
    coming = _coming(request, event, occurrences, notes, title=title, description=description)
    path = f"/{library.slug}/events/{event.id}"
    registration_url = (
        absolute_url(request, f"{path}/register") if event.capacity is not None else None
    )
    location = _location(event)
    json_ld = event_json_ld(
        event,
        url=absolute_url(request, path),
        title=title,
        description=description,
        coming=coming,
        location=location,
        organiser={
            "@type": "Organization",
            "name": translated(library.name, lang, fallback),
            "url": absolute_url(request, f"/{library.slug}/"),
        },
        languages=languages,
        audiences=audiences,
        registration_url=registration_url,
    )
    tz = zone(event.timezone)
    series = await _own_series(event)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "public/events_detail.html",
        {
            "library": library,
            "lang": lang,
            "event": event,
            "title": title,
            "title_lang": language_of(event.title, lang, fallback),
            "description": description,
            "description_lang": language_of(event.description, lang, fallback),
            "kind": kind_label(event.kind),
            "audiences": audiences,
            "languages": [i18n.locale().languages.get(code, code) for code in languages],
            "serves": await _serves(event, lang, fallback),
            "coming": coming,
            "recurring": event.rrule is not None,
            "series_ics": f"{path}.ics" if series is not None else None,
            "stops": [
                (
                    o.starts_at.astimezone(tz),
                    _moment(o.starts_at.astimezone(tz)),
                    o.stop.name if o.stop else "",
                    o.cancelled,
                )
                for o in route_stops
            ],
            "place": location,
            "room": event.room,
            "access": [
                translated(place.accessibility, lang, fallback)
                for place in (event.room, event.branch)
                if place is not None and place.accessibility
            ],
            "online_url": event.online_url if event.format != EventFormat.IN_PERSON else "",
            "cancelled": event.status == EventStatus.CANCELLED,
            "json_ld": _json_script(json_ld),
        },
    )


def _calendar_file(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.ics"',
            "Cache-Control": "no-cache",
        },
    )


async def series_file(request: Request) -> Response:
    """``/{library}/events/{id}.ics``: the whole series, to import into a calendar."""
    library, event = await _public_event(request)
    lang = negotiate(request, default=library.default_language)
    series = await _own_series(event)
    if series is None:
        raise NotFound("event")
    body = series_calendar(series, lang=lang, base_url=origin(request))
    return _calendar_file(body, f"{library.slug}-{event.id}")


async def occurrence_file(request: Request) -> Response:
    """``/{library}/events/{id}/{original start}.ics``: one occurrence (one VEVENT)."""
    library, event = await _public_event(request)
    lang = negotiate(request, default=library.default_language)
    try:
        original = dt.datetime.strptime(request.path_params["start"], _START_FORMAT).replace(
            tzinfo=UTC
        )
    except ValueError:
        raise NotFound("occurrence") from None
    occurrence = await Occurrence.get_or_none(
        event_id=event.id, original_start=original, stop_id=None
    )
    series = await _own_series(event)
    if occurrence is None or series is None:
        raise NotFound("occurrence")
    instance = Instance(
        original_start=occurrence.original_start,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        cancelled=occurrence.cancelled or event.status == EventStatus.CANCELLED,
    )
    body = occurrence_calendar(series, instance, lang=lang, base_url=origin(request))
    local = occurrence.starts_at.astimezone(zone(event.timezone))
    return _calendar_file(body, f"{library.slug}-{event.id}-{local:%Y-%m-%d}")


routes = [
    Route("/{library:slug}/events/{event_id:id}.ics", series_file, methods=["GET"]),
    Route("/{library:slug}/events/{event_id:id}/{start}.ics", occurrence_file, methods=["GET"]),
    Route("/{library:slug}/events/{event_id:id}", event_page, methods=["GET"]),
]
