"""iCalendar export in three plain functions: the calendar, one series, serialisation.

Every value comes from stored data (DTSTAMP is the series' last change, UIDs are derived
from ids), so an unchanged database gives byte-identical feeds.

A series' VEVENTs are first plain :class:`Fields`; icalendar makes components of them
(single-event files, the staff feed, the feeds' ``fresh`` reference), and :func:`write`
writes the very same bytes directly for subscription feeds, about seven times faster.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from icalendar import Calendar, Component, vDuration, vRecur, vText
from icalendar import Event as VEvent
from icalendar.parser import Parameters
from icalendar.parser.string import _escape_char, _foldline
from icalendar.timezone.tzid import tzid_from_tzinfo

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


@dataclass(frozen=True, slots=True)
class Fields:
    """What one VEVENT says, before it is written: by icalendar (:func:`component`) or
    directly as bytes (:func:`write`), the same bytes either way."""

    uid: str
    summary: str
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None
    # Only where a master has no DTEND (see :func:`_master_times`).
    duration: dt.timedelta | None
    stamp: dt.datetime
    sequence: int
    status: str
    url: str
    location: str | None
    description: str | None
    categories: tuple[str, ...]
    recurrence_id: dt.date | dt.datetime | None
    geo: tuple[float, float] | None
    rule: str | None = None
    exdates: tuple[dt.date | dt.datetime, ...] = ()


def series_fields(series: Series, *, lang: str | None, base_url: str) -> list[Fields]:
    """The master VEVENT of a series, one VEVENT per changed occurrence, and one per
    instance published on its own (``Series.detached``), with a UID of its own."""
    event = series.event
    host = host_of(base_url)
    uid = f"outreach-{series.key}@{host}"
    url = f"{base_url}/{series.library.slug}/events/{event.id}"
    status = "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED"
    fallback = series.library.default_language
    description = clean(translated(event.description, lang or fallback, fallback))
    cats = tuple(categories(series, lang))
    stamp = series.last_modified

    def fields(
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime | None,
        title: str,
        change: Change | None,
        *,
        detached: bool = False,
    ) -> Fields:
        location, geo = _location(series, change)
        note = clean(change.note) if change is not None and change.note else ""
        own_uid = uid
        if detached:
            assert change is not None
            own_uid = f"outreach-{series.key}-at-{change.original_local:%Y%m%dT%H%M%S}@{host}"
        return Fields(
            uid=own_uid,
            summary=title,
            start=start,
            end=end,
            duration=None,
            stamp=stamp,
            sequence=series.sequence,
            status=status,
            url=url,
            location=location or None,
            description="\n\n".join(t for t in (note, description) if t) or None,
            categories=cats,
            recurrence_id=(
                _when(series, change.original_local, local=True)
                if change is not None and not detached
                else None
            ),
            geo=geo,
        )

    found: list[Fields] = []
    if series.rule is not None or not series.detached:
        master = fields(*_master_times(series), _title(series, lang), None)
        found.append(
            replace(
                master,
                duration=_master_duration(series, master),
                rule=series.rule,
                exdates=(
                    tuple(_when(series, x, local=True) for x in series.exdates)
                    if series.rule is not None
                    else ()
                ),
            )
        )
    overrides = [(c, False) for c in series.changes] if series.rule is not None else []
    for change, detached in [*overrides, *((c, True) for c in series.detached)]:
        found.append(
            fields(
                _exact(series, change.starts_at),
                _end_of(series, change),
                _title(series, lang, change.title or None),
                change,
                detached=detached,
            )
        )
    return found


def component(fields: Fields) -> VEvent:
    """The VEVENT of ``fields`` as an icalendar component."""
    vevent = VEvent.new(
        uid=fields.uid,
        summary=fields.summary,
        start=fields.start,
        end=fields.end,
        stamp=fields.stamp,
        last_modified=fields.stamp,
        sequence=fields.sequence,
        status=fields.status,  # type: ignore[arg-type]
        url=fields.url,
        location=fields.location,
        description=fields.description,
        categories=list(fields.categories),
        recurrence_id=fields.recurrence_id,
    )
    if fields.geo is not None:
        vevent.add("GEO", fields.geo)
    if fields.duration is not None:
        vevent.add("DURATION", ExactDuration(fields.duration))
    if fields.rule is not None:
        vevent.add("RRULE", vRecur.from_ical(fields.rule))
    if fields.exdates:
        vevent.add("EXDATE", list(fields.exdates))
    return vevent


def series_components(series: Series, *, lang: str | None, base_url: str) -> list[VEvent]:
    """:func:`series_fields` as icalendar components."""
    return [component(one) for one in series_fields(series, lang=lang, base_url=base_url)]


def series_bytes(series: Series, *, lang: str | None, base_url: str) -> bytes:
    """:func:`series_fields` written as bytes: ``components_bytes(series_components(…))``."""
    return b"".join([write(one) for one in series_fields(series, lang=lang, base_url=base_url)])


def _master_times(series: Series) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime | None]:
    """DTSTART and DTEND of the master VEVENT (no DTEND: see :func:`_master_duration`)."""
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


def _master_duration(series: Series, master: Fields) -> dt.timedelta | None:
    """Where the start itself is ambiguous (the repeated hour), any DTEND would be read
    as another length by readers that read the start differently; the master says
    DURATION instead, in exact hours, which each reader gives every instance."""
    if master.end is None and not series.event.all_day:
        return series.duration
    return None


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


def write(fields: Fields) -> bytes:
    """``component(fields).to_ical()`` inside a calendar, byte for byte, without building
    icalendar's objects (its properties, parameters and content lines cost about 1 ms a
    VEVENT, most of a cold feed's build). Properties come in icalendar's order for a
    VEVENT: its canonical ones, then the others alphabetically; values are written as its
    types write them. ``tests/feeds/test_feed_writer.py`` compares the two."""
    lines = ["BEGIN:VEVENT", "SUMMARY:" + _escape_char(fields.summary)]
    lines.append("DTSTART" + _time_value(fields.start))
    if fields.end is not None:
        lines.append("DTEND" + _time_value(fields.end))
    if fields.duration is not None:
        lines.append("DURATION:" + ExactDuration(fields.duration).to_ical().decode())
    stamp = _time_value(fields.stamp.astimezone(UTC))
    lines.append("DTSTAMP" + stamp)
    lines.append("UID:" + _escape_char(fields.uid))
    if fields.recurrence_id is not None:
        lines.append("RECURRENCE-ID" + _time_value(fields.recurrence_id))
    lines.append(f"SEQUENCE:{int(fields.sequence)}")
    if fields.rule is not None:
        lines.append("RRULE:" + _rule_ical(fields.rule))
    if fields.exdates:
        lines.append("EXDATE" + _time_list(fields.exdates))
    lines.append("CATEGORIES:" + ",".join([_escape_char(c) for c in fields.categories]))
    if fields.description is not None:
        lines.append("DESCRIPTION:" + _escape_char(fields.description))
    if fields.geo is not None:
        lines.append(f"GEO:{float(fields.geo[0])};{float(fields.geo[1])}")
    lines.append("LAST-MODIFIED" + stamp)
    if fields.location is not None:
        lines.append("LOCATION:" + _escape_char(fields.location))
    lines.append("STATUS:" + _escape_char(fields.status))
    lines.append("URL:" + fields.url)
    lines.append("END:VEVENT")
    return b"\r\n".join([_line_bytes(line) for line in lines]) + b"\r\n"


@lru_cache(maxsize=4096)
def _rule_ical(rule: str) -> str:
    """The rule as icalendar writes it (it orders the parts its own way)."""
    text: bytes = vRecur.from_ical(rule).to_ical()
    return text.decode()


@lru_cache(maxsize=256)
def _zone_id(tzinfo: dt.tzinfo) -> str | None:
    """The TZID icalendar names a zone by ("UTC" for zones equal to it)."""
    return tzid_from_tzinfo(tzinfo)


@lru_cache(maxsize=256)
def _tzid_parameter(tzid: str) -> str:
    """``;TZID=…`` as icalendar writes the parameter (quoted where it must be)."""
    text: bytes = Parameters({"TZID": tzid}).to_ical()
    return ";" + text.decode()


def _stamp(value: dt.date | dt.datetime) -> tuple[str, str]:
    """The parameters and the text of a DATE or DATE-TIME value."""
    if not isinstance(value, dt.datetime):
        return ";VALUE=DATE", f"{value.year:04}{value.month:02}{value.day:02}"
    text = (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}"
    )
    if value.tzinfo is None:
        return "", text
    tzid = _zone_id(value.tzinfo) or value.tzname()
    if tzid == "UTC":
        return "", text + "Z"
    return (_tzid_parameter(tzid) if tzid else ""), text


def _time_value(value: dt.date | dt.datetime) -> str:
    """A DTSTART-like property's parameters and value, from the ``;`` or ``:`` on."""
    params, text = _stamp(value)
    return f"{params}:{text}"


def _time_list(values: Iterable[dt.date | dt.datetime]) -> str:
    """An EXDATE's parameters and values: VALUE=DATE when all are dates, else the TZID of
    the last value that has one (icalendar's vDDDLists)."""
    written = [_stamp(value) for value in values]
    if all(params == ";VALUE=DATE" for params, _ in written):
        params = ";VALUE=DATE"
    else:
        params = next((p for p, _ in reversed(written) if p.startswith(";TZID=")), "")
    return params + ":" + ",".join(text for _, text in written)


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
