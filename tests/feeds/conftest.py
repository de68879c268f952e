"""A public programme across three zones, built once per module for tests that only read.

Dates are fixed in 2026 (both daylight-saving changes of the year fall inside series);
the feed window of the ``feeds_settings`` reaches back far enough to cover them whenever
the tests run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import (
    Audience,
    Branch,
    Event,
    EventAudience,
    EventKind,
    EventLanguage,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Network,
    OccurrenceOverride,
    Room,
    Stop,
    Strategy,
    StrategyValue,
    Theme,
    Vehicle,
    Visibility,
)
from outreach.models.bookmobile import Fuel, Route
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.settings import Settings
from tests.databases import empty_database
from tests.factories import make_branch, make_library

UTC = dt.UTC
LJUBLJANA = ZoneInfo("Europe/Ljubljana")
HELSINKI = ZoneInfo("Europe/Helsinki")
SKOPJE = ZoneInfo("Europe/Skopje")
STAMP = dt.datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
BASE_URL = "https://outreach.example.org"

STORYTIME_SL = "Pravljična ura: Žabec in čarobni čevlji; zgodbe, pesmi in igre za najmlajše"
EXHIBITION_MK = "Изложба: Македонски народни приказни и илустрации од збирката на библиотеката"


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> dt.datetime:
    """A local wall-clock time as a UTC instant (fold=0, like the scheduler)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


@dataclass
class Programme:
    """The libraries and events the feed tests look at."""

    network: Network
    ljubljana: Library
    helsinki: Library
    skopje: Library
    solo: Library
    branch: Branch
    room: Room
    goal: Goal
    value: StrategyValue
    events: dict[str, Event]
    public_stop: Stop
    private_stop: Stop


def feeds_settings(**changes: Any) -> Settings:
    """Test settings whose feed window reaches back to the start of 2026."""
    today = dt.datetime.now(UTC).date()
    values: dict[str, Any] = {
        "database_url": "sqlite://:memory:",
        "secret_key": "test-secret-key-not-for-production",
        "base_url": BASE_URL,
        "feed_days_back": (today - dt.date(2026, 1, 1)).days + 1,
    }
    values.update(changes)
    return Settings(**values)


async def _event(library: Library, **fields: Any) -> Event:
    audiences: list[Audience] = fields.pop("audiences", [])
    tags: list[tuple[Goal | StrategyValue, bool]] = fields.pop("tags", [])
    languages: list[str] = fields.pop("languages", [library.default_language])
    defaults: dict[str, Any] = {
        "library": library,
        "timezone": library.timezone,
        "status": EventStatus.PUBLISHED,
        "visibility": Visibility.PUBLIC,
        "updated_at": STAMP,
        "description": {},
    }
    event = await Event.create(**(defaults | fields))
    for audience in audiences:
        await EventAudience.create(event=event, audience=audience)
    for language in languages:
        await EventLanguage.create(event=event, language=language)
    for subject, primary in tags:
        if isinstance(subject, Goal):
            await EventTag.create(event=event, goal=subject, primary=primary)
        else:
            await EventTag.create(event=event, value=subject, primary=primary)
    return event


