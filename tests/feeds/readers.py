"""Four independent readers of our feeds, and the service's own list to hold them to.

Each reader takes a feed's bytes, the window to look at and the zone of every series
(``zones``: all-day dates are placed on the time line at local midnight) and returns the
occurrences it sees as ``(uid, start, end)`` in UTC, overlapping the window, cancelled
ones left out. A reader that meets something it cannot read fails rather than guess.

- :func:`python_reader`: ``recurring-ical-events`` on ``icalendar``.
- :func:`node_reader`: Mozilla's ``ical.js``, Thunderbird's parser (``js/expand.mjs``).
- :func:`dateutil_reader`: a naive client: the raw text lines, ``dateutil`` and
  ``zoneinfo``, ignoring the feed's VTIMEZONEs.
- :func:`libical_reader`: libical 3 (Evolution, KDE's parser) through ``ctypes``;
  :func:`libical_problems` lists what libical's parser and restriction check reject.

:data:`READERS` names them all; :func:`api_instances` is what ``GET /api/occurrences``
lists, the service's answer every reader must agree with.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import recurring_ical_events
from dateutil.rrule import rrule, rrulestr
from tortoise.expressions import Q

from outreach.feeds.selection import Window
from outreach.models import Event, EventStatus, Occurrence, Visibility

UTC = dt.UTC
JS_DIR = Path(__file__).parent / "js"
HOST = "outreach.example.org"
# (uid, start, end), both in UTC.
Instance = tuple[str, dt.datetime, dt.datetime]
# The zone of each series by its uid without the stop and host: "outreach-event-12".
Zones = Mapping[str, ZoneInfo]
Reader = Callable[[bytes, Window, Zones], set[Instance]]
# Instances moved into the window may have started out after its end.
MOVED_REACH = dt.timedelta(days=366)


def uid_of(event_id: int, stop_id: int | None = None) -> str:
    stop = f"-stop-{stop_id}" if stop_id is not None else ""
    return f"outreach-event-{event_id}{stop}@{HOST}"


# Around a gap instance the feed publishes that instance as a VEVENT of its own
# ("outreach-event-12-at-20270328T023000@…") and the rest of the series from the next
# instance on ("outreach-event-12-from-20270404T023000@…"): instances of the series all
# the same.
_OWN_INSTANCE = re.compile(r"-(at|from)-\d{8}T\d{6}(?=@)")


def series_uid(uid: str) -> str:
    """The uid of the series an instance belongs to, as :func:`uid_of` makes it."""
    return _OWN_INSTANCE.sub("", uid)


def zone_of(uid: str, zones: Zones) -> ZoneInfo:
    return zones[re.sub(r"(-stop-\d+)?@.*$", "", series_uid(uid))]


async def zones() -> dict[str, ZoneInfo]:
    """The zone of every series in the database, to place all-day dates on the time line."""
    found: dict[str, ZoneInfo] = {}
    for event_id, name in await Event.all().values_list("id", "timezone"):
        found[f"outreach-event-{event_id}"] = ZoneInfo(name)
    return found


async def service_instances(
    libraries: tuple[str, ...], extra: Q | None, window: Window
) -> set[Instance]:
    """What the service materialised: public, published, not cancelled, in the window."""
    query = Occurrence.filter(
        library__slug__in=libraries,
        cancelled=False,
        starts_at__lt=window.end,
        ends_at__gt=window.start,
        event__status=EventStatus.PUBLISHED,
        event__visibility=Visibility.PUBLIC,
    ).filter(Q(stop_id=None) | Q(stop__visibility=Visibility.PUBLIC))
    if extra is not None:
        query = query.filter(extra)
    rows = await query.values_list("event_id", "stop_id", "starts_at", "ends_at")
    return {(uid_of(e, s), start.astimezone(UTC), end.astimezone(UTC)) for e, s, start, end in rows}


async def api_instances(
    client: httpx.AsyncClient,
    libraries: tuple[str, ...],
    query: dict[str, str],
    window: Window,
    private_stops: set[int],
) -> set[Instance]:
    """What ``GET /api/occurrences`` lists for the same filter, not cancelled, every page.

    The API has no network or language filter and answers at most 366 days at a time,
    so a network is asked library by library and the window in slices.
    """
    found: set[Instance] = set()
    filters = {k: v for k, v in query.items() if k != "lang"}
    for library in libraries:
        start = window.start
        while start < window.end:
            end = min(start + dt.timedelta(days=366), window.end)
            offset = 0
            while True:
                params = {
                    **filters,
                    "library": library,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "offset": str(offset),
                }
                response = await client.get("/api/occurrences", params=params)
                assert response.status_code == 200, response.text
                page = response.json()
                for item in page["occurrences"]:
                    # The API lists visits to private bookmobile stops to anyone (reported
                    # to the scheduling engineer); feeds never show them.
                    if item["cancelled"] or item["stop"] in private_stops:
                        continue
                    found.add(
                        (
                            uid_of(item["event"], item["stop"]),
                            dt.datetime.fromisoformat(item["start"]).astimezone(UTC),
                            dt.datetime.fromisoformat(item["end"]).astimezone(UTC),
                        )
                    )
                offset += len(page["occurrences"])
                if page["next"] is None:
                    break
            start = end
    return found


def _instant(value: dt.date | dt.datetime | str, uid: str, tzs: Zones) -> dt.datetime:
    if isinstance(value, str):
        if len(value) == 10:
            value = dt.date.fromisoformat(value)
        else:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time in {uid}"
        return value.astimezone(UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=zone_of(uid, tzs)).astimezone(UTC)


def _overlapping(found: list[Instance], window: Window) -> set[Instance]:
    """The instances overlapping the window, by series; one read twice is a failure."""
    kept = [(series_uid(u), s, e) for u, s, e in found if s < window.end and e > window.start]
    doubled = sorted({i for i in kept if kept.count(i) > 1})
    assert not doubled, f"instances read twice: {doubled}"
    return set(kept)


# recurring-ical-events ----------------------------------------------------------------


def python_reader(body: bytes, window: Window, tzs: Zones) -> set[Instance]:
    calendar = icalendar.Calendar.from_ical(body)
    found: list[Instance] = []
    for component in recurring_ical_events.of(calendar).between(window.start, window.end):
        if str(component.get("STATUS", "")) == "CANCELLED":
            continue
        uid = str(component["UID"])
        start = _instant(component["DTSTART"].dt, uid, tzs)
        end = _instant(component["DTEND"].dt, uid, tzs)
        found.append((uid, start, end))
    return _overlapping(found, window)


# ical.js (Node.js) --------------------------------------------------------------------


def node_reader(body: bytes, window: Window, tzs: Zones) -> set[Instance]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the ical.js reader cannot run")
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        pytest.skip(f"ical.js is not installed: run `npm ci --prefix {JS_DIR}`")
    until = (window.end + MOVED_REACH).isoformat()
    result = subprocess.run(
        [node, str(JS_DIR / "expand.mjs"), until],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    found: list[Instance] = []
    for item in json.loads(result.stdout):
        if item["status"] == "CANCELLED":
            continue
        uid = item["uid"]
        found.append((uid, _instant(item["start"], uid, tzs), _instant(item["end"], uid, tzs)))
    return _overlapping(found, window)


# A naive client: raw lines, dateutil, zoneinfo ----------------------------------------


@dataclass(frozen=True)
class Line:
    """One unfolded content line: ``NAME;PARAM=VALUE:value``."""

    name: str
    params: dict[str, str]
    value: str


_PARAM = re.compile(r';([A-Za-z0-9-]+)=("[^"]*"|[^";:]*)')


def content_line(text: str) -> Line:
    """Split a content line; parameter values may be quoted (and then hold ``:`` or ``;``)."""
    match = re.match(r"[A-Za-z0-9-]+", text)
    assert match is not None, f"not a content line: {text!r}"
    name, position = match.group().upper(), match.end()
    params: dict[str, str] = {}
    while text.startswith(";", position):
        param = _PARAM.match(text, position)
        assert param is not None, f"unreadable parameter in {text!r}"
        params[param.group(1).upper()] = param.group(2).strip('"')
        position = param.end()
    assert text.startswith(":", position), f"no value in {text!r}"
    return Line(name, params, text[position + 1 :])


def vevents(body: bytes) -> list[list[Line]]:
    """The content lines of every VEVENT, unfolded (RFC 5545 3.1), nested components left out."""
    lines: list[str] = []
    for raw in re.split(r"\r?\n", body.decode("utf-8")):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    events: list[list[Line]] = []
    depth = 0
    for text in lines:
        line = content_line(text)
        if line.name == "BEGIN" and line.value.upper() == "VEVENT" and depth == 0:
            events.append([])
            depth = 1
        elif events and depth > 0:
            if line.name == "BEGIN":
                depth += 1
            elif line.name == "END":
                depth -= 1
            elif depth == 1:
                events[-1].append(line)
    return events


def _naive_value(line: Line, value: str) -> dt.date | dt.datetime:
    """A DATE or DATE-TIME the way a naive client reads it: TZID straight into zoneinfo."""
    if line.params.get("VALUE") == "DATE" or len(value) == 8:
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 (a date)
    local = dt.datetime.strptime(value.removesuffix("Z"), "%Y%m%dT%H%M%S")  # noqa: DTZ007
    if value.endswith("Z"):
        return local.replace(tzinfo=UTC)
    tzid = line.params.get("TZID")
    assert tzid is not None, f"floating time in {line}"
    # fold=0: a time in the spring gap is read with the offset before it, a time in the
    # autumn overlap as the first of the two (what zoneinfo does by default).
    return local.replace(tzinfo=ZoneInfo(tzid))


def _key(value: dt.date | dt.datetime) -> dt.date | dt.datetime:
    """What names an instance: a date, or an instant compared in UTC."""
    return value.astimezone(UTC) if isinstance(value, dt.datetime) else value


_DURATION = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


@dataclass(frozen=True)
class Length:
    """How long an instance lasts: whole days on the calendar, then exact time."""

    days: int
    exact: dt.timedelta

    @classmethod
    def of(cls, text: str) -> Length:
        """A DURATION value (RFC 5545 3.3.6: weeks and days nominal, hours exact)."""
        match = _DURATION.fullmatch(text)
        assert match is not None, f"unreadable DURATION {text!r}"
        sign = -1 if match.group(1) == "-" else 1
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:])
        exact = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return cls(sign * (7 * weeks + days), sign * exact)

    def after(self, start: dt.date | dt.datetime) -> dt.date | dt.datetime:
        """The end of an instance starting at ``start``: the days on the wall clock (an
        aware datetime plus days keeps its local time), then the exact time in UTC."""
        if not isinstance(start, dt.datetime):
            assert not self.exact, "a date plus hours"
            return start + dt.timedelta(days=self.days)
        return (start + dt.timedelta(days=self.days)).astimezone(UTC) + self.exact


@dataclass(frozen=True)
class _NaiveEvent:
    uid: str
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    length: Length  # of every instance of the series
    rule: str | None
    exdates: frozenset[dt.date | dt.datetime]
    recurrence_id: dt.date | dt.datetime | None
    cancelled: bool


def _naive_event(lines: list[Line]) -> _NaiveEvent:
    found: dict[str, list[Line]] = {}
    for line in lines:
        found.setdefault(line.name, []).append(line)
    for unsupported in ("RDATE", "EXRULE"):
        assert unsupported not in found, f"the naive reader does not read {unsupported}"
    for single in ("UID", "DTSTART"):
        assert len(found.get(single, [])) == 1, f"{single} must appear once: {lines}"
    ends = found.get("DTEND", []) + found.get("DURATION", [])
    assert len(ends) == 1, f"one DTEND or DURATION: {lines}"
    assert len(found.get("RRULE", [])) <= 1, f"more than one RRULE: {lines}"
    start = _naive_value(found["DTSTART"][0], found["DTSTART"][0].value)
    if ends[0].name == "DURATION":
        length = Length.of(ends[0].value)
        end = length.after(start)
    else:
        end = _naive_value(ends[0], ends[0].value)
        if isinstance(start, dt.datetime):
            assert isinstance(end, dt.datetime), f"DTSTART and DTEND of two types: {lines}"
            # Elapsed time between the two instants (RFC 5545 3.8.5.3: the same exact
            # duration for every instance); Python's own ``end - start`` on two times of
            # one zone would give the wall-clock difference instead.
            length = Length(0, end.astimezone(UTC) - start.astimezone(UTC))
        else:
            assert not isinstance(end, dt.datetime), f"DTSTART and DTEND of two types: {lines}"
            length = Length((end - start).days, dt.timedelta())
    exdates = frozenset(
        _key(_naive_value(line, value))
        for line in found.get("EXDATE", [])
        for value in line.value.split(",")
    )
    rid = found.get("RECURRENCE-ID", [])
    return _NaiveEvent(
        uid=found["UID"][0].value,
        start=start,
        end=end,
        length=length,
        rule=found["RRULE"][0].value if "RRULE" in found else None,
        exdates=exdates,
        recurrence_id=_naive_value(rid[0], rid[0].value) if rid else None,
        cancelled=any(line.value.upper() == "CANCELLED" for line in found.get("STATUS", [])),
    )


def _naive_starts(event: _NaiveEvent, until: dt.datetime) -> Iterator[dt.date | dt.datetime]:
    """The master's starts: DTSTART alone, or what dateutil makes of RRULE from DTSTART.

    dateutil, like many clients, yields DTSTART only when it matches the rule (RFC 5545
    leaves the set undefined otherwise); the service's series start on a matching day.
    """
    if event.rule is None:
        yield event.start
        return
    start = event.start
    if not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time())
    # An aware DTSTART keeps its wall-clock time on every instance, in its own zone.
    parsed = rrulestr(event.rule, dtstart=start)
    assert isinstance(parsed, rrule)
    for value in parsed:
        if isinstance(event.start, dt.datetime):
            if value.astimezone(UTC) >= until:
                return
            yield value
        else:
            if value.date() >= until.date():
                return
            yield value.date()


def dateutil_reader(body: bytes, window: Window, tzs: Zones) -> set[Instance]:
    """A naive client: expands each master's raw RRULE with ``dateutil.rrule.rrulestr`` on
    its DTSTART with the TZID as a ``ZoneInfo`` (the feed's VTIMEZONEs are not read; wall
    clock kept across daylight-saving changes), drops the instances named by EXDATE,
    replaces those named by a RECURRENCE-ID with that VEVENT's own DTSTART and DTEND
    (or drops them if it is CANCELLED), and converts everything to UTC with ``zoneinfo``.

    Instances and the names in EXDATE and RECURRENCE-ID are matched as UTC instants (as
    dates for all-day series); an override that names no instance is not shown, as in
    ical.js. Every instance lasts the master's DTEND − DTSTART as elapsed time (RFC 5545
    3.8.5.3), computed between the two UTC instants and added to each start's UTC
    instant; a DURATION adds its days on the wall clock and its hours exactly (3.3.6).
    All-day instances last the same number of days.
    """
    events = [_naive_event(lines) for lines in vevents(body)]
    overrides: dict[tuple[str, dt.date | dt.datetime], _NaiveEvent] = {}
    for event in events:
        if event.recurrence_id is not None:
            named = (event.uid, _key(event.recurrence_id))
            assert named not in overrides, f"two overrides of one instance: {named}"
            overrides[named] = event
    found: list[Instance] = []
    until = window.end + MOVED_REACH
    for master in events:
        if master.recurrence_id is not None:
            continue
        for start in _naive_starts(master, until):
            key = _key(start)
            if key in master.exdates:
                continue
            shown = overrides.get((master.uid, key), master)
            if shown.cancelled:
                continue
            if shown is master:
                end = master.length.after(start)
            else:
                start, end = shown.start, shown.end
            found.append(
                (master.uid, _instant(start, master.uid, tzs), _instant(end, master.uid, tzs))
            )
    return _overlapping(found, window)


# libical (ctypes) ---------------------------------------------------------------------


class IcalTime(ctypes.Structure):
    """``struct icaltimetype`` of libical 3 (src/libical/icaltime.h, v3.0.16)."""

    _fields_ = [
        ("year", ctypes.c_int),
        ("month", ctypes.c_int),
        ("day", ctypes.c_int),
        ("hour", ctypes.c_int),
        ("minute", ctypes.c_int),
        ("second", ctypes.c_int),
        ("is_date", ctypes.c_int),
        ("is_daylight", ctypes.c_int),
        ("zone", ctypes.c_void_p),
    ]


# time_t: a C long on the glibc ABIs libical3 is built for (ctypes has c_time_t from 3.12).
TimeT = ctypes.c_long


class IcalSpan(ctypes.Structure):
    """``struct icaltime_span`` of libical 3: UTC seconds since the epoch."""

    _fields_ = [("start", TimeT), ("end", TimeT), ("is_busy", ctypes.c_int)]


RecurrenceCallback = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.POINTER(IcalSpan), ctypes.c_void_p
)
# enum icalcomponent_kind (icalenums.h): written out in the header, stable within 3.x.
ICAL_ANY_COMPONENT = 1
LIBICAL = "libical.so.3"
LIBICAL_MISSING = (
    "libical 3 is not installed (Debian package libical3): the libical reader cannot run"
)

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "icalparser_parse_string": (ctypes.c_void_p, [ctypes.c_char_p]),
    "icalcomponent_free": (None, [ctypes.c_void_p]),
    "icalcomponent_isa": (ctypes.c_int, [ctypes.c_void_p]),
    "icalcomponent_kind_to_string": (ctypes.c_char_p, [ctypes.c_int]),
    "icalcomponent_string_to_kind": (ctypes.c_int, [ctypes.c_char_p]),
    "icalproperty_string_to_kind": (ctypes.c_int, [ctypes.c_char_p]),
    "icalcomponent_get_first_component": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "icalcomponent_get_next_component": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "icalcomponent_remove_component": (None, [ctypes.c_void_p, ctypes.c_void_p]),
    "icalcomponent_get_first_property": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "icalcomponent_get_next_property": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "icalcomponent_remove_property": (None, [ctypes.c_void_p, ctypes.c_void_p]),
    "icalproperty_free": (None, [ctypes.c_void_p]),
    "icalproperty_get_value_as_string": (ctypes.c_char_p, [ctypes.c_void_p]),
    "icalproperty_get_xlicerror": (ctypes.c_char_p, [ctypes.c_void_p]),
    "icalcomponent_get_uid": (ctypes.c_char_p, [ctypes.c_void_p]),
    "icalcomponent_get_dtstart": (IcalTime, [ctypes.c_void_p]),
    "icalproperty_get_datetime_with_component": (IcalTime, [ctypes.c_void_p, ctypes.c_void_p]),
    "icaltime_as_timet_with_zone": (TimeT, [IcalTime, ctypes.c_void_p]),
    "icaltimezone_get_utc_timezone": (ctypes.c_void_p, []),
    "icalcomponent_foreach_recurrence": (
        None,
        [ctypes.c_void_p, IcalTime, IcalTime, RecurrenceCallback, ctypes.c_void_p],
    ),
    "icalrestriction_check": (ctypes.c_int, [ctypes.c_void_p]),
    "icalerror_set_errors_are_fatal": (None, [ctypes.c_int]),
}


@functools.cache
def libical() -> ctypes.CDLL | None:
    """libical 3 with the signatures used here, or None where it is not installed."""
    try:
        lib = ctypes.CDLL(LIBICAL)
    except OSError:
        return None
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    # A build with fatal errors would abort the test process on a bad property.
    lib.icalerror_set_errors_are_fatal(0)
    return lib


def _need_libical() -> ctypes.CDLL:
    lib = libical()
    if lib is None:
        pytest.skip(LIBICAL_MISSING)
    return lib


class _Parsed:
    """A parsed calendar, freed on leaving the ``with``."""

    def __init__(self, lib: ctypes.CDLL, body: bytes) -> None:
        self.lib = lib
        root: int | None = lib.icalparser_parse_string(body)
        assert root, "libical could not parse the feed"
        kind = lib.icalcomponent_kind_to_string(lib.icalcomponent_isa(root))
        assert kind == b"VCALENDAR", f"libical read a {kind!r}, not one VCALENDAR"
        self.root: int = root

    def __enter__(self) -> _Parsed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lib.icalcomponent_free(self.root)

    def children(self, parent: int, kind: int = ICAL_ANY_COMPONENT) -> list[int]:
        # libical's component iterator lives in the parent: collect before working on them.
        found: list[int] = []
        child = self.lib.icalcomponent_get_first_component(parent, kind)
        while child:
            found.append(child)
            child = self.lib.icalcomponent_get_next_component(parent, kind)
        return found

    def walk(self, component: int) -> Iterator[int]:
        yield component
        for child in self.children(component):
            yield from self.walk(child)

    def values(self, component: int, name: str) -> list[str]:
        kind = self.lib.icalproperty_string_to_kind(name.encode())
        found: list[str] = []
        prop = self.lib.icalcomponent_get_first_property(component, kind)
        while prop:
            found.append((self.lib.icalproperty_get_value_as_string(prop) or b"").decode())
            prop = self.lib.icalcomponent_get_next_property(component, kind)
        return found

    def take_errors(self, component: int) -> list[str]:
        """The X-LIC-ERROR properties on one component, taken off it: what is on a
        component afterwards was added later (a freed property's address may be reused, so
        addresses cannot tell old from new)."""
        kind = self.lib.icalproperty_string_to_kind(b"X-LIC-ERROR")
        found: list[tuple[int, str]] = []
        prop = self.lib.icalcomponent_get_first_property(component, kind)
        while prop:
            found.append((prop, (self.lib.icalproperty_get_xlicerror(prop) or b"").decode()))
            prop = self.lib.icalcomponent_get_next_property(component, kind)
        for prop, _ in found:
            self.lib.icalcomponent_remove_property(component, prop)
            self.lib.icalproperty_free(prop)
        return [text for _, text in found]

    def label(self, component: int) -> str:
        kind = self.lib.icalcomponent_kind_to_string(self.lib.icalcomponent_isa(component))
        names = self.values(component, "UID") or self.values(component, "TZID")
        rid = self.values(component, "RECURRENCE-ID")
        return " ".join([kind.decode(), *names, *(f"RECURRENCE-ID={r}" for r in rid)])

    def timet(self, value: IcalTime) -> int:
        """libical's own conversion of a time in its zone (UTC if floating or a date)."""
        zone = value.zone or self.lib.icaltimezone_get_utc_timezone()
        seconds: int = self.lib.icaltime_as_timet_with_zone(value, zone)
        return seconds

    def spans(self, component: int, start: dt.datetime, end: dt.datetime) -> list[tuple[int, int]]:
        """What ``icalcomponent_foreach_recurrence`` calls back with between start and end."""
        found: list[tuple[int, int]] = []

        def collect(_component: int, span: ctypes._Pointer[IcalSpan], _data: int) -> None:
            found.append((span.contents.start, span.contents.end))

        callback = RecurrenceCallback(collect)
        self.lib.icalcomponent_foreach_recurrence(
            component, self._utc(start), self._utc(end), callback, None
        )
        return found

    def _utc(self, instant: dt.datetime) -> IcalTime:
        moment = instant.astimezone(UTC)
        return IcalTime(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second,
            0,
            0,
            self.lib.icaltimezone_get_utc_timezone(),
        )


