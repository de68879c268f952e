"""Shared set-up for scheduling tests: two libraries with branches, rooms and staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio

from outreach.models import (
    AuditEntry,
    Branch,
    DataVersion,
    Event,
    EventKind,
    EventStatus,
    Goal,
    Library,
    Network,
    RoleName,
    Room,
    StaffUser,
    Strategy,
    StrategyValue,
    Vehicle,
)
from outreach.models.bookmobile import Route
from tests import factories
from tests.databases import empty_database

WEEKDAY_HOURS = {
    "mon": [["08:00", "20:00"]],
    "tue": [["08:00", "20:00"]],
    "wed": [["08:00", "20:00"]],
    "thu": [["08:00", "20:00"]],
    "fri": [["08:00", "20:00"]],
    "sat": [["08:00", "13:00"]],
    "sun": [],
}


@dataclass
class World:
    """Two libraries in one network plus a third outside it, with staff and tokens."""

    network: Network
    ljubljana: Library
    helsinki: Library
    other: Library
    branch: Branch
    room: Room
    hall: Room
    other_room: Room
    editor: StaffUser
    director: StaffUser
    outsider: StaffUser
    tokens: dict[str, str]
    goal: Goal
    value: StrategyValue
    foreign_goal: Goal

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def make_user(email: str, roles: list[tuple[RoleName, Library]]) -> tuple[StaffUser, str]:
    user = await factories.make_user(email, password=None, roles=[*roles])
    return user, await factories.make_token(user)


async def make_event(library: Library, **values: Any) -> Event:
    """An event written directly through the model (no service), for expansion tests."""
    values.setdefault("kind", EventKind.WORKSHOP)
    values.setdefault("title", {"sl": "Delavnica"})
    values.setdefault("timezone", library.timezone)
    values.setdefault("status", EventStatus.PUBLISHED)
    values.setdefault("updated_at", dt.datetime.now(dt.UTC))
    return await Event.create(library=library, **values)


@pytest_asyncio.fixture(scope="module")
async def module_world(backend: str) -> AsyncIterator[World]:
    """Libraries, rooms, staff and strategies, made once per module and backend.

    Emptying every table costs about half a second on PostgreSQL; tests here share this
    set-up and ``world`` removes only the events they made.
    """
    await empty_database()
    try:
        yield await _make_world()
    finally:
        await empty_database()


@pytest_asyncio.fixture
async def world(module_world: World) -> AsyncIterator[World]:
    """The shared world, with every event, route and audit entry removed after the test."""
    try:
        yield module_world
    finally:
        await Route.all().delete()  # routes restrict the deletion of their events
        await Vehicle.all().delete()
        await Event.all().delete()  # the database cascades to occurrences, tags, attendance
        await AuditEntry.all().delete()
        await DataVersion.all().delete()


async def _make_world() -> World:
    network = await Network.create(slug="net", name={"en": "Network"}, default_language="sl")
    ljubljana = await factories.make_library(
        "mkl",
        name={"sl": "MKL"},
        timezone="Europe/Ljubljana",
        language="sl",
        languages=["sl", "en"],
        network=network,
    )
    helsinki = await factories.make_library(
        "helmet",
        name={"fi": "Helmet"},
        timezone="Europe/Helsinki",
        language="fi",
        languages=["fi", "sv"],
        network=network,
    )
    other = await factories.make_library(
        "skopje", name={"mk": "Скопје"}, timezone="Europe/Skopje", language="mk", languages=["mk"]
    )
    branch = await factories.make_branch(
        ljubljana,
        "center",
        name="Center",
        address="Kersnikova 2",
        city="Ljubljana",
        lat=46.05,
        lon=14.50,
        opening_hours=WEEKDAY_HOURS,
        postcode="",
    )
    room = await Room.create(branch=branch, slug="pravljicna", name="Pravljična soba", capacity=30)
    hall = await Room.create(branch=branch, slug="dvorana", name="Dvorana", capacity=120)
    other_branch = await factories.make_branch(
        other,
        "main",
        name="Main",
        address="Ul. 1",
        city="Skopje",
        lat=42.0,
        lon=21.4,
        postcode="",
        opening_hours={},
    )
    other_room = await Room.create(branch=other_branch, slug="hall", name="Hall", capacity=50)
    editor, editor_token = await make_user("editor@mkl.si", [(RoleName.EDITOR, ljubljana)])
    director, director_token = await make_user("director@mkl.si", [(RoleName.DIRECTOR, ljubljana)])
    outsider, outsider_token = await make_user("editor@skopje.mk", [(RoleName.EDITOR, other)])
    # A network strategy applies to both member libraries; Skopje's own does not.
    strategy = await Strategy.create(
        slug="net-2025",
        network=network,
        name={"en": "Network strategy"},
        source_language="en",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2028, 12, 31),
    )
    goal = await Goal.create(strategy=strategy, code="A1", name={"en": "Reading for all"})
    value = await StrategyValue.create(strategy=strategy, code="equality", name={"en": "Equality"})
    skopje_strategy = await Strategy.create(
        slug="skopje-2023",
        library=other,
        name={"mk": "Стратегија"},
        source_language="mk",
        period_start=dt.date(2023, 1, 1),
        period_end=dt.date(2027, 12, 31),
    )
    foreign_goal = await Goal.create(strategy=skopje_strategy, code="B2", name={"mk": "Цел"})
    return World(
        network=network,
        ljubljana=ljubljana,
        helsinki=helsinki,
        other=other,
        branch=branch,
        room=room,
        hall=hall,
        other_room=other_room,
        editor=editor,
        director=director,
        outsider=outsider,
        tokens={"editor": editor_token, "director": director_token, "outsider": outsider_token},
        goal=goal,
        value=value,
        foreign_goal=foreign_goal,
    )


def event_body(world: World, **changes: Any) -> dict[str, Any]:
    """A valid POST body: weekly storytime on Tuesdays 17:00-18:00 in December 2026."""
    body: dict[str, Any] = {
        "library": world.ljubljana.slug,
        "kind": "storytime",
        "title": {"sl": "Pravljična ura", "en": "Story time"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "branch": "center",
        "room": world.room.id,
        "audiences": ["0-5", "families"],
        "languages": ["sl"],
        "status": "published",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}
