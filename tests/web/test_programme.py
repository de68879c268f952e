"""The programme page: filters, search in Slovenian, Macedonian and Finnish, list, week and
month views with their navigation, paging, the subscribe box of the current filter, and
bad filters as a page with each problem beside its field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

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
    StrategyValue,
    Visibility,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from tests.databases import empty_database
from tests.factories import make_branch, make_library, make_strategy
from tests.feeds.conftest import feeds_settings

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
FEED = "https://outreach.example.org/feeds"


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local wall-clock time as a UTC instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(dt.UTC)


@dataclass
class Catalogue:
    kranj: Library
    events: dict[str, Event]


async def _event(library: Library, key: str, events: dict[str, Event], **fields: Any) -> None:
    audiences: list[Audience] = fields.pop("audiences", [])
    languages: list[str] = fields.pop("languages", [library.default_language])
    tags: list[Goal | StrategyValue] = fields.pop("tags", [])
    hours = fields.pop("hours", 1)
    fields.setdefault("ends_at", fields["starts_at"] + dt.timedelta(hours=hours))
    event = await Event.create(
        library=library,
        timezone=library.timezone,
        status=fields.pop("status", EventStatus.PUBLISHED),
        visibility=fields.pop("visibility", Visibility.PUBLIC),
        description=fields.pop("description", {}),
        updated_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        **fields,
    )
    for audience in audiences:
        await EventAudience.create(event=event, audience=audience)
    for language in languages:
        await EventLanguage.create(event=event, language=language)
    for tag in tags:
        if isinstance(tag, Goal):
            await EventTag.create(event=event, goal=tag, primary=True)
        else:
            await EventTag.create(event=event, value=tag)
    await rebuild_occurrences(event)
    events[key] = event


async def build() -> Catalogue:
    kranj = await make_library(
        "kranj",
        name={"sl": "Mestna knjižnica Kranj", "en": "Kranj City Library"},
        languages=["sl", "en"],
    )
    center = await make_branch(kranj, "center", name="Osrednja knjižnica")
    primskovo = await make_branch(kranj, "primskovo", name="Knjižnica Primskovo")
    strategy = await make_strategy(library=kranj)
    goal = await Goal.get(strategy=strategy, code="A1")
    value = await StrategyValue.get(strategy=strategy, code="rohkeus")
    skopje = await make_library("skopje", timezone="Europe/Skopje", language="mk")
    rovaniemi = await make_library("rovaniemi", timezone="Europe/Helsinki", language="fi")
    events: dict[str, Event] = {}
    # 1 November 2026 is a Sunday: the last cell of the month's first week.
    await _event(
        kranj,
        "workshop",
        events,
        kind=EventKind.WORKSHOP,
        title={"sl": "Ustvarjalna delavnica za otroke", "en": "Creative workshop for children"},
        starts_at=at(LJUBLJANA, 2026, 11, 1, 10),
        branch=center,
        audiences=[Audience.AGES_6_11],
        languages=["sl", "en"],
        tags=[goal],
    )
    await _event(
        kranj,
        "debate",
        events,
        kind=EventKind.DEMOCRACY,
        title={"sl": "Sodelovanje v skupnosti"},
        description={"sl": "Večer čitanja in pogovora."},
        starts_at=at(LJUBLJANA, 2026, 11, 30, 18),
        branch=primskovo,
        audiences=[Audience.ADULTS],
        tags=[value],
    )
    # Around the end of summer time (29 March 2026): the late Sunday lecture belongs to
    # the week of 23 March, the one just after midnight to the next.
    await _event(
        kranj,
        "late",
        events,
        kind=EventKind.LECTURE,
        title={"sl": "Nočno predavanje"},
        starts_at=at(LJUBLJANA, 2026, 3, 29, 23, 30),
        hours=0,
        ends_at=at(LJUBLJANA, 2026, 3, 29, 23, 50),
        branch=center,
    )
    await _event(
        kranj,
        "midnight",
        events,
        kind=EventKind.LECTURE,
        title={"sl": "Polnočno predavanje"},
        starts_at=at(LJUBLJANA, 2026, 3, 30, 0, 30),
        branch=center,
    )
    # 45 evenings of a reading club: three pages of twenty.
    await _event(
        kranj,
        "club",
        events,
        kind=EventKind.CLUB,
        title={"sl": "Bralni klub"},
        starts_at=at(LJUBLJANA, 2026, 9, 1, 17),
        rrule="FREQ=DAILY;COUNT=45",
        branch=center,
    )
    for key, changes in {
        "draft": {"status": EventStatus.DRAFT, "title": {"sl": "Osnutek delavnice"}},
        "internal": {
            "visibility": Visibility.INTERNAL,
            "title": {"sl": "Interna delavnica za zaposlene"},
        },
    }.items():
        await _event(
            kranj,
            key,
            events,
            kind=EventKind.WORKSHOP,
            starts_at=at(LJUBLJANA, 2026, 11, 5, 10),
            branch=center,
            **changes,
        )
    await _event(
        skopje,
        "rabotilnica",
        events,
        kind=EventKind.WORKSHOP,
        title={"mk": "Работилница за деца", "en": "Children's workshop"},
        description={"mk": "Цртање и раскажување со Ѓорѓи."},
        starts_at=at(ZoneInfo("Europe/Skopje"), 2026, 11, 10, 11),
    )
    await _event(
        rovaniemi,
        "tyopaja",
        events,
        kind=EventKind.WORKSHOP,
        title={"fi": "Työpajat lapsille"},
        description={"fi": "Tule mukaan piirtämään."},
        starts_at=at(ZoneInfo("Europe/Helsinki"), 2026, 11, 12, 17),
    )
    return Catalogue(kranj=kranj, events=events)


@pytest_asyncio.fixture(scope="module")
async def catalogue(backend: str) -> AsyncIterator[Catalogue]:
    await empty_database()
    try:
        yield await build()
    finally:
        await empty_database()


@pytest_asyncio.fixture
async def web(catalogue: Catalogue, backend: str) -> AsyncIterator[httpx.AsyncClient]:
    from outreach.app import create_app

    app = create_app(feeds_settings(database_url=backend), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://outreach.example.org") as c:
        yield c


def titles(page: str) -> list[str]:
    """The event titles the page links to, in order."""
    return re.findall(r'<a class="title" href="/\w+/events/\d+[^"]*">(?:<strong>)?([^<]+)', page)


async def get(web: httpx.AsyncClient, path: str, **params: str) -> str:
    response = await web.get(path, params={"lang": "en", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text


NOVEMBER = {"view": "month", "date": "2026-11-01"}
BOTH = ["Creative workshop for children", "Sodelovanje v skupnosti"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, BOTH),
        ({"branch": "primskovo"}, ["Sodelovanje v skupnosti"]),
        ({"branch": "center"}, ["Creative workshop for children"]),
        ({"audience": "6-11"}, ["Creative workshop for children"]),
        ({"kind": "democracy"}, ["Sodelovanje v skupnosti"]),
        ({"goal": "A1"}, ["Creative workshop for children"]),
        ({"value": "rohkeus"}, ["Sodelovanje v skupnosti"]),
        ({"language": "en"}, ["Creative workshop for children"]),
        ({"kind": "workshop", "branch": "primskovo"}, []),
        # A form's "all" choices arrive empty: no filter.
        (
            {"branch": "", "kind": "", "q": ""},
            ["Creative workshop for children", "Sodelovanje v skupnosti"],
        ),
    ],
)
async def test_filters_narrow_the_month(
    web: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    page = await get(web, "/kranj/events", **NOVEMBER, **params)
    # The draft and the internal workshop of 5 November never appear.
    assert titles(page) == expected
    if not expected:
        assert "No events match these filters this month. Try fewer filters or other words." in page


@pytest.mark.parametrize(
    ("library", "query", "expected"),
    [
        ("kranj", "delavn", ["Ustvarjalna delavnica za otroke"]),
        ("kranj", "Delavnica", ["Ustvarjalna delavnica za otroke"]),
        ("kranj", "delavn*", ["Ustvarjalna delavnica za otroke"]),
        ("kranj", "workshop", ["Ustvarjalna delavnica za otroke"]),  # every language
        ("kranj", "sodelovanj", ["Sodelovanje v skupnosti"]),
        ("kranj", "SODELOVANJE", ["Sodelovanje v skupnosti"]),
        ("kranj", "čitanj", ["Sodelovanje v skupnosti"]),  # the description
        ("kranj", "citanja", ["Sodelovanje v skupnosti"]),  # without the caron
        ("kranj", "skupnost sodel", ["Sodelovanje v skupnosti"]),
        ("kranj", "skupnost otroke", []),  # every word must match
        ("kranj", '"delavn" OR -zaposl* (NEAR) AND', []),
        ("kranj", "zaposlene", []),  # the internal workshop is never found
        ("kranj", "osnutek", []),  # nor the draft
        ("skopje", "работилн", ["Работилница за деца"]),
        ("skopje", "РАБОТИЛНИЦА", ["Работилница за деца"]),
        ("skopje", "ѓорѓи", ["Работилница за деца"]),
        ("skopje", "горги", []),  # Ѓ is a letter of its own, not an accented Г
        ("rovaniemi", "työpaj", ["Työpajat lapsille"]),
        ("rovaniemi", "tyopajat", ["Työpajat lapsille"]),
        ("rovaniemi", "piirtä", ["Työpajat lapsille"]),
        ("rovaniemi", "ja", []),  # a Finnish stop word: PostgreSQL still answers
    ],
)
async def test_search_finds_part_of_a_word_in_every_language(
    web: httpx.AsyncClient, library: str, query: str, expected: list[str]
) -> None:
    response = await web.get(
        f"/{library}/events", params={"view": "month", "date": "2026-11-01", "q": query}
    )
    assert response.status_code == 200
    assert titles(response.text) == expected


async def test_finnish_inflections_are_stemmed_on_postgresql_only(
    web: httpx.AsyncClient, backend: str
) -> None:
    page = await get(web, "/rovaniemi/events", **NOVEMBER, q="työpajoissa")
    # PostgreSQL's finnish configuration stems both to "työpaj"; FTS5 has no Finnish stemmer.
    found = ["Työpajat lapsille"] if backend.startswith("postgres") else []
    assert titles(page) == found


async def test_a_query_without_a_word_is_named_beside_the_search_field(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/kranj/events", params={"q": "!!! *", "lang": "en"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert (
        '<p class="problem" id="problem-q">Type a word, or the beginning of one, in letters or'
        " digits.</p>" in response.text
    )
    assert 'value="!!! *"' in response.text


async def test_the_month_starts_on_the_locales_first_weekday(web: httpx.AsyncClient) -> None:
    page = await get(web, "/kranj/events", **NOVEMBER)
    assert "<caption>November 2026</caption>" in page
    headers = re.findall(r'<th scope="col"><abbr title="(\w+)">(\w+)</abbr></th>', page)
    assert headers[0] == ("Monday", "Mon")
    assert headers[6] == ("Sunday", "Sun")
    body = page.split("<tbody>", 1)[1]
    first_week = body.split("</tr>", 1)[0]
    # Sunday 1 November is the seventh cell; the six before it belong to October.
    assert first_week.count('<td class="outside"></td>') == 6
    assert '<time datetime="2026-11-01">' in first_week
    assert "Creative workshop for children" in first_week
    assert body.count("<tr>") == 6  # 26 October … 6 December
    assert 'href="/kranj/events?lang=en&amp;view=month&amp;date=2026-10-01" rel="prev"' in page
    assert 'href="/kranj/events?lang=en&amp;view=month&amp;date=2026-12-01" rel="next"' in page
    assert 'href="/kranj/events?lang=en&amp;view=month">This month</a>' in page


async def test_the_month_in_slovenian(web: httpx.AsyncClient) -> None:
    response = await web.get("/kranj/events", params={**NOVEMBER, "lang": "sl"})
    page = response.text
    assert "<caption>november 2026</caption>" in page
    headers = re.findall(r'<th scope="col"><abbr title="(\w+)">([\w.]+)</abbr></th>', page)
    assert headers[0] == ("ponedeljek", "pon.")
    # The time is the library's, in the reader's format; the title in Slovenian.
    assert '<time class="when" datetime="2026-11-01T10:00:00+01:00">10:00</time>' in page
    assert "Ustvarjalna delavnica za otroke" in page


async def test_a_week_across_the_end_of_summer_time(web: httpx.AsyncClient) -> None:
    page = await get(web, "/kranj/events", view="week", date="2026-03-29")
    assert titles(page) == ["Nočno predavanje"]
    assert "Mar 23\u2009–\u200929, 2026" in page
    assert '<time datetime="2026-03-29T23:30:00+02:00">11:30\u202fPM</time>' in page
    assert 'href="/kranj/events?lang=en&amp;view=week&amp;date=2026-03-16" rel="prev"' in page
    assert 'href="/kranj/events?lang=en&amp;view=week&amp;date=2026-03-30" rel="next"' in page
    # The form's first day picks the week when no day is asked for.
    chosen = await get(web, "/kranj/events", view="week", **{"from": "2026-03-25"})
    assert titles(chosen) == ["Nočno predavanje"]
    following = await get(web, "/kranj/events", view="week", date="2026-03-30")
    assert titles(following) == ["Polnočno predavanje"]
    assert "Nothing on this day." in following


async def test_an_empty_week_says_so(web: httpx.AsyncClient) -> None:
    page = await get(web, "/kranj/events", view="week", date="2026-06-10")
    assert "There are no events this week." in page
    assert titles(page) == []


async def test_the_list_is_paged(web: httpx.AsyncClient) -> None:
    first = await get(web, "/kranj/events", kind="club", **{"from": "2026-09-01"})
    assert "1–20 of 45" in first
    assert len(titles(first)) == 20
    assert "Page 1 of 3" in first
    assert (
        'href="/kranj/events?kind=club&amp;lang=en&amp;from=2026-09-01&amp;page=2" rel="next"'
        in first
    )
    assert 'rel="prev"' not in first
    third = await get(web, "/kranj/events", kind="club", page="3", **{"from": "2026-09-01"})
    assert "41–45 of 45" in third
    assert len(titles(third)) == 5
    assert '<time datetime="2026-10-15">Thursday, October 15, 2026</time>' in third
    assert 'rel="next"' not in third
    assert (
        'href="/kranj/events?kind=club&amp;lang=en&amp;from=2026-09-01&amp;page=2" rel="prev"'
        in third
    )
    beyond = await get(web, "/kranj/events", kind="club", page="9", **{"from": "2026-09-01"})
    assert "There are no events on this page." in beyond
    bounded = await get(
        web, "/kranj/events", kind="club", **{"from": "2026-09-01", "to": "2026-09-03"}
    )
    assert "1–3 of 3" in bounded


async def test_the_subscribe_box_offers_the_feed_of_the_filter(web: httpx.AsyncClient) -> None:
    page = await get(
        web, "/kranj/events", kind="workshop", q="Delavn", view="month", date="2026-11-01"
    )
    https = f"{FEED}/kranj.ics?kind=workshop&amp;q=delavn&amp;lang=en"
    assert f'href="{https}"' in page
    assert 'href="webcal://outreach.example.org/feeds/kranj.ics?kind=workshop&amp;q=delavn' in page
    assert "Subscribe: Kranj City Library · Workshop · “delavn”" in page
    feed = await web.get("/feeds/kranj.ics?kind=workshop&q=delavn&lang=en")
    assert feed.status_code == 200
    assert b"SUMMARY:Creative workshop for children" in feed.content
    assert b"Sodelovanje" not in feed.content
    again = await web.get(
        "/feeds/kranj.ics?kind=workshop&q=delavn&lang=en",
        headers={"If-None-Match": feed.headers["etag"]},
    )
    assert again.status_code == 304
    # In the library's own language the feed needs no lang.
    sl = (await web.get("/kranj/events", params={"q": "delavn", "lang": "sl"})).text
    assert f'href="{FEED}/kranj.ics?q=delavn"' in sl


async def test_feeds_search_like_the_page(web: httpx.AsyncClient) -> None:
    feed = await web.get("/feeds/skopje.ics", params={"q": "работилн"})
    assert feed.status_code == 200
    assert "SUMMARY:Работилница за деца" in feed.text
    assert (await web.get("/feeds/skopje.ics", params={"q": "!!"})).status_code == 422


@pytest.mark.parametrize(
    ("params", "field", "problem"),
    [
        ({"branch": "nowhere"}, "branch", "This library has no branch “nowhere”."),
        ({"goal": "Z9"}, "goal", "No strategy of this library has a public goal “Z9”."),
        ({"kind": "party"}, "kind", "Choose a kind of event from the list."),
        ({"from": "2026-13-01"}, "from", "Enter a date as year-month-day, for example 2026-12-01."),
        ({"to": "yesterday"}, "to", "Enter a date as year-month-day, for example 2026-12-01."),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "to", "The last day comes before the first."),
    ],
)
async def test_a_bad_filter_is_named_beside_its_field(
    web: httpx.AsyncClient, params: dict[str, str], field: str, problem: str
) -> None:
    response = await web.get("/kranj/events", params={"lang": "en", **params})
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert f'<p class="problem" id="problem-{field}">{problem}</p>' in page
    assert f'aria-invalid="true" aria-describedby="problem-{field}"' in page
    assert "Some filters need correcting: see the marked fields." in page


async def test_a_bad_filter_in_slovenian(web: httpx.AsyncClient) -> None:
    response = await web.get("/kranj/events", params={"branch": "nowhere", "lang": "sl"})
    assert response.status_code == 400
    assert '<p class="problem" id="problem-branch">Knjižnica nima enote »nowhere«.</p>' in (
        response.text
    )


async def test_the_filter_form_names_every_choice(web: httpx.AsyncClient) -> None:
    page = (await web.get("/kranj/events", params={"lang": "sl", "kind": "workshop"})).text
    assert '<label for="filter-kind">Vrsta dogodka</label>' in page
    assert '<option value="workshop" selected>Delavnica</option>' in page
    assert '<option value="6-11">Od 6 do 11 let</option>' in page
    # The strategy has no Slovenian name: its English one.
    assert '<optgroup label="Strategy">' in page
    # Named with its strategy: codes repeat across strategies (tests/web/test_goal_filter.py).
    assert '<option value="strategy:A1">A1 Processes free staff</option>' in page
    assert '<option value="rohkeus">courage</option>' in page
    assert '<option value="primskovo">Knjižnica Primskovo</option>' in page
    assert '<option value="en">angleščina</option>' in page
