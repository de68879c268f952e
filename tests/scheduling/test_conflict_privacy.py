"""A double booking names the other booking only to a reader who may see it.

Two libraries share a staff member; library B has a draft, an internal and a public event
with her. An editor of library A who books her at those times learns that she is busy and
when (in A's local time), but the title and id of B's draft or internal event only if they
hold a role in B; B's public event is named to anyone. The API's 409 and the staff pages
follow the same rule (``outreach.scheduling.conflicts.nameable``).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from babel.dates import format_date, format_interval

from outreach.models import (
    Event,
    EventKind,
    EventStatus,
    Library,
    Network,
    RoleName,
    Room,
    StaffUser,
    Visibility,
)
from outreach.scheduling.conflicts import nameable
from outreach.scheduling.occurrences import rebuild_occurrences
from tests import factories
from tests.web.test_staff_pages import csrf_of, sign_in

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
HELSINKI = ZoneInfo("Europe/Helsinki")
PASSWORD = "correct horse battery"
DRAFT, INTERNAL, PUBLIC = "Osnutek: zimske pravljice", "Interni sestanek ekipe", "Javno predavanje"


@dataclass
class Shared:
    a: Library
    b: Library
    room: Room
    person: StaffUser
    editor_a: StaffUser
    events: dict[str, Event]
    days: dict[str, dt.date]
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept-Language": "en"}


async def _b_event(b: Library, person: StaffUser, day: dt.date, title: str, **values: Any) -> Event:
    # 10:00-11:00 in Rovaniemi is 09:00-10:00 in Ljubljana.
    start = dt.datetime.combine(day, dt.time(10), tzinfo=HELSINKI)
    event = await Event.create(
        library=b,
        kind=EventKind.WORKSHOP,
        title={"fi": title},
        starts_at=start.astimezone(dt.UTC),
        ends_at=(start + dt.timedelta(hours=1)).astimezone(dt.UTC),
        timezone="Europe/Helsinki",
        updated_at=dt.datetime.now(dt.UTC),
        **values,
    )
    await event.staff.add(person)
    await rebuild_occurrences(event)
    return event


@pytest_asyncio.fixture
async def shared(db: str) -> Shared:
    network = await Network.create(slug="net", name={"en": "Network"}, default_language="sl")
    a = await factories.make_library(
        "mkl", name={"sl": "MKL"}, timezone="Europe/Ljubljana", language="sl", network=network
    )
    b = await factories.make_library(
        "rovaniemi", name={"fi": "Rovaniemen kirjasto"}, timezone="Europe/Helsinki", language="fi"
    )
    branch = await factories.make_branch(a, "center")
    room = await Room.create(branch=branch, slug="hall", name="Dvorana", capacity=40)
    await factories.make_branch(b, "main")
    person = await factories.make_user(
        "ana@mklj.si", roles=[(RoleName.EDITOR, a), (RoleName.EDITOR, b)]
    )
    person.name = "Ana Kos"
    await person.save()
    editor_a = await factories.make_user("urednik@mklj.si", roles=[(RoleName.EDITOR, a)])
    both = await factories.make_user(
        "oba@mklj.si", password=None, roles=[(RoleName.EDITOR, a), (RoleName.DIRECTOR, b)]
    )
    today = dt.datetime.now(LJUBLJANA).date()
    first = today + dt.timedelta(days=14 + (1 - today.weekday()) % 7)  # a Tuesday
    days = {"draft": first, "internal": first + dt.timedelta(days=1)}
    days["public"] = first + dt.timedelta(days=2)
    events = {
        "draft": await _b_event(
            b, person, days["draft"], DRAFT, status=EventStatus.DRAFT, visibility=Visibility.PUBLIC
        ),
        "internal": await _b_event(
            b,
            person,
            days["internal"],
            INTERNAL,
            status=EventStatus.PUBLISHED,
            visibility=Visibility.INTERNAL,
        ),
        "public": await _b_event(
            b,
            person,
            days["public"],
            PUBLIC,
            status=EventStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
        ),
    }
    tokens = {
        "editor_a": await factories.make_token(editor_a),
        "both": await factories.make_token(both),
    }
    return Shared(a, b, room, person, editor_a, events, days, tokens)


def _body(shared: Shared, day: dt.date) -> dict[str, Any]:
    return {
        "library": "mkl",
        "kind": "lecture",
        "title": {"sl": "Predavanje v MKL"},
        "start": f"{day.isoformat()}T09:30:00",
        "end": f"{day.isoformat()}T10:30:00",
        "branch": "center",
        "staff": [shared.person.id],
        "audiences": ["19+"],
        "languages": ["sl"],
        "status": "published",
    }


async def _refused(
    client: httpx.AsyncClient, shared: Shared, day: dt.date, who: str
) -> dict[str, Any]:
    """``who`` books Ana Kos in library A on ``day`` through the API: refused as a double
    booking (409); the answer's body."""
    refused = await client.post("/api/events", json=_body(shared, day), headers=shared.auth(who))
    assert refused.status_code == 409
    return dict(refused.json())