async def build_programme() -> Programme:
    network = await Network.create(
        slug="alpe-adria", name={"en": "Alpe–Adria–Baltic libraries"}, default_language="en"
    )
    ljubljana = await make_library(
        "ljubljana",
        name={"sl": "Mestna knjižnica Ljubljana", "en": "Ljubljana City Library"},
        timezone="Europe/Ljubljana",
        language="sl",
        languages=["sl", "en"],
        network=network,
    )
    helsinki = await make_library(
        "helsinki",
        name={"fi": "Helsingin kaupunginkirjasto", "en": "Helsinki City Library"},
        timezone="Europe/Helsinki",
        language="fi",
        languages=["fi", "sv", "en"],
        network=network,
    )
    skopje = await make_library(
        "skopje",
        name={"mk": "Градска библиотека Браќа Миладиновци", "en": "Skopje City Library"},
        timezone="Europe/Skopje",
        language="mk",
        languages=["mk", "en"],
        network=network,
    )
    solo = await make_library(
        "solo",
        name={"en": "Solo Library"},
        timezone="Europe/Ljubljana",
        language="en",
        languages=["en"],
    )
    branch = await make_branch(
        ljubljana,
        "center",
        name="Knjižnica Otona Župančiča",
        address="Kersnikova ulica 2",
        postcode="1000",
        city="Ljubljana",
        lat=46.0530,
        lon=14.5040,
        opening_hours={},
    )
    room = await Room.create(branch=branch, slug="pravljicna", name="Pravljična soba", capacity=30)
    other_branch = await make_branch(
        ljubljana,
        "siska",
        name="Knjižnica Šiška",
        address="Trg komandanta Staneta 7",
        postcode="1000",
        city="Ljubljana",
        lat=46.0690,
        lon=14.4890,
        opening_hours={},
    )
    helsinki_branch = await make_branch(
        helsinki,
        "oodi",
        name="Oodi",
        address="Töölönlahdenkatu 4",
        postcode="00100",
        city="Helsinki",
        lat=60.1739,
        lon=24.9381,
        opening_hours={},
    )
    skopje_branch = await make_branch(
        skopje,
        "centar",
        name="Централна библиотека",
        address="Бул. Партизански одреди 22",
        postcode="1000",
        city="Скопје",
        lat=41.9981,
        lon=21.4254,
        opening_hours={},
    )
    strategy = await Strategy.create(
        slug="mklj-2021",
        library=ljubljana,
        name={"sl": "Strategija", "en": "Strategy"},
        source_language="sl",
        period_start=dt.date(2021, 1, 1),
        period_end=dt.date(2027, 12, 31),
    )
    theme = await Theme.create(strategy=strategy, code="A", name={"sl": "Bralna kultura"})
    goal = await Goal.create(
        strategy=strategy,
        theme=theme,
        code="A1",
        position=1,
        name={"sl": "Branje za vse", "en": "Reading for everyone"},
    )
    internal_goal = await Goal.create(
        strategy=strategy,
        theme=theme,
        code="A2",
        position=2,
        internal=True,
        name={"sl": "Usposobljeno osebje", "en": "Skilled staff"},
    )
    value = await StrategyValue.create(
        strategy=strategy, code="equality", name={"sl": "Enakost", "en": "Equality"}
    )

    events: dict[str, Event] = {}
    events["storytime"] = await _event(
        ljubljana,
        kind=EventKind.STORYTIME,
        title={"sl": STORYTIME_SL, "en": "Storytime: the frog and the magic shoes"},
        description={
            "sl": "Za otroke, starše; in stare starše.\nPrinesite blazino \\ odejo.\x07",
            "en": "For children, parents; and grandparents.",
        },
        starts_at=local(LJUBLJANA, 2026, 3, 3, 10),
        ends_at=local(LJUBLJANA, 2026, 3, 3, 11),
        rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=40",
        exdates=["2026-04-07T10:00:00"],
        branch=branch,
        room=room,
        revision=3,
        audiences=[Audience.AGES_0_5, Audience.FAMILIES],
        tags=[(goal, True), (value, False)],
        languages=["sl", "en"],
    )
    await OccurrenceOverride.create(
        event=events["storytime"],
        original_start=local(LJUBLJANA, 2026, 3, 31, 10),
        starts_at=local(LJUBLJANA, 2026, 4, 1, 16),
        ends_at=local(LJUBLJANA, 2026, 4, 1, 17),
        title={"sl": "Pravljična ura (prestavljena)"},
        note="Zaradi praznika",
        revision=2,
        updated_at=STAMP + dt.timedelta(days=3),
    )
    await OccurrenceOverride.create(
        event=events["storytime"],
        original_start=local(LJUBLJANA, 2026, 10, 27, 10),
        cancelled=True,
        updated_at=STAMP + dt.timedelta(days=4),
    )
    events["book_sale"] = await _event(
        ljubljana,
        kind=EventKind.READING,
        title={"sl": "Knjižni sejem, sobota", "en": "Saturday book sale"},
        starts_at=local(LJUBLJANA, 2026, 10, 17, 0),
        ends_at=local(LJUBLJANA, 2026, 10, 18, 0),
        all_day=True,
        rrule="FREQ=WEEKLY;COUNT=6",
        exdates=["2026-10-31"],
        branch=other_branch,
        audiences=[Audience.ALL_AGES],
        tags=[(value, True)],
    )
    events["night_spring"] = await _event(
        helsinki,
        kind=EventKind.READING,
        title={"fi": "Lukuyö: kevät", "sv": "Läsnatt: vår", "en": "Reading night: spring"},
        starts_at=local(HELSINKI, 2026, 3, 27, 3, 30),
        ends_at=local(HELSINKI, 2026, 3, 27, 4, 15),
        rrule="FREQ=DAILY;COUNT=4",
        branch=helsinki_branch,
        audiences=[Audience.ADULTS],
    )
    events["night_autumn"] = await _event(
        helsinki,
        kind=EventKind.READING,
        title={"fi": "Lukuyö: syksy", "en": "Reading night: autumn"},
        starts_at=local(HELSINKI, 2026, 10, 18, 3, 30),
        ends_at=local(HELSINKI, 2026, 10, 18, 4, 15),
        rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=3",
        branch=helsinki_branch,
        audiences=[Audience.ADULTS],
    )
    events["exhibition"] = await _event(
        skopje,
        kind=EventKind.EXHIBITION,
        title={"mk": EXHIBITION_MK, "en": "Exhibition: Macedonian folk tales"},
        starts_at=local(SKOPJE, 2026, 3, 20, 0),
        ends_at=local(SKOPJE, 2026, 4, 11, 0),
        all_day=True,
        branch=skopje_branch,
        audiences=[Audience.ALL_AGES],
    )
    events["draft"] = await _event(
        ljubljana,
        kind=EventKind.WORKSHOP,
        title={"sl": "Osnutek delavnice"},
        starts_at=local(LJUBLJANA, 2026, 5, 5, 17),
        ends_at=local(LJUBLJANA, 2026, 5, 5, 19),
        status=EventStatus.DRAFT,
        branch=branch,
        tags=[(goal, True)],
    )
    events["internal"] = await _event(
        ljubljana,
        kind=EventKind.STAFF_TRAINING,
        title={"sl": "Interno izobraževanje osebja"},
        starts_at=local(LJUBLJANA, 2026, 5, 6, 9),
        ends_at=local(LJUBLJANA, 2026, 5, 6, 12),
        visibility=Visibility.INTERNAL,
        branch=branch,
        audiences=[Audience.STAFF],
        tags=[(internal_goal, True)],
    )
    events["cancelled"] = await _event(
        ljubljana,
        kind=EventKind.LECTURE,
        title={"sl": "Predavanje o podnebju", "en": "Lecture on climate"},
        starts_at=local(LJUBLJANA, 2026, 6, 10, 18),
        ends_at=local(LJUBLJANA, 2026, 6, 10, 19, 30),
        status=EventStatus.CANCELLED,
        # Published before it was cancelled: a cancelled draft would never be public.
        published_at=STAMP,
        cancelled_at=dt.datetime.now(UTC) - dt.timedelta(days=2),
        revision=2,
        branch=branch,
        audiences=[Audience.ADULTS],
        tags=[(goal, False)],
    )
    events["solo"] = await _event(
        solo,
        kind=EventKind.LECTURE,
        title={"en": "A lecture elsewhere"},
        starts_at=local(LJUBLJANA, 2026, 5, 20, 18),
        ends_at=local(LJUBLJANA, 2026, 5, 20, 19),
    )
    coming = dt.datetime.now(UTC).astimezone(LJUBLJANA).date() + dt.timedelta(days=10)
    events["coming"] = await _event(
        ljubljana,
        kind=EventKind.AUTHOR_VISIT,
        title={"sl": "Srečanje z avtorico <Nike> & prijatelji", "en": "Meet the author"},
        description={"sl": "Pogovor o novi knjigi."},
        starts_at=local(LJUBLJANA, coming.year, coming.month, coming.day, 18),
        ends_at=local(LJUBLJANA, coming.year, coming.month, coming.day, 19, 30),
        branch=branch,
        room=room,
        audiences=[Audience.ADULTS],
    )
    events["bookmobile"] = await _event(
        ljubljana,
        kind=EventKind.BOOKMOBILE,
        title={"sl": "Bibliobus", "en": "Bookmobile"},
        starts_at=local(LJUBLJANA, 2026, 10, 7, 9),
        ends_at=local(LJUBLJANA, 2026, 10, 7, 13),
        rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=10",
        branch=branch,
        audiences=[Audience.ALL_AGES],
    )
    vehicle = await Vehicle.create(
        library=ljubljana,
        slug="bus",
        name="Bibliobus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.9,
        emission_factor_source="test",
    )
    route = await Route.create(
        library=ljubljana,
        vehicle=vehicle,
        depot=branch,
        event=events["bookmobile"],
        code="WE",
        name="Sreda",
        valid_from=dt.date(2026, 10, 1),
    )
    public_stop = await Stop.create(
        route=route,
        position=1,
        name="Vič, pri šoli",
        community="Vič",
        lat=46.04,
        lon=14.48,
        arrival=dt.time(9, 30),
        minutes_parked=45,
    )
    private_stop = await Stop.create(
        route=route,
        position=2,
        name="Dom starejših Bežigrad",
        community="Bežigrad",
        lat=46.07,
        lon=14.51,
        arrival=dt.time(11, 0),
        minutes_parked=30,
        visibility=Visibility.INTERNAL,
    )
    for event in events.values():
        await rebuild_occurrences(event)
    return Programme(
        network=network,
        ljubljana=ljubljana,
        helsinki=helsinki,
        skopje=skopje,
        solo=solo,
        branch=branch,
        room=room,
        goal=goal,
        value=value,
        events=events,
        public_stop=public_stop,
        private_stop=private_stop,
    )


@pytest_asyncio.fixture(scope="module")
async def programme(backend: str) -> AsyncIterator[Programme]:
    """The programme, built once for a module whose tests only read."""
    await empty_database()
    try:
        yield await build_programme()
    finally:
        await empty_database()


@pytest.fixture
def feeds_app(backend: str) -> Starlette:
    return create_app(feeds_settings(database_url=backend), manage_database=False)


@pytest_asyncio.fixture
async def feeds_client(feeds_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=feeds_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
