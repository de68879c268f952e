"""Double bookings of rooms, staff and vehicles, across series and overrides, and races."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from typing import Any

import httpx
import pytest
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from outreach.models import Event, EventKind, Fuel, Occurrence, Vehicle
from outreach.models.bookmobile import Route, Stop
from outreach.scheduling.conflicts import Conflict, begin_write, find_conflicts, overlap_query
from outreach.scheduling.occurrences import rebuild_occurrences

from .conftest import World, event_body, make_event

STORYTIME_TITLE = {"sl": "Pravljična ura", "en": "Story time"}


async def _post(client: httpx.AsyncClient, world: World, **changes: Any) -> httpx.Response:
    return await client.post(
        "/api/events", json=event_body(world, **changes), headers=world.auth("editor")
    )


def _lecture(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": "lecture",
        "title": {"sl": "Predavanje"},
        "start": "2026-12-15T17:30:00",
        "end": "2026-12-15T18:30:00",
        "rrule": None,
    }
    values.update(changes)
    return values


async def test_one_off_conflicts_with_a_weekly_series(
    world: World, client: httpx.AsyncClient
) -> None:
    series = (await _post(client, world)).json()
    response = await _post(client, world, **_lecture())
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "conflicts": [
            {
                "event": series["id"],
                "title": STORYTIME_TITLE,
                "start": "2026-12-15T16:00:00Z",
                "end": "2026-12-15T17:00:00Z",
                "resource": "room",
                "resource_id": world.room.id,
            }
        ],
    }
    # Back to back is no overlap, and another room is free.
    assert (
        await _post(
            client, world, **_lecture(start="2026-12-15T18:00:00", end="2026-12-15T19:00:00")
        )
    ).status_code == 201
    assert (await _post(client, world, **_lecture(room=world.hall.id))).status_code == 201
    assert await Event.all().count() == 3


async def test_cancelled_occurrence_frees_its_room(world: World, client: httpx.AsyncClient) -> None:
    series = (await _post(client, world)).json()
    path = f"/api/events/{series['id']}/occurrences/2026-12-15T16:00:00Z"
    assert (
        await client.patch(path, json={"cancelled": True}, headers=world.auth("editor"))
    ).status_code == 200
    assert (await _post(client, world, **_lecture())).status_code == 201
    # Restoring the occurrence would now double-book the room.
    restored = await client.patch(path, json={"cancelled": False}, headers=world.auth("editor"))
    assert restored.status_code == 409
    assert [c["resource"] for c in restored.json()["conflicts"]] == ["room"]
    assert await Occurrence.filter(event_id=series["id"], cancelled=True).count() == 1


async def test_moved_occurrence_conflicts_with_another_series(
    world: World, client: httpx.AsyncClient
) -> None:
    storytime = (await _post(client, world)).json()
    # A Wednesday club in the hall, weekly.
    club = await _post(
        client,
        world,
        kind="club",
        title={"sl": "Bralni klub"},
        room=world.hall.id,
        start="2026-12-02T18:00:00",
        end="2026-12-02T20:00:00",
    )
    assert club.status_code == 201
    path = f"/api/events/{storytime['id']}/occurrences/2026-12-08T16:00:00Z"
    moved = await client.patch(
        path,
        json={"start": "2026-12-09T19:00:00", "end": "2026-12-09T20:00:00", "room": world.hall.id},
        headers=world.auth("editor"),
    )
    assert moved.status_code == 409
    assert moved.json()["conflicts"] == [
        {
            "event": club.json()["id"],
            "title": {"sl": "Bralni klub"},
            "start": "2026-12-09T17:00:00Z",
            "end": "2026-12-09T19:00:00Z",
            "resource": "room",
            "resource_id": world.hall.id,
        }
    ]
    # Nothing was written: the occurrence is where it was.
    occurrence = await Occurrence.get(
        event_id=storytime["id"], original_start=dt.datetime(2026, 12, 8, 16, tzinfo=dt.UTC)
    )
    room_id = occurrence.room_id  # type: ignore[attr-defined]
    assert (occurrence.starts_at, room_id) == (
        dt.datetime(2026, 12, 8, 16, tzinfo=dt.UTC),
        world.room.id,
    )
    # Moving it into the hall an hour later is fine, and a one-off in the room it left is too.
    later = await client.patch(
        path,
        json={"start": "2026-12-09T20:00:00", "end": "2026-12-09T21:00:00", "room": world.hall.id},
        headers=world.auth("editor"),
    )
    assert later.status_code == 200
    assert (
        await _post(
            client, world, **_lecture(start="2026-12-08T17:00:00", end="2026-12-08T18:00:00")
        )
    ).status_code == 201


async def test_same_staff_member_cannot_be_in_two_places(
    world: World, client: httpx.AsyncClient
) -> None:
    first = (await _post(client, world, staff=[world.editor.id])).json()
    response = await _post(
        client, world, **_lecture(room=world.hall.id, staff=[world.editor.id, world.director.id])
    )
    assert response.status_code == 409
    assert {
        (c["event"], c["resource"], c["resource_id"]) for c in response.json()["conflicts"]
    } == {(first["id"], "staff", world.editor.id)}
    assert (
        await _post(client, world, **_lecture(room=world.hall.id, staff=[world.director.id]))
    ).status_code == 201


async def test_patch_into_a_conflict_changes_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    await _post(client, world)
    lecture = (await _post(client, world, **_lecture(room=world.hall.id))).json()
    response = await client.patch(
        f"/api/events/{lecture['id']}", json={"room": world.room.id}, headers=world.auth("editor")
    )
    assert response.status_code == 409
    event = await Event.get(id=lecture["id"])
    assert (event.room_id, event.revision) == (world.hall.id, 1)  # type: ignore[attr-defined]


async def test_same_vehicle_cannot_run_two_routes_at_once(world: World) -> None:
    vehicle = await Vehicle.create(
        library=world.helsinki,
        slug="auto",
        name="Auto",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.9,
        emission_factor_source="test",
    )
    events = []
    for code, arrival in (("R1", dt.time(9, 30)), ("R2", dt.time(9, 45))):
        event = await make_event(
            world.helsinki,
            kind=EventKind.BOOKMOBILE,
            starts_at=dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 12, 1, 14, tzinfo=dt.UTC),
            rrule="FREQ=WEEKLY;COUNT=2",
        )
        route = await Route.create(
            library=world.helsinki,
            vehicle=vehicle,
            depot=world.branch,
            event=event,
            code=code,
            name=code,
            valid_from=dt.date(2026, 12, 1),
        )
        await Stop.create(
            route=route,
            position=1,
            name="Stop",
            lat=66.5,
            lon=25.7,
            arrival=arrival,
            minutes_parked=30,
        )
        await rebuild_occurrences(event, horizon_end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        events.append(event)
    conflicts = await find_conflicts(connections.get("default"), events[1].id)
    assert conflicts == [
        Conflict(
            events[0].id,
            dt.datetime(2026, 12, d, 7, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 12, d, 8, tzinfo=dt.UTC),
            "vehicle",
            vehicle.id,
        )
        for d in (1, 8)
    ]


async def test_twenty_simultaneous_bookings_of_one_room_let_exactly_one_win(
    world: World, client: httpx.AsyncClient
) -> None:
    # asyncio.gather starts all twenty requests before any finishes: on PostgreSQL they run
    # in separate pooled connections and meet at the advisory lock; on SQLite at the single
    # write lock. Different staff per request would not matter: the room is shared.
    bodies = [
        event_body(
            world,
            title={"sl": f"Delavnica {i}"},
            rrule=None,
            start="2026-12-03T10:00:00",
            end="2026-12-03T12:00:00",
        )
        for i in range(20)
    ]
    responses = await asyncio.gather(
        *(client.post("/api/events", json=body, headers=world.auth("editor")) for body in bodies)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert await Event.all().count() == 1
    assert await Occurrence.all().count() == 1


async def test_sqlite_transactions_take_the_write_lock_first(world: World, backend: str) -> None:
    if backend.startswith("postgres"):
        pytest.skip("SQLite only: PostgreSQL serialises writers with advisory locks")
    path = backend.removeprefix("sqlite://").split("?")[0]
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with in_transaction("default") as conn:
            await begin_write(conn)
            # Another process can no longer write, so our check cannot go stale.
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("UPDATE data_version SET version = version + 1")
        other.execute("UPDATE data_version SET version = version + 1")
    finally:
        other.close()


async def test_simultaneous_patches_of_one_revision_let_one_win(
    world: World, client: httpx.AsyncClient
) -> None:
    event_id = (await _post(client, world)).json()["id"]
    responses = await asyncio.gather(
        *(
            client.patch(
                f"/api/events/{event_id}",
                json={"capacity": n, "revision": 1},
                headers=world.auth("editor"),
            )
            for n in range(1, 6)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    winner = next(r.json() for r in responses if r.status_code == 200)
    event = await Event.get(id=event_id)
    assert (event.revision, event.capacity) == (2, winner["capacity"])


async def test_overlap_query_searches_indexes(world: World, backend: str) -> None:
    if backend.startswith("postgres"):
        pytest.skip("SQLite only: PostgreSQL plans a tiny table with sequential scans")
    conn = connections.get("default")
    plan = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + overlap_query(postgres=False), [1])
    steps = [row["detail"] for row in plan]
    # Every occurrence is found through an index, never by reading the whole table.
    assert not [s for s in steps if s.startswith("SCAN") and "occurrence" in s], steps
    assert any("USING INDEX occurrence_room_start" in s for s in steps), steps
    assert any("USING INDEX occurrence_vehicle_start" in s for s in steps), steps
