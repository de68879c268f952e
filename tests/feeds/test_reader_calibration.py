"""The readers themselves, proven on hand-written calendars whose answer is known.

Before a reader may judge our feeds it must read a plain calendar right: a weekly series
across the spring change of 2026 with an EXDATE and a moved RECURRENCE-ID, a cancelled
override, and an all-day event across the autumn change, in a VTIMEZONE written the way
most publishers write one (yearly RRULE observances), not the way our feeds do.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outreach.feeds.selection import Window
from tests.feeds.readers import (
    READERS,
    Instance,
    Length,
    Reader,
    content_line,
    disagreements,
    libical_problems,
    libical_spans,
    local_text,
)

UTC = dt.UTC
LJUBLJANA = ZoneInfo("Europe/Ljubljana")
ZONES = {f"outreach-event-{n}": LJUBLJANA for n in (1, 2, 3)}
STORY = "outreach-event-1@outreach.example.org"
FAIR = "outreach-event-2@outreach.example.org"
CLUB = "outreach-event-3@outreach.example.org"
WINDOW = Window(
    start=dt.datetime(2026, 1, 1, tzinfo=UTC),
    end=dt.datetime(2027, 1, 1, tzinfo=UTC),
    grace_start=dt.datetime(2026, 1, 1, tzinfo=UTC),
)

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Ljubljana
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""

# Tuesdays 10:00–11:00 local from 17 March, six times, across 29 March 2026 (CET→CEST):
# 7 April is an EXDATE, 31 March moves to Wednesday 1 April 16:00–17:00, 14 April is
# cancelled by an override. The club (half an hour, as a DURATION) meets at the times of
# the story hour's moved and excluded instances: neither applies to it (ical.js 2 would
# relate every override in the calendar to every series unless told not to). The book
# fair runs Saturday 24 to Sunday 25 October, the day the clocks go back (DTEND is the
# exclusive day after).
CALENDAR = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Outreach//Reader calibration//EN
CALSCALE:GREGORIAN
{VTIMEZONE}BEGIN:VEVENT
UID:{STORY}
DTSTAMP:20260201T083000Z
DTSTART;TZID=Europe/Ljubljana:20260317T100000
DTEND;TZID=Europe/Ljubljana:20260317T110000
RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6
EXDATE;TZID=Europe/Ljubljana:20260407T100000
SUMMARY:Pravljična ura
END:VEVENT
BEGIN:VEVENT
UID:{STORY}
DTSTAMP:20260201T083000Z
RECURRENCE-ID;TZID=Europe/Ljubljana:20260331T100000
DTSTART;TZID=Europe/Ljubljana:20260401T160000
DTEND;TZID=Europe/Ljubljana:20260401T170000
SUMMARY:Pravljična ura (prestavljena)
END:VEVENT
BEGIN:VEVENT
UID:{STORY}
DTSTAMP:20260201T083000Z
RECURRENCE-ID;TZID=Europe/Ljubljana:20260414T100000
DTSTART;TZID=Europe/Ljubljana:20260414T100000
DTEND;TZID=Europe/Ljubljana:20260414T110000
STATUS:CANCELLED
SUMMARY:Pravljična ura
END:VEVENT
BEGIN:VEVENT
UID:{CLUB}
DTSTAMP:20260201T083000Z
DTSTART;TZID=Europe/Ljubljana:20260331T100000
DURATION:PT30M
RRULE:FREQ=WEEKLY;COUNT=2
SUMMARY:Bralni klub
END:VEVENT
BEGIN:VEVENT
UID:{FAIR}
DTSTAMP:20260201T083000Z
DTSTART;VALUE=DATE:20261024
DTEND;VALUE=DATE:20261026
SUMMARY:Knjižni sejem
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n").encode()

# Worked out by hand: CET is UTC+1, CEST UTC+2; local midnight 24 October is 22:00Z the
# day before (CEST), local midnight 26 October 23:00Z on the 25th (CET).
EXPECTED: set[Instance] = {
    (STORY, dt.datetime(2026, 3, 17, 9, tzinfo=UTC), dt.datetime(2026, 3, 17, 10, tzinfo=UTC)),
    (STORY, dt.datetime(2026, 3, 24, 9, tzinfo=UTC), dt.datetime(2026, 3, 24, 10, tzinfo=UTC)),
    (STORY, dt.datetime(2026, 4, 1, 14, tzinfo=UTC), dt.datetime(2026, 4, 1, 15, tzinfo=UTC)),
    (STORY, dt.datetime(2026, 4, 21, 8, tzinfo=UTC), dt.datetime(2026, 4, 21, 9, tzinfo=UTC)),
    (CLUB, dt.datetime(2026, 3, 31, 8, tzinfo=UTC), dt.datetime(2026, 3, 31, 8, 30, tzinfo=UTC)),
    (CLUB, dt.datetime(2026, 4, 7, 8, tzinfo=UTC), dt.datetime(2026, 4, 7, 8, 30, tzinfo=UTC)),
    (FAIR, dt.datetime(2026, 10, 23, 22, tzinfo=UTC), dt.datetime(2026, 10, 25, 23, tzinfo=UTC)),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_reader_reads_a_known_calendar(name: str) -> None:
    assert READERS[name](CALENDAR, WINDOW, ZONES) == EXPECTED


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_reader_keeps_to_the_window(name: str) -> None:
    """Only what overlaps the window: the fair's last hour, and the last Tuesday."""
    window = Window(
        start=dt.datetime(2026, 4, 21, 8, 30, tzinfo=UTC),
        end=dt.datetime(2026, 10, 25, 22, 30, tzinfo=UTC),
        grace_start=dt.datetime(2026, 4, 21, tzinfo=UTC),
    )
    assert READERS[name](CALENDAR, window, ZONES) == {
        (STORY, dt.datetime(2026, 4, 21, 8, tzinfo=UTC), dt.datetime(2026, 4, 21, 9, tzinfo=UTC)),
        (
            FAIR,
            dt.datetime(2026, 10, 23, 22, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 23, tzinfo=UTC),
        ),
    }