def _named(body: dict[str, Any]) -> tuple[int | None, dict[str, str] | None]:
    """The one conflict of a refusal: the event and title it names (None: not named)."""
    [conflict] = body["conflicts"]
    return conflict["event"], conflict["title"]


def _utc(day: dt.date, hour: int) -> str:
    instant = dt.datetime.combine(day, dt.time(hour), tzinfo=HELSINKI).astimezone(dt.UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("kind", "title"), [("draft", DRAFT), ("internal", INTERNAL)])
async def test_an_editor_of_a_only_learns_when_not_what(
    shared: Shared, client: httpx.AsyncClient, kind: str, title: str
) -> None:
    day = shared.days[kind]
    refused = await _refused(client, shared, day, "editor_a")
    assert refused == {
        "error": "conflict",
        "conflicts": [
            {
                "event": None,
                "title": None,
                "start": _utc(day, 10),
                "end": _utc(day, 11),
                "resource": "staff",
                "resource_id": shared.person.id,
            }
        ],
    }
    assert title not in str(refused)
    assert await Event.filter(library_id=shared.a.id).count() == 0


@pytest.mark.parametrize(("kind", "title"), [("draft", DRAFT), ("internal", INTERNAL)])
async def test_an_editor_of_both_libraries_is_told_what(
    shared: Shared, client: httpx.AsyncClient, kind: str, title: str
) -> None:
    refused = await _refused(client, shared, shared.days[kind], "both")
    assert _named(refused) == (shared.events[kind].id, {"fi": title})


