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
from icalendar.parser.string import _foldline

from outreach.feeds import daylight
from outreach.feeds.selection import Change, Series
from outreach.feeds.timezones import vtimezone
from outreach.languages import translated
from outreach.models import EventStatus
from outreach.scheduling.recurrence import UTC, to_local, to_utc

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
    if daylight.ambiguous(local, series.tz):
        return instant.astimezone(UTC)
    return local.replace(tzinfo=series.tz)


def series_components(series: Series, *, lang: str | None, base_url: str) -> list[VEvent]:
    """The master VEVENT of a series, one VEVENT per changed occurrence, and one per
    instance published on its own (``Series.detached``), with a UID of its own."""
    event = series.event
    host = host_of(base_url)
    uid = f"outreach-{series.key}@{host}"
    url = f"{base_url}/{series.library.slug}/events/{event.id}"
    status = "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED"
    fallback = series.library.default_language
    description = clean(translated(event.description, lang or fallback, fallback))
    cats = categories(series, lang)
    stamp = series.last_modified

    def component(
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime | None,
        title: str,
        change: Change | None,
        *,
        detached: bool = False,
    ) -> VEvent:
        location, geo = _location(series, change)
        note = clean(change.note) if change is not None and change.note else ""
        own_uid = uid
        if detached:
            assert change is not None
            own_uid = f"outreach-{series.key}-at-{change.original_local:%Y%m%dT%H%M%S}@{host}"
        vevent = VEvent.new(
            uid=own_uid,
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
            recurrence_id=(
                _when(series, change.original_local, local=True)
                if change is not None and not detached
                else None
            ),
        )
        if geo is not None:
            vevent.add("GEO", geo)
        return vevent

    components: list[VEvent] = []
    if series.rule is not None or not series.detached:
        master = _master(series, component(*_master_times(series), _title(series, lang), None))
        if series.rule is not None:
            master.add("RRULE", vRecur.from_ical(series.rule))
            if series.exdates:
                master.add("EXDATE", [_when(series, x, local=True) for x in series.exdates])
        components.append(master)
    overrides = [(c, False) for c in series.changes] if series.rule is not None else []
    for change, detached in [*overrides, *((c, True) for c in series.detached)]:
        components.append(
            component(
                _exact(series, change.starts_at),
                _end_of(series, change),
                _title(series, lang, change.title or None),
                change,
                detached=detached,
            )
        )
    return components


def _master_times(series: Series) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime | None]:
    """DTSTART and DTEND of the master VEVENT (no DTEND: see :func:`_master`)."""
    if series.event.all_day:
        return _when(series, series.start_local, local=True), _when(
            series, series.end_local, local=True
        )
    first = to_utc(series.start_local, series.tz)
    if series.rule is None:
        return _exact(series, first), _exact(series, first + series.duration)
    # The rule expands on the nominal wall-clock start, so DTSTART is written in the
    # zone even when that time is ambiguous (the first instance is then pinned).
    start = series.start_local.replace(tzinfo=series.tz)
    if not daylight.fragile(series.start_local, series.duration, series.tz):
        return start, _when(series, series.end_local, local=True)
    if daylight.ambiguous(series.start_local, series.tz):
        return start, None
    # A first instance that spans a change of offset or ends in an absent or repeated
    # hour: a local DTEND would give readers that subtract wall-clock times (Python's
    # aware datetimes in one zone do) another length, and a DURATION gives libical
    # another (it adds it to DTSTART's wall clock). An end in UTC is read as the same
    # exact length by all of them.
    return start, first + series.duration


def _master(series: Series, master: VEvent) -> VEvent:
    """Where the start itself is ambiguous (the repeated hour), any DTEND would be read
    as another length by readers that read the start differently; the master says
    DURATION instead, in exact hours, which each reader gives every instance."""
    if "DTEND" not in master and not series.event.all_day:
        master.add("DURATION", ExactDuration(series.duration))
    return master


class ExactDuration(vDuration):
    """A DURATION in hours, minutes and seconds only: RFC 5545's days and weeks are
    nominal (a day across a change is 23 or 25 hours), these are exact."""

    def __init__(self, td: dt.timedelta) -> None:
        super().__init__(td)
        self.exact = td

    def to_ical(self) -> bytes:
        seconds = int(self.exact.total_seconds())
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = "PT" + "".join(
            f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n
        )
        return (text if text != "PT" else "PT0S").encode()


def _end_of(series: Series, change: Change) -> dt.date | dt.datetime:
    end = _exact(series, change.ends_at)
    if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
        start = _when(series, change.starts_at)
        assert isinstance(start, dt.date)
        return max(end, start + dt.timedelta(days=1))
    return end


def serialise(
    cal: Calendar, components: Iterable[VEvent], *, zones: Iterable[str], first: dt.date
) -> bytes:
    """The calendar's bytes, with a VTIMEZONE for every zone used, valid from ``first`` on."""
    for name in sorted(set(zones)):
        cal.add_component(vtimezone(name, first))
    for component in components:
        cal.add_component(component)
    body: bytes = cal.to_ical()
    return body


END_OF_CALENDAR = b"END:VCALENDAR\r\n"


# icalendar folds a line once it would reach this many octets (so lines stay under 75).
_FOLD_AT = 75


def _line_bytes(line: str) -> bytes:
    raw = line.encode("utf-8")
    if len(raw) < _FOLD_AT:
        return raw
    return _foldline(line).encode("utf-8")


def to_bytes(component: Component) -> bytes:
    """``component.to_ical()``, byte for byte, faster: icalendar's own folding (a loop
    over every character of every line, a quarter of a feed's build) runs only on the
    lines long enough to be folded; a shorter line is its own UTF-8 bytes either way.
    ``tests/feeds/test_feed_assembly.py`` compares the two."""
    lines = component.content_lines(sorted=True)
    return b"\r\n".join([_line_bytes(line) for line in lines if line]) + b"\r\n"


def components_bytes(components: Iterable[VEvent]) -> bytes:
    """The bytes the components have inside a calendar (each ends in CRLF)."""
    return b"".join([to_bytes(component) for component in components])


def assemble(
    cal: Calendar, parts: Iterable[bytes], *, zones: Iterable[str], first: dt.date
) -> bytes:
    """The bytes :func:`serialise` writes, from the VEVENTs already written as bytes
    (:func:`components_bytes`): the calendar's properties and VTIMEZONEs, then the parts."""
    for name in sorted(set(zones)):
        cal.add_component(vtimezone(name, first))
    head = to_bytes(cal)
    assert head.endswith(END_OF_CALENDAR)
    return b"".join([head[: -len(END_OF_CALENDAR)], *parts, END_OF_CALENDAR])


def zones_of(series: Iterable[Series]) -> set[str]:
    """The zones that the feed's times name (all-day series are dates, in no zone)."""
    return {one.tz.key for one in series if not one.event.all_day}


def first_day(series: Iterable[Series], default: dt.date) -> dt.date:
    """A date before every start in the feed and every instance a client may expand."""
    starts = []
    for one in series:
        starts.append(one.start_local.date())
        starts += [c.starts_at.astimezone(UTC).date() for c in one.changes]
        starts += [c.original_local.date() for c in one.changes]
    return min(starts, default=default) - dt.timedelta(days=1)