# Daily 02:30–03:15 in Ljubljana from Saturday 28 March 2027, four times: 02:30 on
# Sunday 28 March does not exist (02:00 CET → 03:00 CEST). RFC 5545 3.3.5 reads it with
# the offset before the gap, 01:30Z, i.e. 03:30 CEST.
GAP_CALENDAR = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Outreach//Reader calibration//EN
{VTIMEZONE}BEGIN:VEVENT
UID:{STORY}
DTSTAMP:20260201T083000Z
DTSTART;TZID=Europe/Ljubljana:20270327T023000
DTEND;TZID=Europe/Ljubljana:20270327T031500
RRULE:FREQ=DAILY;COUNT=4
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n").encode()


GAP_WINDOW = Window(
    start=dt.datetime(2027, 1, 1, tzinfo=UTC),
    end=dt.datetime(2028, 1, 1, tzinfo=UTC),
    grace_start=dt.datetime(2027, 1, 1, tzinfo=UTC),
)


def _march_2027(*spans: tuple[int, str, str]) -> set[Instance]:
    """Instances by day of March 2027 and UTC clock times ("01:30")."""

    def at(day: int, clock: str) -> dt.datetime:
        hour, minute = map(int, clock.split(":"))
        return dt.datetime(2027, 3, day, hour, minute, tzinfo=UTC)

    return {(STORY, at(day, start), at(day, end)) for day, start, end in spans}


