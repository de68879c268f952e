"""The event page in the reader's language: coming dates with moved and cancelled ones
marked in words, where it is, what it serves, add-to-calendar links (a calendar file of
one date or of the series, Google, Outlook) and schema.org data; nothing private."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from babel.dates import format_skeleton
from icalendar import Calendar
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import (
    Audience,
    Event,
    EventAudience,
    EventKind,
    EventLanguage,
    EventStatus,
    EventTag,
    Goal,
    Library,
    OccurrenceOverride,
    Room,
    Strategy,
    StrategyValue,
    Visibility,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.settings import Settings
from tests.databases import empty_database
from tests.factories import make_branch, make_library

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
UTC = dt.UTC
STAMP = dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SITE = "https://knjiznica.example.si"


@dataclass
class Fixture:
    library: Library
    club: Event
    spring: Event
    internal: Event
    draft: Event
    first: dt.datetime  # the club's first start (UTC)


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LJUBLJANA).astimezone(UTC)


async def _event(library: Library, **fields: Any) -> Event:
    defaults: dict[str, Any] = {
        "library": library,
        "timezone": "Europe/Ljubljana",
        "status": EventStatus.PUBLISHED,
        "visibility": Visibility.PUBLIC,
        "updated_at": STAMP,
    }
    event = await Event.create(**(defaults | fields))
    await EventLanguage.create(event=event, language="sl")
    return event


@pytest_asyncio.fixture(scope="module")
async def fx(backend: str) -> AsyncIterator[Fixture]:
    await empty_database()
    library = await make_library(
        "ljubljana",
        name={"sl": "Mestna knjižnica Ljubljana", "en": "Ljubljana City Library"},
        language="sl",
        languages=["sl", "en"],
    )
    branch = await make_branch(
        library,
        "oton",
        name="Knjižnica Otona Župančiča",
        address="Kersnikova ulica 2",
        postcode="1000",
        city="Ljubljana",
        lat=46.053,
        lon=14.504,
    )
    branch.accessibility = {
        "sl": "Vhod brez stopnic z ulice, dvigalo do vseh nadstropij.",
        "en": "Step-free entrance, a lift to every floor.",
    }
    await branch.save()
    room = await Room.create(
        branch=branch,
        slug="dvorana",
        name="Dvorana",
        capacity=40,
        accessibility={"sl": "Indukcijska zanka za slušne aparate."},
    )
    strategy = await Strategy.create(
        slug="mkl",
        library=library,
        name={"sl": "Strategija MKL", "en": "MKL strategy"},
        source_language="sl",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2030, 12, 31),
    )
    goal = await Goal.create(
        strategy=strategy, code="B2", name={"sl": "Bralna pismenost", "en": "Reading literacy"}
    )
    hidden_goal = await Goal.create(
        strategy=strategy, code="Z9", name={"sl": "Interno"}, internal=True
    )
    value = await StrategyValue.create(
        strategy=strategy, code="sozitje", name={"sl": "Sožitje", "en": "Living together"}
    )
    # A Saturday club from the first Saturday at least a week ahead, eight weeks long.
    today = dt.datetime.now(UTC).astimezone(LJUBLJANA).date()
    saturday = today + dt.timedelta(days=7 + (5 - today.weekday()) % 7)
    first = _local(saturday, 10)
    club = await _event(
        library,
        kind=EventKind.CLUB,
        title={"sl": "Bralni klub", "en": "Reading club"},
        description={"sl": "Pogovor o knjigi meseca."},
        starts_at=first,
        ends_at=_local(saturday, 11, 30),
        rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=8",
        branch=branch,
        room=room,
        capacity=20,
    )
    await EventAudience.create(event=club, audience=Audience.FAMILIES)
    await EventTag.create(event=club, goal=goal, primary=True)
    await EventTag.create(event=club, value=value)
    await EventTag.create(event=club, goal=hidden_goal)
    second, third = saturday + dt.timedelta(days=7), saturday + dt.timedelta(days=14)
    await OccurrenceOverride.create(
        event=club,
        original_start=_local(second, 10),
        starts_at=_local(second + dt.timedelta(days=1), 16),
        ends_at=_local(second + dt.timedelta(days=1), 17, 30),
        note="Zaradi praznika v nedeljo popoldne.",
        updated_at=STAMP,
    )
    await OccurrenceOverride.create(
        event=club, original_start=_local(third, 10), cancelled=True, updated_at=STAMP
    )
    # Sundays at 10:00 across the spring-forward night of 28 March 2027.
    spring = await _event(
        library,
        kind=EventKind.STORYTIME,
        title={"sl": "Pravljična ura"},
        starts_at=_local(dt.date(2027, 3, 21), 10),
        ends_at=_local(dt.date(2027, 3, 21), 11),
        rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=3",
        branch=branch,
    )
    internal = await _event(
        library,
        kind=EventKind.STAFF_TRAINING,
        title={"sl": "Interno izobraževanje"},
        starts_at=first,
        ends_at=first + dt.timedelta(hours=1),
        visibility=Visibility.INTERNAL,
    )
    draft = await _event(
        library,
        kind=EventKind.WORKSHOP,
        title={"sl": "Osnutek delavnice"},
        starts_at=first,
        ends_at=first + dt.timedelta(hours=1),
        status=EventStatus.DRAFT,
    )
    for event in (club, spring, internal, draft):
        await rebuild_occurrences(event)
    try:
        yield Fixture(library, club, spring, internal, draft, first)
    finally:
        await empty_database()


@pytest_asyncio.fixture
async def http(backend: str) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(
        Settings(database_url=backend, secret_key="k", base_url="http://127.0.0.1:8000"),
        manage_database=False,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as c:
        yield c


def _json_ld(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, flags=re.S)
    assert match is not None
    data: dict[str, object] = json.loads(match.group(1))
    return data


def _z(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def test_event_page_in_slovenian_marks_moved_and_cancelled_dates(
    fx: Fixture, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"/ljubljana/events/{fx.club.id}")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="sl">' in page
    assert "<h1>Bralni klub</h1>" in page
    assert "<h2>Prihodnji termini</h2>" in page
    first = fx.first.astimezone(LJUBLJANA)
    moved_from = first + dt.timedelta(days=7)
    # The second Saturday moved to Sunday afternoon, the third cancelled: said in words.
    words = f"{format_skeleton('yMMMEd', moved_from, locale='sl')}, 10:00"
    assert f'<strong class="changed">Prestavljeno s termina {words}</strong>' in page
    assert "Zaradi praznika v nedeljo popoldne." in page
    assert page.count('<strong class="changed">Odpovedano</strong>') == 1
    assert "Soba: Dvorana, Knjižnica Otona Župančiča, Kersnikova ulica 2, 1000 Ljubljana" in page
    assert "Prostor sprejme 40 oseb." in page
    # The room's access first, then the building's, in the page's language.
    assert page.index("<li>Dostop: Indukcijska zanka za slušne aparate.</li>") < page.index(
        "<li>Dostop: Vhod brez stopnic z ulice, dvigalo do vseh nadstropij.</li>"
    )
    # What it serves, in words, with its strategy; an internal goal never shows.
    assert "V strategiji »Strategija MKL« (2026–2030):" in page
    assert "cilj B2, Bralna pismenost (glavni namen dogodka)" in page
    assert "vrednota »Sožitje«" in page
    assert "Interno" not in page
    body = page.split("<main>", 1)[1]
    for english in ("Coming dates", "Cancelled", "Moved from", "Add to calendar", "Where"):
        assert english not in body


async def test_event_page_in_macedonian_when_asked(fx: Fixture, http: httpx.AsyncClient) -> None:
    page = (await http.get(f"/ljubljana/events/{fx.club.id}?lang=mk")).text
    assert '<html lang="mk">' in page
    assert "<h2>Претстојни термини</h2>" in page
    assert "Откажано" in page
    assert "Додај во календар" in page
    # Content has no Macedonian: it falls back to the library's language, and says so.
    assert '<h1 lang="sl">Bralni klub</h1>' in page
    assert '<p lang="sl">Pogovor o knjigi meseca.</p>' in page


async def test_add_to_calendar_links(fx: Fixture, http: httpx.AsyncClient) -> None:
    page = (await http.get(f"/ljubljana/events/{fx.club.id}?lang=en")).text
    start, end = fx.first, fx.first + dt.timedelta(minutes=90)
    ics = f"/ljubljana/events/{fx.club.id}/{_z(start)}.ics"
    assert f'<a href="{ics}" rel="nofollow" type="text/calendar">' in page
    assert f'<a href="/ljubljana/events/{fx.club.id}.ics" rel="nofollow"' in page
    links = re.findall(r'href="(https://[^"]+)" rel="nofollow noopener"', page)
    google = parse_qs(urlsplit(links[0].replace("&amp;", "&")).query)
    assert urlsplit(links[0]).netloc == "calendar.google.com"
    assert google["dates"] == [f"{_z(start)}/{_z(end)}"]
    assert google["ctz"] == ["Europe/Ljubljana"]
    # The page is in English, and so is the title where the event has one.
    assert google["text"] == ["Reading club"]
    assert google["location"] == [
        "Dvorana, Knjižnica Otona Župančiča, Kersnikova ulica 2, 1000 Ljubljana"
    ]
    assert google["details"] == [
        f"Pogovor o knjigi meseca.\n\n{SITE}/ljubljana/events/{fx.club.id}"
    ]
    for link, host in ((links[1], "outlook.live.com"), (links[2], "outlook.office.com")):
        outlook = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
        assert urlsplit(link).netloc == host
        assert outlook["startdt"] == [start.strftime("%Y-%m-%dT%H:%M:%SZ")]
        assert outlook["enddt"] == [end.strftime("%Y-%m-%dT%H:%M:%SZ")]
        assert outlook["allday"] == ["false"]
        assert outlook["subject"] == ["Reading club"]


async def test_json_ld_parses_with_exact_values(fx: Fixture, http: httpx.AsyncClient) -> None:
    data = _json_ld((await http.get(f"/ljubljana/events/{fx.club.id}")).text)
    graph = data["@graph"]
    assert isinstance(graph, list)
    assert len(graph) == 8
    first = fx.first.astimezone(LJUBLJANA)
    assert graph[0] == {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": "Bralni klub",
        "description": "Pogovor o knjigi meseca.",
        "url": f"{SITE}/ljubljana/events/{fx.club.id}",
        "startDate": first.isoformat(),
        "endDate": (first + dt.timedelta(minutes=90)).isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "isAccessibleForFree": True,
        "inLanguage": ["sl"],
        "audience": {"@type": "Audience", "audienceType": "Družine"},
        "location": {
            "@type": "Place",
            "name": "Knjižnica Otona Župančiča",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": "Kersnikova ulica 2",
                "postalCode": "1000",
                "addressLocality": "Ljubljana",
            },
            "geo": {"@type": "GeoCoordinates", "latitude": 46.053, "longitude": 14.504},
        },
        "organizer": {
            "@type": "Organization",
            "name": "Mestna knjižnica Ljubljana",
            "url": f"{SITE}/ljubljana/",
        },
        "offers": {
            "@type": "Offer",
            "url": f"{SITE}/ljubljana/events/{fx.club.id}/register",
            "availability": "https://schema.org/InStock",
        },
    }
    moved = graph[1]
    assert isinstance(moved, dict)
    moved_start = (first + dt.timedelta(days=8)).replace(hour=16)
    assert moved["eventStatus"] == "https://schema.org/EventRescheduled"
    assert moved["startDate"] == moved_start.isoformat()
    assert moved["previousStartDate"] == (first + dt.timedelta(days=7)).isoformat()
    cancelled = graph[2]
    assert isinstance(cancelled, dict)
    assert cancelled["eventStatus"] == "https://schema.org/EventCancelled"
    assert "offers" not in cancelled


async def test_one_date_as_a_calendar_file(fx: Fixture, http: httpx.AsyncClient) -> None:
    moved_original = fx.first + dt.timedelta(days=7)
    response = await http.get(f"/ljubljana/events/{fx.club.id}/{_z(moved_original)}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="ljubljana-')
    body = response.content
    assert body.endswith(b"END:VCALENDAR\r\n")
    cal = Calendar.from_ical(body)
    [vevent] = cal.walk("VEVENT")
    [vtimezone] = cal.walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/Ljubljana"
    moved_start = (moved_original.astimezone(LJUBLJANA) + dt.timedelta(days=1)).replace(hour=16)
    assert vevent.decoded("DTSTART") == moved_start
    assert vevent.decoded("DTEND") == moved_start + dt.timedelta(minutes=90)
    assert b"DTSTART;TZID=Europe/Ljubljana:" in body
    assert "RRULE" not in vevent
    assert "RECURRENCE-ID" not in vevent
    local = moved_original.astimezone(LJUBLJANA)
    assert str(vevent["UID"]) == (
        f"outreach-event-{fx.club.id}-at-{local:%Y%m%dT%H%M%S}@knjiznica.example.si"
    )
    assert str(vevent["SUMMARY"]) == "Bralni klub"
    assert str(vevent["URL"]) == f"{SITE}/ljubljana/events/{fx.club.id}"


async def test_one_date_reads_right_across_spring_forward(
    fx: Fixture, http: httpx.AsyncClient
) -> None:
    for day, utc_hour in ((dt.date(2027, 3, 21), 9), (dt.date(2027, 3, 28), 8)):
        start = _local(day, 10)
        assert start.hour == utc_hour
        body = (await http.get(f"/ljubljana/events/{fx.spring.id}/{_z(start)}.ics")).content
        assert f"DTSTART;TZID=Europe/Ljubljana:{day:%Y%m%d}T100000\r\n".encode() in body
        [vevent] = Calendar.from_ical(body).walk("VEVENT")
        assert vevent.decoded("DTSTART").astimezone(UTC) == start
        assert vevent.decoded("DTEND").astimezone(UTC) == start + dt.timedelta(hours=1)


async def test_the_series_as_a_calendar_file(fx: Fixture, http: httpx.AsyncClient) -> None:
    response = await http.get(f"/ljubljana/events/{fx.club.id}.ics")
    assert response.status_code == 200
    cal = Calendar.from_ical(response.content)
    vevents = cal.walk("VEVENT")
    master = [v for v in vevents if "RRULE" in v]
    assert len(master) == 1
    assert master[0]["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=8;BYDAY=SA"
    # The moved date is an override of the series; the cancelled one is gone from it.
    overrides = [v for v in vevents if "RECURRENCE-ID" in v]
    assert [o.decoded("RECURRENCE-ID").astimezone(UTC) for o in overrides] == [
        fx.first + dt.timedelta(days=7)
    ]
    exdates = master[0]["EXDATE"]
    assert [x.dt.astimezone(UTC) for x in exdates.dts] == [  # type: ignore[union-attr]
        fx.first + dt.timedelta(days=14)
    ]
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Ljubljana"]


async def test_private_events_have_no_page_and_no_files(
    fx: Fixture, http: httpx.AsyncClient
) -> None:
    for event in (fx.internal, fx.draft):
        for path in (
            f"/ljubljana/events/{event.id}",
            f"/ljubljana/events/{event.id}.ics",
            f"/ljubljana/events/{event.id}/{_z(fx.first)}.ics",
        ):
            response = await http.get(path)
            assert response.status_code == 404
            assert response.json() == {"error": "event not found"}
    missing = await http.get(f"/ljubljana/events/{fx.club.id}/20200101T000000Z.ics")
    assert missing.json() == {"error": "occurrence not found"}
    garbled = await http.get(f"/ljubljana/events/{fx.club.id}/tomorrow.ics")
    assert garbled.status_code == 404
