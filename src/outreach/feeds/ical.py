"""iCalendar export in three plain functions: the calendar, one series, serialisation.

Every value comes from stored data (DTSTAMP is the series' last change, UIDs are derived
from ids), so an unchanged database gives byte-identical feeds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from icalendar import Calendar, Component, vDuration, vRecur, vText
from icalendar import Event as VEvent

from outreach.feeds.selection import Change, Series, ambiguous
from outreach.models import EventStatus
from outreach.scheduling.recurrence import UTC, to_local
from outreach.web.templating import translated

PRODID = "-//Outreach//Library programme feeds//EN"
REFRESH = dt.timedelta(hours=1)
# Control characters other than tab and newline are invalid in iCalendar TEXT.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

KIND_LABELS = {
    "workshop": "Workshop",
    "lecture": "Lecture",
    "exhibition": "Exhibition",
    "reading": "Reading and literacy",
    "democracy": "Democracy and civic life",
    "author_visit": "Author visit",
    "club": "Club",
    "storytime": "Storytime",
    "staff_training": "Staff training",
    "peer_learning": "Peer learning",
    "outreach_visit": "Outreach visit",
    "digital_skills": "Digital skills",
    "bookmobile": "Bookmobile",
}
AUDIENCE_LABELS = {
    "0-5": "Ages 0–5",
    "6-11": "Ages 6–11",
    "12-18": "Ages 12–18",
    "19+": "Adults",
    "all": "All ages",
    "families": "Families",
    "seniors": "Seniors",
    "staff": "Staff",
}


def clean(text: str) -> str:
    """Text without control characters (CRLF inside a value becomes a plain newline)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def host_of(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"


def calendar(*, name: str, uid: str, description: str = "") -> Calendar:
    """An empty feed with the properties every client looks for (no METHOD: no ORGANIZER)."""
    cal = Calendar.new(
        prodid=PRODID,
        calscale="GREGORIAN",
        name=clean(name),
        uid=uid,
        refresh_interval=REFRESH,
        description=clean(description) or None,
    )
    # icalendar 7 types NAME and X-WR-CALNAME as unknown and would not escape , ; \ in them.
    cal["NAME"] = vText(clean(name))
    cal["X-WR-CALNAME"] = vText(clean(name))
    # RFC 7986 requires the VALUE parameter here, and strict parsers drop the line without it.
    cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    # Outlook and Apple read the older X-PUBLISHED-TTL, not RFC 7986's REFRESH-INTERVAL.
    cal["X-PUBLISHED-TTL"] = vDuration(REFRESH)
    return cal


def _title(series: Series, lang: str | None, override: dict[str, str] | None = None) -> str:
    fallback = series.library.default_language
    want = lang or fallback
    title = translated(override or series.event.title, want, fallback)
    if series.stop is not None:
        title = f"{title}: {series.stop.name}"
    return clean(title)


def _location(
    series: Series, change: Change | None = None
) -> tuple[str, tuple[float, float] | None]:
    if series.stop is not None:
        stop = series.stop
        place = ", ".join(
            p for p in (stop.name, stop.address, f"{stop.postcode} {stop.community}".strip()) if p
        )
        return place, (stop.lat, stop.lon)
    event = series.event
    room = change.room if change is not None and change.room is not None else series.room
    parts: list[str] = []
    geo: tuple[float, float] | None = None
    if event.place_name or event.place_address:
        parts += [event.place_name, event.place_address]
    elif series.branch is not None:
        branch = series.branch
        parts += [
            room.name if room is not None else "",
            branch.name,
            branch.address,
            f"{branch.postcode} {branch.city}".strip(),
        ]
        geo = (branch.lat, branch.lon)
    if event.lat is not None and event.lon is not None:
        geo = (event.lat, event.lon)
    if not parts and event.format == "online":
        parts.append("Online")
    return ", ".join(clean(p) for p in parts if p), geo


def categories(series: Series, lang: str | None) -> list[str]:
    """Kind, audiences, the goals it serves (code and name) and its values, in that order."""
    want = lang or series.library.default_language
    fallback = series.library.default_language
    found = [KIND_LABELS.get(series.event.kind.value, series.event.kind.value)]
    found += [AUDIENCE_LABELS.get(a.value, a.value) for a in series.audiences]
    found += [f"{g.code} {translated(g.name, want, fallback)}".strip() for g in series.goals]
    found += [translated(v.name, want, fallback) for v in series.values]
    return [clean(c) for c in dict.fromkeys(found) if c]


def _when(
    series: Series, instant_or_local: dt.datetime, *, local: bool = False
) -> dt.date | dt.datetime:
    """A DTSTART-like value: a date for all-day series, else a time in the series' zone."""
    value = instant_or_local if local else to_local(instant_or_local, series.tz)
    if series.event.all_day:
        return value.date()
    return value.replace(tzinfo=series.tz)


def _exact(series: Series, instant: dt.datetime) -> dt.date | dt.datetime:
    """An instant in the series' zone, or in UTC where the local time would be ambiguous."""
    if series.event.all_day:
        return _when(series, instant)
    local = to_local(instant, series.tz)
    if ambiguous(local, series.tz):
        return instant.astimezone(UTC)
    return local.replace(tzinfo=series.tz)


def series_components(series: Series, *, lang: str | None, base_url: str) -> list[VEvent]:
    """The master VEVENT of a series and one VEVENT per changed occurrence."""
    event = series.event
    uid = f"outreach-{series.key}@{host_of(base_url)}"
    url = f"{base_url}/{series.library.slug}/events/{event.id}"
    status = "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED"
    fallback = series.library.default_language
    description = clean(translated(event.description, lang or fallback, fallback))
    cats = categories(series, lang)
    stamp = series.last_modified

    def component(
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime,
        title: str,
        change: Change | None,
    ) -> VEvent:
        location, geo = _location(series, change)
        note = clean(change.note) if change is not None and change.note else ""
        vevent = VEvent.new(
            uid=uid,
            summary=title,
            start=start,
            end=end,
            stamp=stamp,
            last_modified=stamp,
            sequence=series.sequence,
            status=status,  # type: ignore[arg-type]
            url=url,
            location=location or None,
            description="\n\n".join(t for t in (note, description) if t) or None,
            categories=cats,
            recurrence_id=_when(series, change.original_local, local=True) if change else None,
        )
        if geo is not None:
            vevent.add("GEO", geo)
        return vevent

    start = _when(series, series.start_local, local=True)
    end = _when(series, series.end_local, local=True)
    master = component(start, end, _title(series, lang), None)
    if series.rule is not None:
        master.add("RRULE", vRecur.from_ical(series.rule))
        if series.exdates:
            master.add("EXDATE", [_when(series, x, local=True) for x in series.exdates])
    components = [master]
    if series.rule is not None:
        for change in series.changes:
            components.append(
                component(
                    _exact(series, change.starts_at),
                    _end_of(series, change),
                    _title(series, lang, change.title or None),
                    change,
                )
            )
    return components


def _end_of(series: Series, change: Change) -> dt.date | dt.datetime:
    end = _exact(series, change.ends_at)
    if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
        start = _when(series, change.starts_at)
        assert isinstance(start, dt.date)
        return max(end, start + dt.timedelta(days=1))
    return end


def serialise(
    cal: Calendar, components: Iterable[VEvent], *, first: dt.date, last: dt.date
) -> bytes:
    """The calendar's bytes, with a VTIMEZONE for every zone used, valid over [first, last]."""
    for component in components:
        cal.add_component(component)
    cal.add_missing_timezones(first, last)
    for timezone in cal.timezones:
        _one_onset_per_observance(timezone)
    body: bytes = cal.to_ical()
    return body


def _one_onset_per_observance(timezone: Component) -> None:
    """Rewrite STANDARD/DAYLIGHT observances listing onsets in RDATE as one per onset.

    icalendar writes later onsets as RDATE, which RFC 5545 allows, but ical.js (the parser
    of Thunderbird) then ignores DTSTART and all but the first RDATE value, and shifts
    every summer occurrence by an hour. One DTSTART per observance reads right everywhere.
    """
    observances: list[Component] = []
    for observance in timezone.subcomponents:
        rdates = observance.pop("RDATE", None)
        observances.append(observance)
        for listed in rdates if isinstance(rdates, list) else [rdates] if rdates else []:
            for onset in listed.dts:
                copy = type(observance)()
                for name, value in observance.property_items(recursive=False)[1:-1]:
                    copy.add(name, value, encode=False)
                copy.pop("DTSTART")
                copy.add("DTSTART", onset.dt)
                observances.append(copy)
    timezone.subcomponents = observances


def span(series: Iterable[Series], last: dt.datetime) -> tuple[dt.date, dt.date]:
    """Dates covering every start in the feed and every instance a client may expand."""
    starts = [s.start_local.date() for s in series]
    starts += [c.starts_at.astimezone(UTC).date() for s in series for c in s.changes]
    starts += [c.original_local.date() for s in series for c in s.changes]
    first = min(starts, default=last.date()) - dt.timedelta(days=1)
    return first, last.date() + dt.timedelta(days=1)
