"""The events API end to end: create, read, list, change, cancel, one occurrence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from outreach.models import (
    AuditEntry,
    Event,
    EventKind,
    Fuel,
    Occurrence,
    OccurrenceOverride,
    Vehicle,
    Visibility,
)
from outreach.models.bookmobile import Route, Stop
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.versions import current_data_version

from .conftest import World, event_body, make_event


async def _create(client: httpx.AsyncClient, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/events", json=event_body(world, **changes), headers=world.auth("editor")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_answers_201_with_every_field(world: World, client: httpx.AsyncClient) -> None:
    version_before, _ = await current_data_version()
    response = await client.post(
        "/api/events",
        json=event_body(
            world,
            description={"sl": "Za najmlajše"},
            capacity=25,
            staff=[world.editor.id],
            co_organisers=["helmet"],
            exdates=["2026-12-15T17:00:00"],
            tags=[{"goal": "A1", "primary": True}, {"value": "equality"}],
            place={"name": "Park Tivoli", "address": "Tivoli 1", "lat": 46.06, "lon": 14.49},
        ),
        headers=world.auth("editor"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    event_id = body.pop("id")
    created_at, updated_at = body.pop("created_at"), body.pop("updated_at")
    assert created_at.endswith("Z")
    assert updated_at.endswith("Z")
    assert body == {
        "library": "mkl",
        "kind": "storytime",
        "title": {"sl": "Pravljična ura", "en": "Story time"},
        "description": {"sl": "Za najmlajše"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
        "all_day": False,
        "timezone": "Europe/Ljubljana",
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "exdates": ["2026-12-15T17:00:00"],
        "branch": "center",
        "room": world.room.id,
        "place": {"name": "Park Tivoli", "address": "Tivoli 1", "lat": 46.06, "lon": 14.49},
        "audiences": ["0-5", "families"],
        "languages": ["sl"],
        "format": "in_person",
        "online_url": "",
        "capacity": 25,
        "partners": [],
        "co_organisers": ["helmet"],
        "staff": [world.editor.id],
        "visibility": "public",
        "status": "published",
        "tags": [
            {"goal": "A1", "strategy": "net-2025", "primary": True},
            {"value": "equality", "strategy": "net-2025", "primary": False},
        ],
        "revision": 1,
        "starts_at": "2026-12-01T16:00:00Z",
        "ends_at": "2026-12-01T17:00:00Z",
        "cancelled_at": None,
        "warnings": [],
    }
    starts = (
        await Occurrence.filter(event_id=event_id)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
    )
    assert [s.astimezone(dt.UTC).day for s in starts] == [1, 8, 22]  # type: ignore[attr-defined]  # the 15th is excluded
    audit = await AuditEntry.get(entity="event", entity_id=str(event_id))
    assert (audit.action, audit.user_id) == ("create", world.editor.id)  # type: ignore[attr-defined]
    assert audit.changes["event"]["rrule"] == "FREQ=WEEKLY;COUNT=4"
    assert (await current_data_version())[0] == version_before + 1


async def test_all_day_exhibition_round_trips_dates(
    world: World, client: httpx.AsyncClient
) -> None:
    body = await _create(
        client,
        world,
        kind="exhibition",
        all_day=True,
        start="2026-10-20",
        end="2026-11-15",
        rrule=None,
        room=None,
    )
    assert (body["start"], body["end"], body["all_day"]) == ("2026-10-20", "2026-11-15", True)
    # Local midnight of 20 October (CEST) to local midnight after 15 November (CET).
    assert (body["starts_at"], body["ends_at"]) == ("2026-10-19T22:00:00Z", "2026-11-15T23:00:00Z")
    assert await Occurrence.filter(event_id=body["id"]).count() == 1


async def test_offset_times_are_converted_to_the_event_zone(
    world: World, client: httpx.AsyncClient
) -> None:
    body = await _create(
        client, world, start="2026-12-01T16:00:00Z", end="2026-12-01T18:00:00+01:00"
    )
    assert (body["start"], body["end"]) == ("2026-12-01T17:00:00", "2026-12-01T18:00:00")


async def test_event_outside_opening_hours_is_accepted_with_a_warning(
    world: World, client: httpx.AsyncClient
) -> None:
    # Sundays the branch is closed; Saturdays it closes at 13:00.
    body = await _create(
        client,
        world,
        start="2026-12-05T12:00:00",
        end="2026-12-05T14:00:00",
        rrule="FREQ=DAILY;COUNT=3",
    )
    assert body["warnings"] == [
        {
            "warning": "outside_opening_hours",
            "message": "2 of 3 occurrences fall outside the opening hours of their branch",
            "count": 2,
            "checked": 3,
            "occurrences": ["2026-12-05T12:00:00", "2026-12-06T12:00:00"],
        }
    ]


async def test_get_shows_drafts_and_staff_only_to_the_library(
    world: World, client: httpx.AsyncClient
) -> None:
    draft = await _create(client, world, status="draft", staff=[world.editor.id])
    assert (await client.get(f"/api/events/{draft['id']}")).status_code == 404
    assert (
        await client.get(f"/api/events/{draft['id']}", headers=world.auth("outsider"))
    ).status_code == 404
    seen = await client.get(f"/api/events/{draft['id']}", headers=world.auth("director"))
    assert seen.status_code == 200
    assert seen.json()["staff"] == [world.editor.id]
    published = await _create(
        client,
        world,
        start="2026-12-02T10:00:00",
        end="2026-12-02T11:00:00",
        staff=[world.editor.id],
    )
    public = (await client.get(f"/api/events/{published['id']}")).json()
    assert "staff" not in public
    assert public["title"] == {"sl": "Pravljična ura", "en": "Story time"}
    assert (await client.get("/api/events/999999")).status_code == 404


async def test_list_filters_and_pages(world: World, client: httpx.AsyncClient) -> None:
    storytime = await _create(client, world, tags=[{"goal": "A1"}])
    lecture = await _create(
        client,
        world,
        kind="lecture",
        audiences=["19+"],
        room=world.hall.id,
        start="2027-02-02T18:00:00",
        end="2027-02-02T19:30:00",
        rrule=None,
        tags=[{"value": "equality"}],
    )
    helsinki = await client.post(
        "/api/events",
        json={
            "library": "helmet",
            "kind": "club",
            "title": {"fi": "Lukupiiri"},
            "start": "2026-12-03T18:00:00",
            "end": "2026-12-03T19:00:00",
            "status": "published",
        },
        headers=world.auth("editor"),
    )
    assert helsinki.status_code == 403  # the editor of mkl has no role in helmet

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/api/events?{query}", headers=world.auth("director"))
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["events"]]

    assert await ids("library=mkl") == [storytime["id"], lecture["id"]]
    assert await ids("library=mkl&kind=lecture") == [lecture["id"]]
    assert await ids("library=mkl&audience=0-5") == [storytime["id"]]
    assert await ids("library=mkl&goal=A1") == [storytime["id"]]
    assert await ids("library=mkl&value=equality") == [lecture["id"]]
    assert await ids("branch=center&status=published") == [storytime["id"], lecture["id"]]
    assert await ids("from=2027-01-01&to=2027-03-01") == [lecture["id"]]
    assert await ids("from=2026-12-20T00:00:00Z") == [storytime["id"], lecture["id"]]
    assert await ids("status=draft") == []
    first = (await client.get("/api/events?library=mkl&limit=1")).json()
    assert ([e["id"] for e in first["events"]], first["count"]) == ([storytime["id"]], 2)
    assert first["next"] == "/api/events?library=mkl&limit=1&offset=1"
    second = (await client.get(first["next"])).json()
    assert ([e["id"] for e in second["events"]], second["next"]) == ([lecture["id"]], None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("library=nowhere", "library"),
        ("branch=nowhere", "branch"),
        ("kind=party", "kind"),
        ("audience=pets", "audience"),
        ("status=lost", "status"),
        ("goal=B2&library=mkl", "goal"),  # Skopje's goal does not apply to mkl
        ("value=nothing", "value"),
        ("from=yesterday", "from"),
        ("from=2027-01-01&to=2026-01-01", "to"),
        ("limit=500", "limit"),
        ("offset=-1", "offset"),
        ("colour=red", "colour"),
    ],
)
async def test_list_refuses_bad_filters(
    world: World, client: httpx.AsyncClient, query: str, field: str
) -> None:
    response = await client.get(f"/api/events?{query}")
    assert response.status_code == 422
    assert field in response.json()["fields"]


async def test_patch_changes_only_what_is_given_and_rebuilds(
    world: World, client: httpx.AsyncClient
) -> None:
    created = await _create(client, world)
    event_id = created["id"]
    version_before, _ = await current_data_version()
    response = await client.patch(
        f"/api/events/{event_id}",
        json={"rrule": "FREQ=WEEKLY;COUNT=2", "revision": 1},
        headers=world.auth("editor"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rrule"], body["revision"], body["title"]) == (
        "FREQ=WEEKLY;COUNT=2",
        2,
        created["title"],
    )
    assert body["updated_at"] > created["updated_at"]
    assert await Occurrence.filter(event_id=event_id).count() == 2
    audit = await AuditEntry.filter(entity_id=str(event_id), action="update").get()
    assert audit.changes == {"rrule": ["FREQ=WEEKLY;COUNT=4", "FREQ=WEEKLY;COUNT=2"]}
    assert (await current_data_version())[0] == version_before + 1
    stale = await client.patch(
        f"/api/events/{event_id}", json={"capacity": 3, "revision": 1}, headers=world.auth("editor")
    )
    assert stale.status_code == 409
    assert stale.json()["fields"] == {"revision": "the event is at revision 2, not 1"}
    assert (await Event.get(id=event_id)).capacity is None
    moved = await client.patch(
        f"/api/events/{event_id}",
        json={"room": world.hall.id, "staff": [world.director.id], "audiences": ["seniors"]},
        headers=world.auth("editor"),
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["room"], moved.json()["staff"], moved.json()["audiences"]) == (
        world.hall.id,
        [world.director.id],
        ["seniors"],
    )
    rooms = await Occurrence.filter(event_id=event_id).values_list("room_id", flat=True)
    assert rooms == [world.hall.id, world.hall.id]  # type: ignore[comparison-overlap]


async def test_delete_cancels_and_keeps_the_event(world: World, client: httpx.AsyncClient) -> None:
    created = await _create(client, world)
    response = await client.delete(f"/api/events/{created['id']}", headers=world.auth("editor"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["revision"]) == ("cancelled", 2)
    assert body["cancelled_at"] is not None
    assert await Occurrence.filter(event_id=created["id"], cancelled=False).count() == 0
    assert await Occurrence.filter(event_id=created["id"], cancelled=True).count() == 4
    # The room is free again.
    await _create(client, world)
    # Publishing it again brings its occurrences back, and checks the room again.
    again = await client.patch(
        f"/api/events/{created['id']}", json={"status": "published"}, headers=world.auth("editor")
    )
    assert again.status_code == 409


async def test_change_one_occurrence(world: World, client: httpx.AsyncClient) -> None:
    created = await _create(client, world)
    event_id = created["id"]
    path = f"/api/events/{event_id}/occurrences"
    moved = await client.patch(
        f"{path}/2026-12-08T16:00:00Z",
        json={
            "start": "2026-12-09T10:00:00",
            "end": "2026-12-09T11:00:00",
            "room": world.hall.id,
            "title": {"sl": "Posebna"},
        },
        headers=world.auth("editor"),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["revision"] == 2
    cancelled = await client.patch(
        f"{path}/2026-12-15T16:00:00Z", json={"cancelled": True}, headers=world.auth("editor")
    )
    assert cancelled.status_code == 200
    listed = (await client.get("/api/occurrences?library=mkl&from=2026-12-01&to=2027-01-01")).json()
    assert [
        (o["original_start"], o["start"], o["local_start"], o["room"], o["cancelled"])
        for o in listed["occurrences"]
    ] == [
        (
            "2026-12-01T16:00:00Z",
            "2026-12-01T16:00:00Z",
            "2026-12-01T17:00:00+01:00",
            world.room.id,
            False,
        ),
        (
            "2026-12-08T16:00:00Z",
            "2026-12-09T09:00:00Z",
            "2026-12-09T10:00:00+01:00",
            world.hall.id,
            False,
        ),
        (
            "2026-12-15T16:00:00Z",
            "2026-12-15T16:00:00Z",
            "2026-12-15T17:00:00+01:00",
            world.room.id,
            True,
        ),
        (
            "2026-12-22T16:00:00Z",
            "2026-12-22T16:00:00Z",
            "2026-12-22T17:00:00+01:00",
            world.room.id,
            False,
        ),
    ]
    titles = [o["title"]["sl"] for o in listed["occurrences"]]
    assert titles == ["Pravljična ura", "Posebna", "Pravljična ura", "Pravljična ura"]
    override = await OccurrenceOverride.get(
        event_id=event_id, original_start=dt.datetime(2026, 12, 8, 16, tzinfo=dt.UTC)
    )
    assert override.title == {"sl": "Posebna"}
    # The series itself is untouched.
    assert (await Event.get(id=event_id)).rrule == "FREQ=WEEKLY;COUNT=4"
    missing = await client.patch(
        f"{path}/2026-12-09T16:00:00Z", json={"cancelled": True}, headers=world.auth("editor")
    )
    assert missing.status_code == 404
    malformed = await client.patch(
        f"{path}/tuesday", json={"cancelled": True}, headers=world.auth("editor")
    )
    assert (malformed.status_code, malformed.json()["fields"].keys()) == (422, {"original_start"})
    bad_end = await client.patch(
        f"{path}/2026-12-22T16:00:00Z",
        json={"start": "2026-12-22T18:00:00", "end": "2026-12-22T17:00:00"},
        headers=world.auth("editor"),
    )
    assert (bad_end.status_code, bad_end.json()["fields"]) == (422, {"end": "must be after start"})
    foreign_room = await client.patch(
        f"{path}/2026-12-22T16:00:00Z",
        json={"room": world.other_room.id},
        headers=world.auth("editor"),
    )
    assert (foreign_room.status_code, list(foreign_room.json()["fields"])) == (422, ["room"])


async def test_occurrence_json(world: World, client: httpx.AsyncClient) -> None:
    created = await _create(client, world, rrule=None)
    listed = (await client.get("/api/occurrences?library=mkl&from=2026-12-01&to=2026-12-02")).json()
    assert listed == {
        "occurrences": [
            {
                "event": created["id"],
                "title": {"sl": "Pravljična ura", "en": "Story time"},
                "original_start": "2026-12-01T16:00:00Z",
                "start": "2026-12-01T16:00:00Z",
                "end": "2026-12-01T17:00:00Z",
                "local_start": "2026-12-01T17:00:00+01:00",
                "local_end": "2026-12-01T18:00:00+01:00",
                "timezone": "Europe/Ljubljana",
                "all_day": False,
                "cancelled": False,
                "branch": "center",
                "room": world.room.id,
                "stop": None,
                "vehicle": None,
            }
        ],
        "count": 1,
        "next": None,
    }
    too_long = await client.get("/api/occurrences?from=2026-01-01&to=2028-01-01")
    assert (too_long.status_code, list(too_long.json()["fields"])) == (422, ["to"])


async def test_private_stops_and_internal_events_stay_private(
    world: World, client: httpx.AsyncClient
) -> None:
    vehicle = await Vehicle.create(
        library=world.ljubljana,
        slug="bibliobus",
        name="Bibliobus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.9,
        emission_factor_source="test",
    )
    event = await make_event(
        world.ljubljana,
        kind=EventKind.BOOKMOBILE,
        starts_at=dt.datetime(2026, 12, 1, 7, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC),
    )
    route = await Route.create(
        library=world.ljubljana,
        vehicle=vehicle,
        depot=world.branch,
        event=event,
        code="B1",
        name="B1",
        valid_from=dt.date(2026, 1, 1),
    )
    await Stop.create(
        route=route,
        position=1,
        name="Trg",
        lat=46.1,
        lon=14.5,
        arrival=dt.time(9),
        minutes_parked=30,
    )
    await Stop.create(
        route=route,
        position=2,
        name="Dom starejših",
        lat=46.2,
        lon=14.6,
        arrival=dt.time(10),
        minutes_parked=30,
        visibility=Visibility.INTERNAL,
    )
    await rebuild_occurrences(event, horizon_end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    await _create(client, world, visibility="internal", rrule=None)
    query = "/api/occurrences?library=mkl&from=2026-12-01&to=2026-12-02"
    public = (await client.get(query)).json()["occurrences"]
    assert [o["local_start"] for o in public] == ["2026-12-01T09:00:00+01:00"]
    staff = (await client.get(query, headers=world.auth("director"))).json()["occurrences"]
    assert [o["local_start"] for o in staff] == [
        "2026-12-01T09:00:00+01:00",
        "2026-12-01T10:00:00+01:00",
        "2026-12-01T17:00:00+01:00",
    ]


async def test_dst_gap_and_overlap_through_the_api(world: World, client: httpx.AsyncClient) -> None:
    gap = await _create(
        client,
        world,
        start="2026-03-22T02:30:00",
        end="2026-03-22T03:00:00",
        rrule="FREQ=WEEKLY;COUNT=2",
    )
    overlap = await _create(
        client,
        world,
        timezone="Europe/Helsinki",
        room=world.hall.id,
        start="2026-10-18T03:30:00",
        end="2026-10-18T04:00:00",
        rrule="FREQ=WEEKLY;COUNT=2",
    )
    query = "/api/occurrences?from=2026-03-01&to=2026-11-01&library=mkl"
    listed = (await client.get(query)).json()["occurrences"]
    assert [(o["event"], o["start"], o["local_start"], o["timezone"]) for o in listed] == [
        (gap["id"], "2026-03-22T01:30:00Z", "2026-03-22T02:30:00+01:00", "Europe/Ljubljana"),
        # 02:30 does not exist on 29 March: shifted forward by the gap to 03:30 CEST.
        (gap["id"], "2026-03-29T01:30:00Z", "2026-03-29T03:30:00+02:00", "Europe/Ljubljana"),
        (overlap["id"], "2026-10-18T00:30:00Z", "2026-10-18T03:30:00+03:00", "Europe/Helsinki"),
        # 03:30 happens twice on 25 October in Helsinki: the first (EEST) is meant, and
        # the offset says which.
        (overlap["id"], "2026-10-25T00:30:00Z", "2026-10-25T03:30:00+03:00", "Europe/Helsinki"),
    ]
