"""Every item of ICALENDAR.md, checked on the raw bytes of the feeds."""

from __future__ import annotations

import re
from collections import Counter

import httpx

from outreach.feeds.build import build_feed
from outreach.feeds.filters import FeedFilter, library_scope
from outreach.feeds.selection import today
from tests.feeds.conftest import EXHIBITION_MK, STORYTIME_SL, Programme, feeds_settings


def unfold(body: bytes) -> list[str]:
    return body.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def events_of(lines: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = []
        elif line == "END:VEVENT" and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def prop(event: list[str], name: str) -> list[str]:
    return [line for line in event if re.match(rf"^{name}[:;]", line)]


async def test_lines_end_in_crlf_and_fold_without_splitting_utf8(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    body = (await feeds_client.get("/feeds/networks/alpe-adria.ics")).content
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert body.count(b"\n") == body.count(b"\r\n")
    assert b"\r\r" not in body
    physical = body.split(b"\r\n")[:-1]
    for line in physical:
        assert len(line) <= 75, line
        line.decode("utf-8")  # raises if a fold split a character
    lines = unfold(body)
    summary_sl = (
        "SUMMARY:Pravljična ura: Žabec in čarobni čevlji\\; zgodbe\\, pesmi in igre za najmlajše"
    )
    summary_mk = f"SUMMARY:{EXHIBITION_MK}"
    assert summary_sl in lines
    assert summary_mk in lines
    # Both titles are longer than a line, so they were folded (into valid UTF-8 pieces).
    assert len(summary_sl.encode()) > 75
    assert len(summary_mk.encode()) > 75
    assert STORYTIME_SL.encode() not in body  # escaped and folded, never raw


async def test_text_is_escaped_and_control_characters_stripped(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    body = (await feeds_client.get("/feeds/ljubljana.ics")).content
    lines = unfold(body)
    storytime = programme.events["storytime"].id
    assert (
        "DESCRIPTION:Za otroke\\, starše\\; in stare starše.\\nPrinesite blazino \\\\ odejo."
        in lines
    )
    assert b"\x07" not in body
    # URIs are not escaped.
    assert f"URL:https://outreach.example.org/ljubljana/events/{storytime}" in lines
    assert (
        "LOCATION:Pravljična soba\\, Knjižnica Otona Župančiča\\, Kersnikova ulica 2\\, "
        "1000 Ljubljana" in lines
    )
    assert "GEO:46.053;14.504" in lines
    assert "CATEGORIES:Storytime,Ages 0–5,Families,A1 Branje za vse,Enakost" in lines


async def test_calendar_properties(programme: Programme, feeds_client: httpx.AsyncClient) -> None:
    response = await feeds_client.get("/feeds/ljubljana.ics", params={"lang": "en"})
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    lines = unfold(response.content)
    head = lines[: lines.index("BEGIN:VTIMEZONE")]
    assert head[:4] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Outreach//Library programme feeds//EN",
        "CALSCALE:GREGORIAN",
    ]
    assert "NAME:Ljubljana City Library" in head
    assert "X-WR-CALNAME:Ljubljana City Library" in head
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in head
    assert "X-PUBLISHED-TTL:PT1H" in head
    assert not [line for line in lines if line.startswith(("METHOD", "X-WR-TIMEZONE"))]
    # English titles where given, the library's language where not.
    assert "SUMMARY:Storytime: the frog and the magic shoes" in lines
    assert "SUMMARY:Pravljična ura (prestavljena)" in lines


async def test_zones_all_day_and_recurrence(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    lines = unfold((await feeds_client.get("/feeds/networks/alpe-adria.ics")).content)
    zones_defined = {line[5:] for line in lines if line.startswith("TZID:")}
    assert zones_defined == {"Europe/Ljubljana", "Europe/Helsinki"}  # Skopje: all-day only
    for line in lines:
        if re.match(r"^(DTSTART|DTEND|EXDATE|RECURRENCE-ID)[:;]", line) and not (
            re.match(r"^DTSTART:\d{8}T\d{6}$", line)  # inside VTIMEZONE: local by definition
        ):
            zone = re.search(r"TZID=([^:;]+)", line)
            assert zone or "VALUE=DATE" in line or line.endswith("Z"), f"floating: {line}"
            if zone:
                assert zone.group(1) in zones_defined
    events = events_of(lines)
    keys = Counter((prop(e, "UID")[0], (prop(e, "RECURRENCE-ID") or [""])[0]) for e in events)
    assert max(keys.values()) == 1
    storytime = [
        e
        for e in events
        if prop(e, "UID")[0].startswith(f"UID:outreach-event-{programme.events['storytime'].id}@")
    ]
    assert len(storytime) == 2  # one series and one moved occurrence, not copies
    master, moved = storytime
    assert prop(master, "DTSTART") == ["DTSTART;TZID=Europe/Ljubljana:20260303T100000"]
    assert prop(master, "RRULE") == ["RRULE:FREQ=WEEKLY;COUNT=40;BYDAY=TU"]
    assert prop(master, "EXDATE") == [
        "EXDATE;TZID=Europe/Ljubljana:20260407T100000,20261027T100000"
    ]
    assert prop(moved, "RECURRENCE-ID") == ["RECURRENCE-ID;TZID=Europe/Ljubljana:20260331T100000"]
    assert prop(moved, "DTSTART") == ["DTSTART;TZID=Europe/Ljubljana:20260401T160000"]
    # Both carry the series' SEQUENCE (revision 3 + override revisions 2 and 1).
    assert prop(master, "SEQUENCE") == prop(moved, "SEQUENCE") == ["SEQUENCE:6"]
    exhibition = next(e for e in events if f"SUMMARY:{EXHIBITION_MK}" in e)
    assert prop(exhibition, "DTSTART") == ["DTSTART;VALUE=DATE:20260320"]
    assert prop(exhibition, "DTEND") == ["DTEND;VALUE=DATE:20260411"]
    sale = next(e for e in events if "SUMMARY:Knjižni sejem\\, sobota" in e)
    assert prop(sale, "EXDATE") == ["EXDATE;VALUE=DATE:20261031"]
    # The Helsinki night in the spring gap (03:30 on 29 March does not exist): no rule
    # runs through it. The series ends the night before, the gap night is a VEVENT of
    # its own at 04:30 EEST, and the rest of the series goes on from 30 March (DAILY: the
    # period that holds the gap is that one day).
    spring = [e for e in events if "SUMMARY:Lukuyö: kevät" in e]
    night = programme.events["night_spring"].id
    assert [prop(e, "UID") for e in spring] == [
        [f"UID:outreach-event-{night}@outreach.example.org"],
        [f"UID:outreach-event-{night}-from-20260330T033000@outreach.example.org"],
        [f"UID:outreach-event-{night}-at-20260329T033000@outreach.example.org"],
    ]
    assert [prop(e, "RRULE") for e in spring] == [
        ["RRULE:FREQ=DAILY;UNTIL=20260328T013000Z"],
        ["RRULE:FREQ=DAILY;COUNT=1"],
        [],
    ]
    assert [prop(e, "DTSTART") + prop(e, "DTEND") for e in spring] == [
        [
            "DTSTART;TZID=Europe/Helsinki:20260327T033000",
            "DTEND;TZID=Europe/Helsinki:20260327T041500",
        ],
        [
            "DTSTART;TZID=Europe/Helsinki:20260330T033000",
            "DTEND;TZID=Europe/Helsinki:20260330T041500",
        ],
        [
            "DTSTART;TZID=Europe/Helsinki:20260329T043000",
            "DTEND;TZID=Europe/Helsinki:20260329T051500",
        ],
    ]
    assert not any(prop(e, "EXDATE") or prop(e, "RECURRENCE-ID") for e in spring)


async def test_only_published_public_events_and_public_stops(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    network = (await feeds_client.get("/feeds/networks/alpe-adria.ics")).content.decode()
    library = (await feeds_client.get("/feeds/ljubljana.ics")).content.decode()
    for body in (network, library):
        assert "Osnutek delavnice" not in body  # draft
        assert "Interno izobraževanje" not in body  # internal
        assert "Bežigrad" not in body  # private bookmobile stop
        assert "A lecture elsewhere" not in body  # another library, outside the network
        assert "Vič\\, pri šoli" in body
    events = events_of(unfold(library.encode()))
    cancelled = next(e for e in events if "SUMMARY:Predavanje o podnebju" in e)
    assert prop(cancelled, "STATUS") == ["STATUS:CANCELLED"]
    assert prop(cancelled, "SEQUENCE") == ["SEQUENCE:2"]
    stop = next(e for e in events if "SUMMARY:Bibliobus: Vič\\, pri šoli" in e)
    assert prop(stop, "DTSTART") == ["DTSTART;TZID=Europe/Ljubljana:20261007T093000"]
    assert prop(stop, "DTEND") == ["DTEND;TZID=Europe/Ljubljana:20261007T101500"]
    assert prop(stop, "RRULE") == ["RRULE:FREQ=WEEKLY;UNTIL=20261209T083000Z;BYDAY=WE"]


async def test_unchanged_data_gives_identical_bytes(programme: Programme) -> None:
    settings = feeds_settings()
    scope = await library_scope("ljubljana")
    first = await build_feed(scope, FeedFilter(), settings, day=today())
    second = await build_feed(scope, FeedFilter(), settings, day=today())
    assert first == second
    lines = unfold(first)
    stamps = [line for line in lines if line.startswith("DTSTAMP")]
    assert "DTSTAMP:20260205T083000Z" in stamps  # the storytime's last change, not "now"
