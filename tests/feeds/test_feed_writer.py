"""The VEVENT writer (``ical.write``) writes what icalendar writes for the same fields,
byte for byte: every kind of value a feed's VEVENT can hold, and text that needs escaping
and folding. Whole feeds are compared in test_feed_assembly."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from outreach.feeds import ical

UTC = dt.UTC
LJUBLJANA = ZoneInfo("Europe/Ljubljana")
STAMP = dt.datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
# Zone names as icalendar writes them: its own name, a name it writes as one of its
# equivalents, and zones it counts as UTC (written with Z, no TZID).
ZONES = [
    LJUBLJANA,
    ZoneInfo("Europe/Helsinki"),
    ZoneInfo("America/Argentina/Buenos_Aires"),
    ZoneInfo("Arctic/Longyearbyen"),
    ZoneInfo("Etc/UTC"),
    ZoneInfo("UTC"),
    UTC,
    dt.timezone(dt.timedelta(hours=2)),
]
RULES = [
    None,
    "FREQ=WEEKLY;COUNT=20",
    "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270101T000000Z;INTERVAL=2",
    "BYMONTH=3;FREQ=YEARLY;BYDAY=-1SU",
    "FREQ=MONTHLY;BYDAY=-1FR;WKST=SU",
]


def fields(**changes: object) -> ical.Fields:
    base = ical.Fields(
        uid="outreach-event-7@outreach.example.org",
        summary="Pravljična ura",
        start=dt.datetime(2026, 3, 3, 10, tzinfo=LJUBLJANA),
        end=dt.datetime(2026, 3, 3, 11, tzinfo=LJUBLJANA),
        duration=None,
        stamp=STAMP,
        sequence=3,
        status="CONFIRMED",
        url="https://outreach.example.org/ljubljana/events/7",
        location="Osrednja knjižnica, Trg 1, 1000 Ljubljana",
        description="Vsi vabljeni.",
        categories=("Storytime", "Ages 0–5"),
        recurrence_id=None,
        geo=(46.05, 14.5),
    )
    return ical.Fields(**{**{k: getattr(base, k) for k in base.__slots__}, **changes})  # type: ignore[arg-type]


def icalendar_bytes(one: ical.Fields) -> bytes:
    return ical.components_bytes([ical.component(one)])


def test_a_plain_master_is_written_as_icalendar_writes_it() -> None:
    one = fields()
    assert ical.write(one) == icalendar_bytes(one)
    assert ical.write(one).decode().splitlines() == [
        "BEGIN:VEVENT",
        "SUMMARY:Pravljična ura",
        "DTSTART;TZID=Europe/Ljubljana:20260303T100000",
        "DTEND;TZID=Europe/Ljubljana:20260303T110000",
        "DTSTAMP:20260201T083000Z",
        "UID:outreach-event-7@outreach.example.org",
        "SEQUENCE:3",
        "CATEGORIES:Storytime,Ages 0–5",
        "DESCRIPTION:Vsi vabljeni.",
        "GEO:46.05;14.5",
        "LAST-MODIFIED:20260201T083000Z",
        "LOCATION:Osrednja knjižnica\\, Trg 1\\, 1000 Ljubljana",
        "STATUS:CONFIRMED",
        "URL:https://outreach.example.org/ljubljana/events/7",
        "END:VEVENT",
    ]


zones = st.sampled_from([*ZONES, None])
texts = st.text(alphabet="aZN09 ,;:\\\n\r\"'čžšЉљ–€😀", max_size=120)
instants = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2090, 12, 31),  # noqa: DTZ001
).map(lambda x: x.replace(microsecond=0))
zoned = st.builds(lambda local, zone: local.replace(tzinfo=zone), instants, st.sampled_from(ZONES))
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))
times: st.SearchStrategy[dt.date | dt.datetime] = st.one_of(zoned, dates)


@st.composite
def exdates(draw: st.DrawFn) -> tuple[dt.date | dt.datetime, ...]:
    """Exdates as a series has them: all dates, or all times (in one zone, or mixed)."""
    kind = draw(st.sampled_from(["dates", "one zone", "zones"]))
    if kind == "dates":
        return tuple(draw(st.lists(dates, max_size=4)))
    if kind == "one zone":
        zone = draw(st.sampled_from(ZONES))
        return tuple(x.replace(tzinfo=zone) for x in draw(st.lists(instants, max_size=4)))
    return tuple(draw(st.lists(zoned, max_size=4)))


@settings(max_examples=300, deadline=None)
@given(
    summary=texts,
    start=times,
    end=st.none() | st.tuples(st.timedeltas(dt.timedelta(0), dt.timedelta(days=40)), zones),
    duration=st.none() | st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)),
    stamp=zoned,
    sequence=st.integers(0, 10_000),
    status=st.sampled_from(["CONFIRMED", "CANCELLED"]),
    location=st.none() | texts,
    description=st.none() | texts,
    categories=st.lists(texts, max_size=4).map(tuple),
    recurrence_id=st.none() | times,
    geo=st.none() | st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    rule=st.sampled_from(RULES),
    exdates=exdates(),
)
@example(
    summary="",
    start=dt.date(2026, 7, 1),
    end=(dt.timedelta(days=1), None),
    duration=None,
    stamp=STAMP,
    sequence=0,
    status="CONFIRMED",
    location=None,
    description=None,
    categories=(),
    recurrence_id=dt.date(2026, 7, 1),
    geo=(46, 14),
    rule="FREQ=DAILY;COUNT=3",
    exdates=(dt.date(2026, 7, 2),),
)
@example(
    summary="Ž" * 80,
    start=dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
    end=None,
    duration=dt.timedelta(hours=1, minutes=30, seconds=5),
    stamp=dt.datetime(2026, 10, 25, 4, 30, tzinfo=LJUBLJANA),
    sequence=12,
    status="CANCELLED",
    location="; ,\\" * 30,
    description="Danes v veliki dvorani\n\nVsi vabljeni, vstop prost.",
    categories=("A1 Pismenost, branje", "Ages 0–5"),
    recurrence_id=dt.datetime(2026, 10, 25, 2, 30, tzinfo=LJUBLJANA),
    geo=None,
    rule=None,
    exdates=(),
)
def test_the_writer_writes_what_icalendar_writes(
    summary: str,
    start: dt.date | dt.datetime,
    end: tuple[dt.timedelta, dt.tzinfo | None] | None,
    duration: dt.timedelta | None,
    stamp: dt.datetime,
    sequence: int,
    status: str,
    location: str | None,
    description: str | None,
    categories: tuple[str, ...],
    recurrence_id: dt.date | dt.datetime | None,
    geo: tuple[float, float] | None,
    rule: str | None,
    exdates: tuple[dt.date | dt.datetime, ...],
) -> None:
    # An end after the start (icalendar refuses others), as a date after a date, or as a
    # time in the start's zone or in another.
    last: dt.date | dt.datetime | None = None
    if end is not None:
        length, zone = end
        if isinstance(start, dt.datetime):
            last = start + length if zone is None else (start + length).astimezone(zone)
        else:
            last = start + dt.timedelta(days=length.days)
    one = fields(
        summary=ical.clean(summary),
        start=start,
        end=last,
        duration=duration,
        stamp=stamp,
        sequence=sequence,
        status=status,
        location=None if location is None else ical.clean(location),
        description=None if description is None else ical.clean(description),
        categories=tuple(ical.clean(c) for c in categories),
        recurrence_id=recurrence_id,
        geo=geo,
        rule=rule,
        exdates=exdates,
    )
    assert ical.write(one) == icalendar_bytes(one)