async def test_a_public_event_of_b_is_named_to_anyone(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    refused = await _refused(client, shared, shared.days["public"], "editor_a")
    assert _named(refused) == (shared.events["public"].id, {"fi": PUBLIC})


def _words(day: dt.date) -> tuple[str, str]:
    """The day and times of B's event (10:00-11:00 in Rovaniemi) as A's English pages
    write them: in Ljubljana's time, 09:00-10:00."""
    start = dt.datetime.combine(day, dt.time(9), tzinfo=LJUBLJANA)
    end = start + dt.timedelta(hours=1)
    return format_date(day, "full", locale="en"), format_interval(start, end, "Hm", locale="en")


def _form(shared: Shared, day: dt.date) -> dict[str, str | list[str]]:
    return {
        "kind": "lecture",
        "title_sl": "Predavanje v MKL",
        "start_date": day.isoformat(),
        "start_time": "09:30",
        "end_date": day.isoformat(),
        "end_time": "10:30",
        "timezone": "Europe/Ljubljana",
        "repeat": "none",
        "branch": "center",
        "room": "",
        "staff": [str(shared.person.id)],
        "audiences": ["19+"],
        "languages": ["sl"],
        "format": "in_person",
        "visibility": "public",
        "status": "published",
    }


async def _post_form(client: httpx.AsyncClient, shared: Shared, day: dt.date, email: str) -> str:
    client.headers["Accept-Language"] = "en"
    assert (await sign_in(client, email, PASSWORD)).status_code == 303
    page = await client.get("/staff/events/new?library=mkl")
    refused = await client.post(
        "/staff/events/new?library=mkl",
        data={**_form(shared, day), "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 409
    return html.unescape(refused.text)


async def test_the_event_form_says_another_booking_to_an_editor_of_a_only(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    day = shared.days["internal"]
    text = await _post_form(client, shared, day, "urednik@mklj.si")
    full, times = _words(day)
    assert f"Ana Kos is busy {times} on {full} with another booking." in text
    assert INTERNAL not in text


async def test_the_event_form_names_a_public_event(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    day = shared.days["public"]
    text = await _post_form(client, shared, day, "urednik@mklj.si")
    full, times = _words(day)
    assert f"Ana Kos is busy {times} on {full} with “{PUBLIC}”." in text


async def test_the_person_booked_twice_is_told_it_is_their_own_booking(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    day = shared.days["draft"]
    text = await _post_form(client, shared, day, "ana@mklj.si")
    full, times = _words(day)
    assert f"You are busy {times} on {full} with “{DRAFT}”." in text


async def test_nameable_reads_publicity_and_roles(shared: Shared) -> None:
    from tortoise.connection import connections

    conn = connections.get("default")
    ids = [event.id for event in shared.events.values()]
    public = {shared.events["public"].id}
    assert set(await nameable(conn, None, ids)) == public
    assert set(await nameable(conn, shared.editor_a, ids)) == public
    assert set(await nameable(conn, shared.person, ids)) == set(ids)
    # A coordinator of A's network reads A, never B (which is in no network).
    a_network = await Network.get(slug="net")
    a_coordinator = await factories.make_user(
        "koordinator@mklj.si", password=None, roles=[(RoleName.COORDINATOR, a_network)]
    )
    assert set(await nameable(conn, a_coordinator, ids)) == public
    # A coordinator of B's network sees its drafts and internal events.
    network = await Network.create(slug="lapland", name={"fi": "Lappi"}, default_language="fi")
    shared.b.network = network  # type: ignore[assignment]
    await shared.b.save()
    coordinator = await factories.make_user(
        "lappi@example.fi", password=None, roles=[(RoleName.COORDINATOR, network)]
    )
    assert set(await nameable(conn, coordinator, ids)) == set(ids)


async def test_moving_one_occurrence_onto_an_internal_event_says_only_when(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    free = shared.days["public"] + dt.timedelta(days=1)
    created = await client.post(
        "/api/events", json=_body(shared, free), headers=shared.auth("editor_a")
    )
    assert created.status_code == 201
    start = dt.datetime.combine(free, dt.time(9, 30), tzinfo=LJUBLJANA).astimezone(dt.UTC)
    day = shared.days["internal"].isoformat()
    moved = await client.patch(
        f"/api/events/{created.json()['id']}/occurrences/{start:%Y-%m-%dT%H:%M:%SZ}",
        json={"start": f"{day}T09:30:00", "end": f"{day}T10:30:00"},
        headers=shared.auth("editor_a"),
    )
    assert moved.status_code == 409
    assert moved.json()["conflicts"] == [
        {
            "event": None,
            "title": None,
            "start": _utc(shared.days["internal"], 10),
            "end": _utc(shared.days["internal"], 11),
            "resource": "staff",
            "resource_id": shared.person.id,
        }
    ]
    assert INTERNAL not in moved.text


async def test_the_open_link_of_a_public_event_leads_where_the_reader_may_read_it(
    shared: Shared, client: httpx.AsyncClient
) -> None:
    """The form's 'Open “…”' beside a public event of library B takes an editor of A only
    to its public page; B's draft and internal event stay refused to them."""
    assert (await sign_in(client, "urednik@mklj.si", PASSWORD)).status_code == 303
    public = shared.events["public"].id
    opened = await client.get(f"/staff/events/{public}")
    assert (opened.status_code, opened.headers.get("location")) == (
        303,
        f"/rovaniemi/events/{public}",
    )
    assert PUBLIC in (await client.get(f"/rovaniemi/events/{public}")).text
    for kind in ("draft", "internal"):
        refused = await client.get(f"/staff/events/{shared.events[kind].id}")
        assert refused.status_code == 403
        assert DRAFT not in refused.text
        assert INTERNAL not in refused.text
