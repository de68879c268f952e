"""Nothing private on any public surface: one rule (``outreach.publicity``) for them all.

A library's editor makes every kind of private thing through the API (a draft, an
internal event, a draft cancelled without ever being published, an internal event
cancelled, an event published and taken back to draft, a private stop, a route made
internal, a route its writer made that waits for a director) beside a public event, a
public event cancelled after publishing, and a public route with a public stop. Every
public surface is then read anonymously and with the token of another library's editor:
each must show the public things (so that a surface showing nothing cannot pass) and
none of the private ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from outreach import publicity
from outreach.feeds import sql
from outreach.models import (
    ApprovalPolicy,
    ApprovalState,
    Event,
    EventKind,
    EventStatus,
    Fuel,
    Library,
    Network,
    RoleName,
    Vehicle,
    Visibility,
)
from tests.factories import make_branch, make_library, make_strategy, make_token_user
from tests.test_cli import outreach

TZ = ZoneInfo("Europe/Ljubljana")
READERS = ("anonymous", "outsider")


@dataclass
class Town:
    """The ids of what the editor of ``mkl`` made, and who reads."""

    public: dict[str, int]
    private: dict[str, int]
    public_route: int
    public_route_event: int
    hidden_route: int
    public_stop: int
    private_stop: int
    hidden_route_stop: int
    waiting_route: int
    waiting_route_stop: int
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def public_events(self) -> set[int]:
        return {*self.public.values(), self.public_route_event}


def _day(offset: int, weekday: int | None = None) -> dt.date:
    """A local day ``offset`` days from today, moved on to ``weekday`` if given."""
    day = dt.datetime.now(TZ).date() + dt.timedelta(days=offset)
    while weekday is not None and day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return day


def _event(title: str, **changes: Any) -> dict[str, Any]:
    """A weekly storytime a week from now, three times, that every filter below keeps."""
    start = f"{_day(7).isoformat()}T10:00:00"
    body: dict[str, Any] = {
        "library": "mkl",
        "kind": "storytime",
        "title": {"sl": title},
        "start": start,
        "end": start.replace("T10:", "T11:"),
        "rrule": "FREQ=WEEKLY;COUNT=3",
        "branch": "center",
        "audiences": ["0-5"],
        "languages": ["sl"],
        "tags": [{"goal": "A1", "primary": True}, {"value": "rohkeus"}],
        "status": "published",
    }
    body.update(changes)
    return body


def _route(code: str, name: str, weekday: int, stops: list[dict[str, Any]]) -> dict[str, Any]:
    byday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[weekday]
    return {
        "library": "mkl",
        "code": code,
        "name": name,
        "vehicle": "bibliobus",
        "depot": "depot",
        "rrule": f"FREQ=WEEKLY;BYDAY={byday}",
        "valid_from": _day(1, weekday).isoformat(),
        "valid_until": _day(90).isoformat(),
        "stops": stops,
    }


def _stop(name: str, arrival: str) -> dict[str, Any]:
    return {"name": name, "lat": 46.55, "lon": 15.58, "arrival": arrival, "minutes_parked": 30}


@pytest.fixture
async def town(db: str, client: httpx.AsyncClient) -> Town:
    network = await Network.create(slug="net", name={"en": "Network"}, default_language="sl")
    library = await make_library("mkl", network=network)
    other = await make_library("kr", network=network)
    await make_branch(library, "center")
    await make_branch(library, "depot")
    await make_strategy(library=library)
    await Vehicle.create(
        library=library,
        slug="bibliobus",
        name="Bibliobus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.5,
        emission_factor_source="test",
    )
    # Its directors approve every change; the editor is its director too, the writer
    # only an editor, whose drafts and changes wait for approval.
    await Library.filter(id=library.id).update(approval=ApprovalPolicy.ALL_CHANGES)
    tokens = {
        "editor": await make_token_user(
            "editor@mkl.si", [(RoleName.EDITOR, library), (RoleName.DIRECTOR, library)]
        ),
        "writer": await make_token_user("writer@mkl.si", [(RoleName.EDITOR, library)]),
        "outsider": await make_token_user("editor@kr.si", [(RoleName.EDITOR, other)]),
    }

    async def send(
        method: str, path: str, body: dict[str, Any] | None = None, who: str = "editor"
    ) -> Any:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def create(title: str, who: str = "editor", **changes: Any) -> int:
        ident: int = (await send("POST", "/api/events", _event(title, **changes), who))["id"]
        return ident

    async def submitted(title: str) -> int:
        """A draft of the writer's, submitted for approval: the approval request's id."""
        event = await create(title, "writer", status="draft")
        ident: int = (await send("POST", f"/api/events/{event}/submit", {}, "writer"))["id"]
        return ident

    public = {
        "control": await create("Control storytime"),
        "cancelled": await create("Cancelled after publishing"),
        "held": await create("Published, a change held"),
    }
    private = {
        "draft": await create("HIDDEN draft", status="draft"),
        "internal": await create("HIDDEN internal", visibility="internal"),
        "cancelled_draft": await create("HIDDEN cancelled draft", status="draft"),
        "internal_cancelled": await create("HIDDEN internal cancelled", visibility="internal"),
        "back_to_draft": await create("HIDDEN back to draft"),
    }
    approve, give_back = await submitted("Approved storytime"), await submitted("HIDDEN returned")
    waiting = await submitted("HIDDEN submitted")
    public["approved"] = (await send("POST", f"/api/approvals/{approve}/approve", {}))["event"]
    returned = {"comment": "Najprej dodaj opis."}
    private["returned"] = (await send("POST", f"/api/approvals/{give_back}/return", returned))[
        "event"
    ]
    private["submitted"] = (await send("GET", "/api/approvals?library=mkl&decision=pending"))[
        "approvals"
    ][0]["event"]
    assert waiting != approve
    held = await send(
        "PATCH", f"/api/events/{public['held']}", {"title": {"sl": "HIDDEN change"}}, "writer"
    )
    assert (held["title"], held["pending_approval"] > 0) == (
        {"sl": "Published, a change held"},
        True,
    )
    await send("DELETE", f"/api/events/{public['cancelled']}")
    await send("DELETE", f"/api/events/{private['cancelled_draft']}")
    await send("DELETE", f"/api/events/{private['internal_cancelled']}")
    await send("PATCH", f"/api/events/{private['back_to_draft']}", {"status": "draft"})

    open_route = await send(
        "POST",
        "/api/routes",
        _route(
            "P",
            "Public route",
            1,
            [
                _stop("Public square", "09:00"),
                {**_stop("HIDDEN home visit", "10:00"), "visibility": "internal"},
            ],
        ),
    )
    hidden_route = await send(
        "POST", "/api/routes", _route("H", "HIDDEN route", 2, [_stop("HIDDEN route stop", "09:00")])
    )
    await send("PATCH", f"/api/events/{hidden_route['event']}", {"visibility": "internal"})
    private["route_event"] = hidden_route["event"]
    # A writer's route waits for a director, like the writer's events.
    waiting_route = await send(
        "POST",
        "/api/routes",
        _route("W", "HIDDEN waiting route", 3, [_stop("HIDDEN waiting stop", "11:00")]),
        "writer",
    )
    private["waiting_route_event"] = waiting_route["event"]
    public_stop, private_stop = (s["id"] for s in open_route["stops"])
    return Town(
        public=public,
        private=private,
        public_route=open_route["id"],
        public_route_event=open_route["event"],
        hidden_route=hidden_route["id"],
        public_stop=public_stop,
        private_stop=private_stop,
        hidden_route_stop=hidden_route["stops"][0]["id"],
        waiting_route=waiting_route["id"],
        waiting_route_stop=waiting_route["stops"][0]["id"],
        tokens=tokens,
    )


def _feed(body: bytes) -> dict[str, str]:
    """A feed's VEVENTs, checked to have no hidden title: UID before its ``@host`` →
    STATUS (CONFIRMED unless said)."""
    events = Calendar.from_ical(body).walk("VEVENT")
    assert not [e for e in events if "HIDDEN" in str(e["SUMMARY"])]
    return {str(e["UID"]).split("@")[0]: str(e.get("STATUS", "CONFIRMED")) for e in events}


def _uid(event: int, stop: int | None = None) -> str:
    return f"outreach-event-{event}{'' if stop is None else f'-stop-{stop}'}"


@pytest.mark.parametrize("who", READERS)
async def test_events_api_shows_only_public_events(
    town: Town, client: httpx.AsyncClient, who: str
) -> None:
    headers = town.headers(who)
    for query in ("", "?library=mkl", "?library=mkl&kind=storytime&goal=A1"):
        listed = (await client.get(f"/api/events{query}", headers=headers)).json()
        assert {e["id"] for e in listed["events"]} == (
            town.public_events if not query.endswith("A1") else set(town.public.values())
        ), query
    drafts = (await client.get("/api/events?status=draft", headers=headers)).json()
    assert drafts == {"events": [], "count": 0, "next": None}
    for ident in town.private.values():
        response = await client.get(f"/api/events/{ident}", headers=headers)
        assert (response.status_code, response.json()) == (404, {"error": "event not found"})
    control = await client.get(f"/api/events/{town.public['control']}", headers=headers)
    assert control.json()["title"] == {"sl": "Control storytime"}
    cancelled = await client.get(f"/api/events/{town.public['cancelled']}", headers=headers)
    assert (cancelled.json()["title"], cancelled.json()["status"]) == (
        {"sl": "Cancelled after publishing"},
        "cancelled",
    )

    window = f"from={_day(0).isoformat()}&to={_day(60).isoformat()}"
    occurrences = await client.get(f"/api/occurrences?library=mkl&{window}", headers=headers)
    seen = {(o["event"], o["stop"], o["cancelled"]) for o in occurrences.json()["occurrences"]}
    assert seen == {
        (town.public["control"], None, False),
        (town.public["cancelled"], None, True),
        (town.public["held"], None, False),
        (town.public["approved"], None, False),
        (town.public_route_event, town.public_stop, False),
    }


async def test_the_library_s_own_staff_still_see_its_private_things(
    town: Town, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {town.tokens['editor']}"}
    listed = (await client.get("/api/events?library=mkl", headers=headers)).json()
    assert {e["id"] for e in listed["events"]} == town.public_events | set(town.private.values())
    route = await client.get(f"/api/routes/{town.hidden_route}", headers=headers)
    assert [s["name"] for s in route.json()["stops"]] == ["HIDDEN route stop"]
    stops = await client.get(f"/api/routes/{town.public_route}/stops", headers=headers)
    assert [s["name"] for s in stops.json()["stops"]] == ["Public square", "HIDDEN home visit"]


@pytest.mark.parametrize("who", READERS)
async def test_feeds_show_only_public_events_and_stops(
    town: Town, client: httpx.AsyncClient, who: str
) -> None:
    headers = town.headers(who)
    programme = {
        _uid(town.public["control"]): "CONFIRMED",
        # Cancelled after it was published: kept, as cancelled, for the grace period.
        _uid(town.public["cancelled"]): "CANCELLED",
        _uid(town.public["held"]): "CONFIRMED",
        _uid(town.public["approved"]): "CONFIRMED",
    }
    route = {_uid(town.public_route_event, town.public_stop): "CONFIRMED"}
    for path, expected in (
        ("/feeds/mkl.ics", programme | route),
        ("/feeds/networks/net.ics", programme | route),
        ("/feeds/mkl.ics?goal=A1", programme),
        ("/feeds/mkl.ics?value=rohkeus", programme),
        ("/feeds/mkl.ics?kind=storytime", programme),
        ("/feeds/mkl.ics?audience=0-5", programme),
        ("/feeds/mkl.ics?branch=center", programme),
        (f"/feeds/mkl/routes/{town.public_route}.ics", route),
        (f"/feeds/mkl/stops/{town.public_stop}.ics", route),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert _feed(response.content) == expected, path
    for path in (
        f"/feeds/mkl/routes/{town.hidden_route}.ics",
        f"/feeds/mkl/stops/{town.private_stop}.ics",
        f"/feeds/mkl/stops/{town.hidden_route_stop}.ics",
        f"/feeds/mkl/routes/{town.waiting_route}.ics",
        f"/feeds/mkl/stops/{town.waiting_route_stop}.ics",
    ):
        assert (await client.get(path, headers=headers)).status_code == 404, path


@pytest.mark.parametrize("who", READERS)
async def test_public_pages_show_only_public_events_and_stops(
    town: Town, client: httpx.AsyncClient, who: str
) -> None:
    headers = town.headers(who)
    page = (await client.get("/mkl/events", headers=headers)).text
    assert "HIDDEN" not in page
    assert {int(i) for i in re.findall(r'href="/mkl/events/(\d+)"', page)} == town.public_events
    assert re.search(
        r'<li class="entry cancelled">(?:(?!</li>).)*?<a class="title" href="/mkl/events/'
        rf'{town.public["cancelled"]}"><strong>Cancelled after publishing</strong>',
        page,
        re.S,
    )

    for ident in town.private.values():
        response = await client.get(f"/mkl/events/{ident}", headers=headers)
        assert response.status_code == 404
        assert "HIDDEN" not in response.text
    for name, title, status in (
        ("control", "Control storytime", "EventScheduled"),
        ("cancelled", "Cancelled after publishing", "EventCancelled"),
    ):
        response = await client.get(f"/mkl/events/{town.public[name]}", headers=headers)
        assert response.status_code == 200
        ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', response.text)
        assert ld is not None
        dates = json.loads(ld.group(1))["@graph"]
        assert [(d["name"], d["eventStatus"]) for d in dates] == [
            (title, f"https://schema.org/{status}")
        ] * 3
    route_page = await client.get(f"/mkl/events/{town.public_route_event}", headers=headers)
    assert "Public square" in route_page.text
    assert "HIDDEN" not in route_page.text

    bookmobile = (await client.get("/mkl/bookmobile", headers=headers)).text
    assert "HIDDEN" not in bookmobile
    assert re.findall(r'id="route-(\d+)"', bookmobile) == [str(town.public_route)]
    assert re.findall(r'id="stop-(\d+)"', bookmobile) == [str(town.public_stop)]
    stop_page = await client.get(f"/mkl/bookmobile/stops/{town.public_stop}", headers=headers)
    assert (stop_page.status_code, "Public square" in stop_page.text) == (200, True)
    for stop in (town.private_stop, town.hidden_route_stop, town.waiting_route_stop):
        response = await client.get(f"/mkl/bookmobile/stops/{stop}", headers=headers)
        assert (response.status_code, "HIDDEN" in response.text) == (404, False), stop


@pytest.mark.parametrize("who", READERS)
async def test_routes_api_shows_only_public_routes_and_stops(
    town: Town, client: httpx.AsyncClient, who: str
) -> None:
    headers = town.headers(who)
    for query in ("", "?library=mkl"):
        routes = (await client.get(f"/api/routes{query}", headers=headers)).json()["routes"]
        assert [(r["id"], [s["name"] for s in r["stops"]]) for r in routes] == [
            (town.public_route, ["Public square"])
        ]
    route = (await client.get(f"/api/routes/{town.public_route}", headers=headers)).json()
    assert [s["id"] for s in route["stops"]] == [town.public_stop]
    stops = (await client.get(f"/api/routes/{town.public_route}/stops", headers=headers)).json()
    assert [s["id"] for s in stops["stops"]] == [town.public_stop]
    csv_text = (
        await client.get(f"/api/routes/{town.public_route}/stops.csv", headers=headers)
    ).text
    assert [line.split(",")[4] for line in csv_text.splitlines()] == ["stop", "Public square"]
    for route_id, path in itertools.product(
        (town.hidden_route, town.waiting_route), ("", "/stops", "/stops.csv")
    ):
        response = await client.get(f"/api/routes/{route_id}{path}", headers=headers)
        assert (response.status_code, response.json()) == (404, {"error": "route not found"})
    nearest = await client.get("/api/stops/nearest?lat=46.55&lon=15.58&limit=20", headers=headers)
    assert [s["id"] for s in nearest.json()["stops"]] == [town.public_stop]


def _published(directory: Path) -> dict[str, dict[str, str]]:
    """Every feed file under ``directory`` (by its path there), read as :func:`_feed`."""
    return {
        path.relative_to(directory).as_posix(): _feed(path.read_bytes())
        for path in sorted(directory.rglob("*.ics"))
    }


async def test_static_publishing_writes_only_public_events(
    town: Town, backend: str, tmp_path: Path
) -> None:
    code, out, err = await outreach(backend, "publish", "--out", str(tmp_path))
    # Standard error tells the progress (three scopes: two libraries and a network).
    progress = "".join(
        [f"publish: building feeds {n}/3 ({n * 100 // 3}%)\n" for n in (1, 2, 3)]
        + [f"publish: writing files {n}/7 ({n * 100 // 7}%)\n" for n in range(1, 8)]
    )
    assert (code, out, err) == (0, f"published 8 file(s) under {tmp_path}\n", progress)
    programme = {
        _uid(town.public["control"]): "CONFIRMED",
        _uid(town.public["cancelled"]): "CANCELLED",
        _uid(town.public["held"]): "CONFIRMED",
        _uid(town.public["approved"]): "CONFIRMED",
    }
    route = {_uid(town.public_route_event, town.public_stop): "CONFIRMED"}
    assert _published(tmp_path) == {
        "kr.ics": {},
        "mkl.ics": programme | route,
        # Each goal by its strategy (f26d1fc), and by its bare code as before, for the
        # subscriptions to those addresses; the network's by its members' strategies.
        "mkl/goals/A1.ics": programme,
        "mkl/goals/strategy/A1.ics": programme,
        "networks/net.ics": programme | route,
        "networks/net/goals/A1.ics": programme,
        "networks/net/goals/strategy/A1.ics": programme,
    }


async def test_the_rule_reads_the_same_in_the_orm_in_sql_and_on_a_loaded_event(db: str) -> None:
    """Every combination of visibility, status, publication and cancellation time, in
    the three spellings of the rule; with a grace, only recent cancellations count."""
    library = await make_library()
    stamp = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    grace = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    expected: set[int] = set()
    recent: set[int] = set()
    for visibility, status, published, cancelled_at, approval in itertools.product(
        Visibility, EventStatus, (False, True), (None, stamp, grace), ApprovalState
    ):
        if (status == EventStatus.CANCELLED) != (cancelled_at is not None):
            continue
        event = await Event.create(
            library=library,
            kind=EventKind.CLUB,
            title={"sl": "Klub"},
            starts_at=stamp,
            ends_at=stamp + dt.timedelta(hours=1),
            timezone=library.timezone,
            visibility=visibility,
            status=status,
            cancelled_at=cancelled_at,
            updated_at=stamp,
            approval=approval,
        )
        # Past save(), which keeps published_at in step with the status: every state the
        # table can hold, even one no writer leaves.
        await Event.filter(id=event.id).update(published_at=stamp if published else None)
        approved = approval in (ApprovalState.NOT_NEEDED, ApprovalState.APPROVED)
        if (
            visibility == Visibility.PUBLIC
            and status != EventStatus.DRAFT
            and published
            and approved
        ):
            expected.add(event.id)
            if cancelled_at != stamp:
                recent.add(event.id)
    assert len(expected) == 6

    async def ids(condition: tuple[str, list[object]]) -> set[int]:
        text, params = condition
        rows = await sql.Sql().rows(f"SELECT e.id FROM event e WHERE {text}", params)
        return {int(row["id"]) for row in rows}

    assert {e.id for e in await Event.filter(publicity.events())} == expected
    assert await ids(publicity.events_sql("e")) == expected
    assert {e.id for e in await Event.all() if publicity.is_public(e)} == expected
    assert len(recent) == 4
    assert {e.id for e in await Event.filter(publicity.events(cancelled_since=grace))} == recent
    assert await ids(publicity.events_sql("e", cancelled_since=grace)) == recent


async def test_saving_an_event_keeps_its_publication_in_step(db: str) -> None:
    library = await make_library()
    first = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    event = await Event.create(
        library=library,
        kind=EventKind.CLUB,
        title={"sl": "Klub"},
        starts_at=first,
        ends_at=first + dt.timedelta(hours=1),
        timezone=library.timezone,
        updated_at=first,
    )
    steps = []
    for day, status in enumerate(
        (EventStatus.PUBLISHED, EventStatus.PUBLISHED, EventStatus.CANCELLED,
         EventStatus.PUBLISHED, EventStatus.DRAFT, EventStatus.CANCELLED),
        start=2,
    ):  # fmt: skip
        event.status = status
        event.updated_at = first.replace(day=day)
        await event.save(update_fields=["status", "updated_at"])
        stored = await Event.get(id=event.id)
        steps.append((status.value, stored.published_at and stored.published_at.day))
    assert (event.published_at, steps) == (
        None,
        [
            ("published", 2),  # published: since this write
            ("published", 2),  # still the first publication
            ("cancelled", 2),  # cancelled: kept
            ("published", 2),  # published again: listed all along
            ("draft", None),  # back to draft: cleared
            ("cancelled", None),  # a draft cancelled: never public
        ],
    )


async def test_a_writer_s_route_is_public_once_a_director_approves_it(
    town: Town, client: httpx.AsyncClient
) -> None:
    """The waiting route reaches every surface with the director's approval (so the
    checks above could see it); in a library whose directors approve every change, the
    writer may not change a published route (409, nothing written) but may cancel."""
    editor = {"Authorization": f"Bearer {town.tokens['editor']}"}
    writer = {"Authorization": f"Bearer {town.tokens['writer']}"}
    pending = "/api/approvals?library=mkl&decision=pending"
    waiting = {
        a["event"]: a for a in (await client.get(pending, headers=editor)).json()["approvals"]
    }
    request = waiting[town.private["waiting_route_event"]]
    assert (request["kind"], request["changes"]) == ("publish", {})
    approved = await client.post(f"/api/approvals/{request['id']}/approve", json={}, headers=editor)
    assert approved.status_code == 200, approved.text

    route_uid = _uid(town.private["waiting_route_event"], town.waiting_route_stop)
    feed = await client.get(f"/feeds/mkl/routes/{town.waiting_route}.ics")
    assert _feed(feed.content.replace(b"HIDDEN", b"shown")) == {route_uid: "CONFIRMED"}
    programme = _feed((await client.get("/feeds/mkl.ics")).content.replace(b"HIDDEN", b"shown"))
    assert programme[route_uid] == "CONFIRMED"
    bookmobile = (await client.get("/mkl/bookmobile")).text
    assert re.findall(r'id="route-(\d+)"', bookmobile) == [
        str(town.public_route),
        str(town.waiting_route),
    ]
    stop_page = await client.get(f"/mkl/bookmobile/stops/{town.waiting_route_stop}")
    assert (stop_page.status_code, "HIDDEN waiting stop" in stop_page.text) == (200, True)
    routes = (await client.get("/api/routes?library=mkl")).json()["routes"]
    assert [r["id"] for r in routes] == [town.public_route, town.waiting_route]
    nearest = await client.get("/api/stops/nearest?lat=46.55&lon=15.58&limit=20")
    assert sorted(s["id"] for s in nearest.json()["stops"]) == sorted(
        [town.public_stop, town.waiting_route_stop]
    )

    moved = {"stops": [_stop("HIDDEN waiting stop", "12:00")]}
    refused = await client.put(
        f"/api/routes/{town.waiting_route}/stops", json=moved, headers=writer
    )
    assert (refused.status_code, refused.json()) == (
        409,
        {
            "error": "a director must make or approve this change",
            "fields": {
                "approval": "In this library a director makes or approves every change to a"
                " published route: ask a director to make this change."
            },
            "codes": {"approval": "approval_needed"},
        },
    )
    renamed = await client.patch(
        f"/api/routes/{town.waiting_route}", json={"name": "Renamed"}, headers=writer
    )
    assert renamed.status_code == 409
    unchanged = (await client.get(f"/api/routes/{town.waiting_route}")).json()
    assert (unchanged["name"], unchanged["stops"][0]["arrival"]) == (
        "HIDDEN waiting route",
        "11:00",
    )

    # Cancelling is never held: the held change to the cancelled event is withdrawn.
    held = town.public["held"]
    assert held in {
        a["event"] for a in (await client.get(pending, headers=editor)).json()["approvals"]
    }
    cancelled = await client.delete(f"/api/events/{held}", headers=writer)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    left = {a["event"] for a in (await client.get(pending, headers=editor)).json()["approvals"]}
    assert held not in left
    run = _day(1, 3).isoformat()
    gone = await client.post(
        f"/api/routes/{town.waiting_route}/runs/{run}/cancel", json={}, headers=writer
    )
    assert (gone.status_code, gone.json()["visits_cancelled"]) == (200, 1)

    # Where directors approve only new events, the writer changes a published route.
    await Library.filter(slug="mkl").update(approval=ApprovalPolicy.NEW_EVENTS)
    changed = await client.put(
        f"/api/routes/{town.waiting_route}/stops", json=moved, headers=writer
    )
    assert changed.status_code == 200, changed.text
    stops = (await client.get(f"/api/routes/{town.waiting_route}")).json()["stops"]
    assert stops[0]["arrival"] == "12:00"