def libical_spans(body: bytes, start: dt.datetime, end: dt.datetime) -> dict[str, list[Instance]]:
    """``icalcomponent_foreach_recurrence`` of each VEVENT as is, by ``UID`` and
    ``RECURRENCE-ID`` (``uid`` or ``uid RECURRENCE-ID``), for tests of libical itself."""
    lib = _need_libical()
    found: dict[str, list[Instance]] = {}
    with _Parsed(lib, body) as parsed:
        vevent = lib.icalcomponent_string_to_kind(b"VEVENT")
        for component in parsed.children(parsed.root, vevent):
            uid = (lib.icalcomponent_get_uid(component) or b"").decode()
            name = " ".join([uid, *parsed.values(component, "RECURRENCE-ID")])
            found[name] = [
                (uid, _from_timet(s), _from_timet(e))
                for s, e in parsed.spans(component, start, end)
            ]
    return found


def _from_timet(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


def libical_reader(body: bytes, window: Window, tzs: Zones) -> set[Instance]:
    """libical 3 as Evolution uses it: ``icalcomponent_foreach_recurrence`` on each master
    over the window, then each override's own span (``foreach_recurrence`` on the
    RECURRENCE-ID VEVENT, which has no RRULE, yields its DTSTART–DTEND).

    libical resolves a TZID against the VTIMEZONEs of the enclosing VCALENDAR first and
    only then against its builtin zones (``icalproperty_get_datetime_with_component``),
    so it reads the feed's own VTIMEZONEs. Its ``foreach_recurrence`` excludes only
    EXDATE and EXRULE, not the instances that a RECURRENCE-ID sibling replaces (3.0.16
    and 4.x alike: ``icalproperty_recurrence_is_excluded``); Evolution drops those
    itself, as done here: a master's instance whose start is the instant of an
    override's RECURRENCE-ID (converted by libical) is left out. Every instance lasts as
    many seconds as the master's own span: DTEND − DTSTART, or DTSTART plus a DURATION
    added on the wall clock (``icaltime_add``). All-day spans come back at UTC midnight
    and are placed at local midnight of the series' zone, like the other readers do.
    """
    lib = _need_libical()
    found: list[Instance] = []
    with _Parsed(lib, body) as parsed:
        vevent = lib.icalcomponent_string_to_kind(b"VEVENT")
        masters: list[tuple[str, int, bool]] = []
        replaced: dict[str, set[int]] = {}
        for component in parsed.children(parsed.root, vevent):
            uid = (lib.icalcomponent_get_uid(component) or b"").decode()
            all_day = bool(lib.icalcomponent_get_dtstart(component).is_date)
            cancelled = "CANCELLED" in parsed.values(component, "STATUS")
            rid = lib.icalcomponent_get_first_property(
                component, lib.icalproperty_string_to_kind(b"RECURRENCE-ID")
            )
            if not rid:
                if not cancelled:
                    masters.append((uid, component, all_day))
                continue
            # Not icalcomponent_get_recurrenceid: in 3.0.16 it drops the TZID, and reads
            # 10:00 Europe/Ljubljana as 10:00Z (fixed upstream after 3.0, "fix
            # recurrence-id timezones"); Evolution resolves the zone itself, as DTSTART is.
            at = lib.icalproperty_get_datetime_with_component(rid, component)
            replaced.setdefault(uid, set()).add(parsed.timet(at))
            if cancelled:
                continue
            for start, end in parsed.spans(component, window.start, window.end + MOVED_REACH):
                found.append(_libical_instance(uid, start, end, all_day, tzs))
        for uid, component, all_day in masters:
            for start, end in parsed.spans(component, window.start, window.end):
                if start in replaced.get(uid, set()):
                    continue
                found.append(_libical_instance(uid, start, end, all_day, tzs))
    return _overlapping(found, window)


def _libical_instance(uid: str, start: int, end: int, all_day: bool, tzs: Zones) -> Instance:
    if not all_day:
        return (uid, _from_timet(start), _from_timet(end))
    return (
        uid,
        _instant(_from_timet(start).date(), uid, tzs),
        _instant(_from_timet(end).date(), uid, tzs),
    )


def libical_problems(body: bytes) -> list[str]:
    """What libical rejects in a feed: the X-LIC-ERROR properties its parser adds, then
    those of ``icalrestriction_check`` (RFC 5546's property counts per component).

    ``icalrestriction_check`` stops at the first component that fails (``valid && …``),
    so each failing component is reported, taken out, and the check run again. Its 3.0.16
    check of one component repeats a failed property's message for every property kind
    after it (``funcr`` is not reset in the loop): a message is reported once.
    """
    lib = _need_libical()
    problems: list[str] = []
    with _Parsed(lib, body) as parsed:
        reported: set[str] = set()

        def new_errors() -> dict[int, list[str]]:
            """Unreported errors by the top-level component (or the calendar) they are in."""
            found: dict[int, list[str]] = {}
            for top in [parsed.root, *parsed.children(parsed.root)]:
                inner = [top] if top == parsed.root else list(parsed.walk(top))
                for component in inner:
                    for text in parsed.take_errors(component):
                        message = f"{parsed.label(component)}: {text}"
                        found.setdefault(top, [])
                        if message not in reported:
                            reported.add(message)
                            found[top].append(message)
            return found

        for messages in new_errors().values():
            problems += [f"parser: {m}" for m in messages]
        for _ in range(len(parsed.children(parsed.root)) + 1):
            valid = lib.icalrestriction_check(parsed.root)
            failed = new_errors()
            for messages in failed.values():
                problems += [f"restriction: {m}" for m in messages]
            if valid or not failed or parsed.root in failed:
                # A calendar that fails itself is not looked into any further by libical.
                break
            for component in failed:
                lib.icalcomponent_remove_component(parsed.root, component)
                lib.icalcomponent_free(component)
    return problems


READERS: dict[str, Reader] = {
    "recurring-ical-events": python_reader,
    "ical.js": node_reader,
    "dateutil": dateutil_reader,
    "libical": libical_reader,
}


def local_text(instant: dt.datetime, tz: ZoneInfo) -> str:
    """An instant as ``2027-03-28 03:30 CEST (01:30Z)``, to read a failure at a glance."""
    here = instant.astimezone(tz)
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()} ({instant.astimezone(UTC):%H:%MZ})"


def _shown(instances: Iterable[Instance], tz: ZoneInfo) -> str:
    return ", ".join(f"{local_text(s, tz)} – {local_text(e, tz)}" for _, s, e in sorted(instances))


def disagreements(expected: set[Instance], found: set[Instance], tzs: Zones) -> list[str]:
    """What a reader got wrong, by series: instances missing and instances not expected."""
    lines: list[str] = []
    for uid in sorted({i[0] for i in expected ^ found}):
        tz = zone_of(uid, tzs)
        missing = [i for i in expected - found if i[0] == uid]
        extra = [i for i in found - expected if i[0] == uid]
        lines.append(f"  {uid} ({tz.key})")
        lines.append(f"    expected, not read: {_shown(missing, tz) or '-'}")
        lines.append(f"    read, not expected: {_shown(extra, tz) or '-'}")
    return lines