RFC_GAP = _march_2027(
    (27, "01:30", "02:15"), (28, "01:30", "02:15"), (29, "00:30", "01:15"), (30, "00:30", "01:15")
)
# What each client makes of the gap instance (and of the one after it), measured and
# pinned so that a reader whose behaviour changes with its version is noticed.
GAP_READINGS = {
    "dateutil": RFC_GAP,
    # The start as RFC 5545 says, but the end on wall-clock time: 03:15 CEST, 01:15Z, a
    # quarter of an hour before the start.
    "recurring-ical-events": _march_2027(
        (27, "01:30", "02:15"),
        (28, "01:30", "01:15"),
        (29, "00:30", "01:15"),
        (30, "00:30", "01:15"),
    ),
    # The offset after the gap: 02:30 read as CEST, 00:30Z, an hour early.
    "ical.js": _march_2027(
        (27, "01:30", "02:15"),
        (28, "00:30", "01:15"),
        (29, "00:30", "01:15"),
        (30, "00:30", "01:15"),
    ),
    # RFC 5545's 03:30 CEST for the gap instance, but libical's iterator then keeps 03:30
    # for the next day too (ICALENDAR.md item 16), and only the third is 02:30 again.
    "libical": _march_2027(
        (27, "01:30", "02:15"),
        (28, "01:30", "02:15"),
        (29, "01:30", "02:15"),
        (30, "00:30", "01:15"),
    ),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_how_each_reader_reads_a_start_in_the_gap(name: str) -> None:
    reader: Reader = READERS[name]
    assert reader(GAP_CALENDAR, GAP_WINDOW, ZONES) == GAP_READINGS[name]


def test_libical_does_not_drop_overridden_instances_itself() -> None:
    """foreach_recurrence yields the 31 March instance although an override replaces it:
    dropping it is the caller's job (as in Evolution), which libical_reader does."""
    spans = libical_spans(CALENDAR, WINDOW.start, WINDOW.end)
    starts = sorted(start for _, start, _ in spans[STORY])
    assert starts == [
        dt.datetime(2026, 3, 17, 9, tzinfo=UTC),
        dt.datetime(2026, 3, 24, 9, tzinfo=UTC),
        dt.datetime(2026, 3, 31, 8, tzinfo=UTC),
        dt.datetime(2026, 4, 14, 8, tzinfo=UTC),
        dt.datetime(2026, 4, 21, 8, tzinfo=UTC),
    ]
    assert spans[f"{STORY} 20260331T100000"] == [
        (STORY, dt.datetime(2026, 4, 1, 14, tzinfo=UTC), dt.datetime(2026, 4, 1, 15, tzinfo=UTC))
    ]


def test_libical_accepts_a_plain_calendar() -> None:
    assert libical_problems(CALENDAR) == []


# Three things libical rejects: a COMMENT in a VTIMEZONE (RFC 5546 allows none there),
# in two zones, a VEVENT with both DTEND and DURATION, and a GEO it cannot parse.
REJECTED = (
    CALENDAR.decode()
    .replace("TZID:Europe/Ljubljana\r\n", "TZID:Europe/Ljubljana\r\nCOMMENT:by hand\r\n", 1)
    .replace(
        "END:VCALENDAR",
        VTIMEZONE.replace("\n", "\r\n").replace(
            "TZID:Europe/Ljubljana\r\n", "TZID:Europe/Skopje\r\nCOMMENT:also\r\n"
        )
        + "BEGIN:VEVENT\r\nUID:x@example.org\r\nDTSTAMP:20260201T083000Z\r\n"
        "DTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nDURATION:PT1H\r\n"
        "GEO:north\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )
    .encode()
)


def test_libical_reports_everything_it_rejects() -> None:
    """Parse errors first, then every failing component, not only the first one, each
    once (libical's parser puts the VTIMEZONEs first, the last one read first)."""
    assert libical_problems(REJECTED) == [
        "parser: VEVENT x@example.org: Can't parse as GEO value in GEO property."
        " Removing entire property: north",
        "restriction: VTIMEZONE Europe/Skopje: Failed iTIP restrictions for COMMENT"
        " property. Expected 0 instances of the property and got 1",
        "restriction: VTIMEZONE Europe/Ljubljana: Failed iTIP restrictions for COMMENT"
        " property. Expected 0 instances of the property and got 1",
        "restriction: VEVENT x@example.org: Failed iTIP restrictions for DTEND property."
        " The component must not have both DURATION and DTEND",
    ]


def test_durations_add_days_on_the_wall_clock_and_hours_exactly() -> None:
    """RFC 5545 3.3.6, across 29 March 2026 (CET → CEST) in Ljubljana."""
    saturday = dt.datetime(2026, 3, 28, 10, tzinfo=LJUBLJANA)
    assert Length.of("P1D").after(saturday) == dt.datetime(2026, 3, 29, 8, tzinfo=UTC)
    assert Length.of("PT24H").after(saturday) == dt.datetime(2026, 3, 29, 9, tzinfo=UTC)
    assert Length.of("P1W").after(dt.date(2026, 3, 28)) == dt.date(2026, 4, 4)
    assert Length.of("P1DT2H30M15S") == Length(1, dt.timedelta(hours=2, minutes=30, seconds=15))
    assert Length.of("-PT15M") == Length(0, dt.timedelta(minutes=-15))


def test_content_lines_keep_quoted_parameters_whole() -> None:
    line = content_line('DTSTART;TZID="Europe/Ljubljana";X-A="a;b:c":20260317T100000')
    assert (line.name, line.params, line.value) == (
        "DTSTART",
        {"TZID": "Europe/Ljubljana", "X-A": "a;b:c"},
        "20260317T100000",
    )


def test_disagreements_show_both_sides_in_local_time() -> None:
    start = dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    read = {(STORY, start - dt.timedelta(hours=1), start)}
    expected = {(STORY, start, start + dt.timedelta(hours=1))}
    assert local_text(start, LJUBLJANA) == "2026-03-29 03:30 CEST (01:30Z)"
    assert disagreements(expected, read, ZONES) == [
        f"  {STORY} (Europe/Ljubljana)",
        "    expected, not read: 2026-03-29 03:30 CEST (01:30Z) – 2026-03-29 04:30 CEST (02:30Z)",
        "    read, not expected: 2026-03-29 01:30 CET (00:30Z) – 2026-03-29 03:30 CEST (01:30Z)",
    ]
