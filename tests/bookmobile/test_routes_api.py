"""The bookmobile API over real HTTP on a real database: routes, stops, checks, runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from outreach.models import AuditEntry, DataVersion, Event, Occurrence, Route, Stop
from tests.bookmobile.conftest import Bookmobiles, route_body, stop

UTC = dt.UTC


async def _create(client: httpx.AsyncClient, bm: Bookmobiles, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/routes", json=route_body(**overrides), headers=bm.auth())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_route_materialises_one_visit_per_run_and_stop(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _create(client, bm)
    assert body["code"] == "Z"
    assert body["rrule"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    assert body["weekday"] == "Tuesday"
    assert [(s["name"], s["arrival"], s["departure"]) for s in body["stops"]] == [
        ("Limbuš", "09:00", "09:30"),
        ("Bresternica", "10:00", "10:45"),
        ("Selnica ob Dravi", "11:30", "12:30"),
    ]
    assert body["warnings"] == []
    # Every other Tuesday from 6 January to 22 December 2026: 26 runs of 3 stops.
    rows = await Occurrence.filter(event_id=body["event"]).order_by("starts_at")
    assert len(rows) == 78
    assert all(r.vehicle_id == bm.vehicle.id for r in rows)  # type: ignore[attr-defined]
    assert [r.starts_at for r in rows[:3]] == [
        dt.datetime(2026, 1, 6, 8, 0, tzinfo=UTC),
        dt.datetime(2026, 1, 6, 9, 0, tzinfo=UTC),
        dt.datetime(2026, 1, 6, 10, 30, tzinfo=UTC),
    ]
    # 09:00 stays 09:00 in summer time (07:00 UTC) and the last run is on 22 December.
    assert dt.datetime(2026, 7, 7, 7, 0, tzinfo=UTC) in {r.starts_at for r in rows}
    assert rows[-1].starts_at == dt.datetime(2026, 12, 22, 10, 30, tzinfo=UTC)
    assert rows[-1].ends_at == dt.datetime(2026, 12, 22, 11, 30, tzinfo=UTC)
    event = await Event.get(id=body["event"])
    assert event.kind.value == "bookmobile"
    assert await AuditEntry.filter(entity="route", action="create").count() == 1
    assert (await DataVersion.get(scope="programme")).version >= 1


BAD_ROUTES: list[tuple[dict[str, Any], dict[str, str]]] = [
    (
        {"stops": [stop("Limbuš", 91.0, 15.58, "09:00", 30)]},
        {"stops[0].lat": "must be between -90 and 90"},
    ),
    (
        {"stops": [stop("Limbuš", 46.55, -180.5, "09:00", 30)]},
        {"stops[0].lon": "must be between -180 and 180"},
    ),
    (
        {"stops": [stop("Limbuš", 46.55, 15.58, "09:00", 0)]},
        {"stops[0].minutes_parked": "must be more than 0 minutes"},
    ),
    (
        {"stops": [stop("Limbuš", 46.55, 15.58, "09:00", -15)]},
        {"stops[0].minutes_parked": "must be more than 0 minutes"},
    ),
    (
        {"stops": [stop("Limbuš", 46.55, 15.58, "25:00", 15)]},
        {"stops[0].arrival": "must be a time of day such as 09:45"},
    ),
    (
        {
            "stops": [
                stop("Limbuš", 46.556, 15.586, "09:00", 30),
                stop("Bresternica", 46.572, 15.549, "09:20", 30),
            ]
        },
        {"stops[1].arrival": "arrives at 09:20, before the visit to Limbuš ends at 09:30"},
    ),
    ({"vehicle": "bus"}, {"vehicle": "no such vehicle"}),
    (
        {"rrule": "FREQ=HOURLY"},
        {"rrule": "FREQ=HOURLY is not allowed: events repeat at most daily"},
    ),
    ({"valid_until": "2025-01-01"}, {"valid_until": "must not be before valid_from"}),
    ({"stops": []}, {"stops": "must be a list of at least one stop"}),
    ({"code": "no spaces"}, {"code": "must be 1 to 32 letters, digits, '.', '_' or '-'"}),
]


async def test_bad_routes_are_refused_naming_the_field(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    # The problems beyond a field's own value carry a stable code too.
    coded = {"stops[1].arrival": "overlap", "valid_until": "ends_before_start"}
    for overrides, fields in BAD_ROUTES:
        response = await client.post("/api/routes", json=route_body(**overrides), headers=bm.auth())
        assert response.status_code == 422, overrides
        codes = {name: coded[name] for name in fields if name in coded}
        assert response.json() == {
            "error": "invalid input",
            "fields": fields,
            **({"codes": codes} if codes else {}),
        }
    assert await Route.all().count() == 0
    assert await Event.all().count() == 0


async def test_a_vehicle_of_another_library_is_refused(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/api/routes", json=route_body(vehicle=bm.other_vehicle.id), headers=bm.auth()
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"vehicle": "belongs to another library"}
    assert await Route.all().count() == 0


async def test_who_may_write(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/routes", json=route_body())).status_code == 401
    outsider = await client.post("/api/routes", json=route_body(), headers=bm.auth("outsider"))
    assert outsider.status_code == 403
    director = await client.post("/api/routes", json=route_body(), headers=bm.auth("director"))
    assert director.status_code == 403
    bad = await client.post(
        "/api/routes",
        content=b"{not json",
        headers={**bm.auth(), "content-type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "malformed JSON",
        "fields": {
            "body": "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        },
    }
    assert await Route.all().count() == 0


async def test_one_vehicle_cannot_be_on_two_routes_at_once(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _create(client, bm)
    # One stop at 11:00 on the same Tuesdays: between two visits of route Z, while the
    # bookmobile drives from Bresternica to Selnica. A clash although no visits overlap.
    response = await client.post(
        "/api/routes",
        json=route_body(code="V", stops=[stop("Kamnica", 46.57, 15.61, "10:50", 20)]),
        headers=bm.auth(),
    )
    # A double booking, as for rooms and staff: 409 with where the vehicle is.
    assert response.status_code == 409
    first = await Route.get(code="Z")
    assert response.json() == {
        "error": "conflict",
        "fields": {
            "vehicle": (
                # In Maribor's own time (08:00 UTC is 09:00 there).
                "the vehicle is on route Z on Tuesday, January 6, 2026,"
                " 09:00\u2009–\u200912:30, when route V needs it"
            )
        },
        "codes": {"vehicle": "vehicle_busy"},
        "conflicts": [
            {
                "event": first.event_id,  # type: ignore[attr-defined]
                "route": "Z",
                "start": "2026-01-06T08:00:00Z",
                "end": "2026-01-06T11:30:00Z",
                "resource": "vehicle",
                "resource_id": bm.vehicle.id,
            }
        ],
    }
    assert await Route.all().count() == 1
    assert await Occurrence.all().count() == 78
    # The afternoon is free.
    await _create(client, bm, code="V", stops=[stop("Kamnica", 46.57, 15.61, "14:00", 60)])
    assert await Occurrence.all().count() == 78 + 26


async def test_too_little_driving_time_is_a_warning(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _create(
        client,
        bm,
        stops=[
            stop("Limbuš", 46.5560, 15.5860, "09:00", 30),
            stop("Ptuj", 46.4200, 15.8700, "09:35", 30),
        ],
    )
    # 26.5 km in a straight line (15.1 km north-south, 21.8 km east-west) × 1.3.
    assert body["warnings"] == [
        "Limbuš → Ptuj: 34.4 km need about 52 min at 40 km/h, the timetable leaves 5 min"
    ]


async def test_replacing_stops_keeps_ids_and_rebuilds_visits(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _create(client, bm)
    ids = [s["id"] for s in body["stops"]]
    new_stops = [
        {**stop("Selnica ob Dravi", 46.5520, 15.4940, "09:00", 60), "id": ids[2]},
        {**stop("Bresternica", 46.5720, 15.5490, "10:15", 45), "id": ids[1]},
        stop("Kamnica", 46.5700, 15.6100, "11:15", 30),
    ]
    response = await client.put(
        f"/api/routes/{body['id']}/stops", json={"stops": new_stops}, headers=bm.auth()
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert [(s["id"], s["name"], s["arrival"]) for s in changed["stops"]][:2] == [
        (ids[2], "Selnica ob Dravi", "09:00"),
        (ids[1], "Bresternica", "10:15"),
    ]
    assert changed["revision"] == 2
    assert not await Stop.filter(id=ids[0]).exists()
    first_run = await Occurrence.filter(
        event_id=body["event"], starts_at__lt=dt.datetime(2026, 1, 7, tzinfo=UTC)
    ).order_by("starts_at")
    assert [(o.stop_id, o.starts_at.hour, o.starts_at.minute) for o in first_run] == [  # type: ignore[attr-defined]
        (ids[2], 8, 0),
        (ids[1], 9, 15),
        (changed["stops"][2]["id"], 10, 15),
    ]
    foreign = await client.put(
        f"/api/routes/{body['id']}/stops",
        json={"stops": [{**stop("X", 46.5, 15.5, "09:00", 10), "id": 99999}]},
        headers=bm.auth(),
    )
    assert foreign.status_code == 422
    assert foreign.json()["fields"] == {"stops[0].id": "is not a stop of this route"}


async def test_cancelling_a_run_cancels_every_visit_of_that_day(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _create(client, bm)
    url = f"/api/routes/{body['id']}/runs/2026-01-20/cancel"
    response = await client.post(url, json={"note": "Snow"}, headers=bm.auth())
    assert response.status_code == 200
    assert response.json() == {"route": body["id"], "date": "2026-01-20", "visits_cancelled": 3}
    day = await Occurrence.filter(
        event_id=body["event"],
        starts_at__gte=dt.datetime(2026, 1, 20, tzinfo=UTC),
        starts_at__lt=dt.datetime(2026, 1, 21, tzinfo=UTC),
    )
    assert [o.cancelled for o in day] == [True, True, True]
    assert await Occurrence.filter(event_id=body["event"], cancelled=True).count() == 3
    no_run = await client.post(
        f"/api/routes/{body['id']}/runs/2026-01-21/cancel", headers=bm.auth()
    )
    assert no_run.status_code == 422
    assert no_run.json()["fields"] == {"date": "route Z has no run on Wednesday, January 21, 2026"}


async def test_private_stops_are_for_staff_only(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    stops = route_body()["stops"] + [
        stop("Home visit", 46.55, 15.48, "13:00", 20, visibility="internal")
    ]
    body = await _create(client, bm, stops=stops)
    public = (await client.get(f"/api/routes/{body['id']}")).json()
    assert [s["name"] for s in public["stops"]] == ["Limbuš", "Bresternica", "Selnica ob Dravi"]
    staff = (
        await client.get(f"/api/routes/{body['id']}/stops", headers=bm.auth("director"))
    ).json()
    assert [s["name"] for s in staff["stops"]][-1] == "Home visit"
    assert "feed" not in staff["stops"][-1]
    outsider = (await client.get(f"/api/routes/{body['id']}", headers=bm.auth("outsider"))).json()
    assert len(outsider["stops"]) == 3
    listed = (await client.get("/api/routes?library=mb")).json()["routes"]
    assert [len(r["stops"]) for r in listed] == [3]


async def test_nearest_stops_with_their_next_visits(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    stops = route_body(valid_until=None)["stops"] + [
        stop("Home visit", 46.5721, 15.5491, "13:00", 20, visibility="internal")
    ]
    await _create(client, bm, stops=stops, valid_until=None)
    response = await client.get("/api/stops/nearest?lat=46.5721&lon=15.5491&limit=2")
    assert response.status_code == 200
    found = response.json()["stops"]
    assert [s["name"] for s in found] == ["Bresternica", "Limbuš"]
    # 0.0001° of latitude (11.1 m) and of longitude (7.7 m at 46.6° N).
    assert found[0]["distance_km"] == 0.013
    visits = found[0]["next_visits"]
    assert len(visits) == 3
    now = dt.datetime.now(UTC)
    starts = [dt.datetime.fromisoformat(v["starts_at"]) for v in visits]
    assert starts == sorted(starts)
    assert starts[0] > now - dt.timedelta(hours=1)
    assert (starts[1] - starts[0]).days in (13, 14)
    assert [v["local_start"][11:16] for v in visits] == ["10:00", "10:00", "10:00"]
    # The local time carries its offset, so it names the same instant as starts_at.
    assert [dt.datetime.fromisoformat(v["local_start"]) for v in visits] == starts
    for query, field in [
        ("lat=95&lon=15", "lat"),
        ("lat=46&lon=nan", "lon"),
        ("lat=46", "lon"),
        ("lat=46&lon=15&limit=0", "limit"),
    ]:
        bad = await client.get(f"/api/stops/nearest?{query}")
        assert bad.status_code == 422
        assert list(bad.json()["fields"]) == [field]


async def test_vehicles(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/vehicles",
        json={
            "library": "mb",
            "slug": "e-bus",
            "name": "Električni bibliobus",
            "emission_factor": "electric-test",
        },
        headers=bm.auth(),
    )
    assert created.status_code == 201
    assert created.json() | {"id": 0} == {
        "id": 0,
        "slug": "e-bus",
        "name": "Električni bibliobus",
        "registration": "",
        "fuel": "electric",
        "kg_co2e_per_km": 0.2,
        "emission_factor_source": "Test electric factor",
        "average_speed_kmh": 40.0,
    }
    bad = await client.post(
        "/api/vehicles",
        json={"library": "mb", "slug": "x", "name": "X", "fuel": "steam", "kg_co2e_per_km": -1},
        headers=bm.auth(),
    )
    assert bad.status_code == 422
    assert bad.json()["fields"] == {
        "fuel": "must be one of diesel, petrol, hvo, hybrid, electric",
        "kg_co2e_per_km": "must be a number of kg CO2e per km between 0 and 10",
        "emission_factor_source": "must name where the figure comes from",
    }
    listed = (await client.get("/api/vehicles?library=mb")).json()["vehicles"]
    assert [v["slug"] for v in listed] == ["bibliobus", "e-bus"]
    # The diesel bookmobile gets a factor of the library's own, with its source.
    url = f"/api/vehicles/{bm.vehicle.id}"
    changed = await client.patch(
        url,
        json={"kg_co2e_per_km": 0.71, "emission_factor_source": "Our fuel records 2025"},
        headers=bm.auth(),
    )
    assert changed.status_code == 200
    assert (changed.json()["fuel"], changed.json()["kg_co2e_per_km"]) == ("diesel", 0.71)
    assert changed.json()["emission_factor_source"] == "Our fuel records 2025"
    electric = await client.patch(url, json={"emission_factor": "electric-test"}, headers=bm.auth())
    assert (electric.json()["fuel"], electric.json()["kg_co2e_per_km"]) == ("electric", 0.2)
    for patch, fields in [
        ({"slug": "e-bus"}, {"slug": "a vehicle of this library already has this slug"}),
        ({"average_speed_kmh": 0}, {"average_speed_kmh": "must be a number between 5 and 130"}),
        ({"library": "kr"}, {"library": "a vehicle cannot move to another library"}),
        ({"colour": "red"}, {"colour": "is not a field of a vehicle"}),
    ]:
        bad = await client.patch(url, json=patch, headers=bm.auth())
        assert bad.status_code == 422
        assert bad.json()["fields"] == fields
    outsider = await client.patch(url, json={"name": "Mine"}, headers=bm.auth("outsider"))
    assert outsider.status_code == 403


async def test_the_first_run_must_be_a_day_of_the_rule(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/api/routes", json=route_body(valid_from="2026-01-05"), headers=bm.auth()
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "valid_from": "is a Monday, not a day of the rule FREQ=WEEKLY;INTERVAL=2;BYDAY=TU:"
        " the first run must be one"
    }


async def test_patching_a_route_keeps_its_stops_and_cancellations(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _create(client, bm)
    url = f"/api/routes/{body['id']}"
    await client.post(f"{url}/runs/2026-01-20/cancel", headers=bm.auth())
    response = await client.patch(
        url,
        json={"rrule": "FREQ=WEEKLY;BYDAY=TU", "name": "Bibliobus zahod, tedensko"},
        headers=bm.auth(),
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["rrule"], changed["name"], changed["revision"]) == (
        "FREQ=WEEKLY;BYDAY=TU",
        "Bibliobus zahod, tedensko",
        3,  # created, a run cancelled, patched
    )
    assert [s["id"] for s in changed["stops"]] == [s["id"] for s in body["stops"]]
    # Every Tuesday from 6 January to 29 December: 52 runs; 20 January stays cancelled.
    assert await Occurrence.filter(event_id=body["event"]).count() == 156
    assert await Occurrence.filter(event_id=body["event"], cancelled=True).count() == 3
    for patch, fields in [
        (
            {"stops": []},
            {"stops": "cannot be changed here; PUT them to the route's /stops"},
        ),
        ({"vehicle": bm.other_vehicle.id}, {"vehicle": "belongs to another library"}),
        (
            {"valid_from": "2026-01-07"},
            {
                "valid_from": "is a Wednesday, not a day of the rule FREQ=WEEKLY;BYDAY=TU:"
                " the first run must be one"
            },
        ),
    ]:
        bad = await client.patch(url, json=patch, headers=bm.auth())
        assert bad.status_code == 422
        assert bad.json()["fields"] == fields
    assert (
        await client.patch(url, json={"name": "X"}, headers=bm.auth("director"))
    ).status_code == 403
    assert await Occurrence.filter(event_id=body["event"]).count() == 156


async def test_moving_stops_onto_a_busy_vehicle_is_a_409(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _create(client, bm)
    afternoon = await _create(
        client, bm, code="V", stops=[stop("Kamnica", 46.57, 15.61, "14:00", 60)]
    )
    moved = await client.put(
        f"/api/routes/{afternoon['id']}/stops",
        json={"stops": [stop("Kamnica", 46.57, 15.61, "10:50", 20)]},
        headers=bm.auth(),
    )
    assert moved.status_code == 409
    assert moved.json()["error"] == "conflict"
    assert [(c["route"], c["resource"]) for c in moved.json()["conflicts"]] == [("Z", "vehicle")]
    unchanged = await client.get(f"/api/routes/{afternoon['id']}/stops", headers=bm.auth())
    assert [s["arrival"] for s in unchanged.json()["stops"]] == ["14:00"]


async def test_an_import_that_books_one_vehicle_twice_is_a_409(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    header = (
        "organisation,mobile,route,community,stop,address,postcode,geox,geoy,day,type,"
        "arrival,departure,frequency,start,end,exceptions,timetable\n"
    )
    rows = (
        "Maribor,Mobile,X,Limbuš,Trg,Limbuš 1,2341,15.586,46.556,Tuesday,Public,"
        "10:00,10:30,FREQ=WEEKLY,2026-01-06,,,\n"
        "Maribor,Mobile,Y,Kamnica,Cerkev,Kamnica 1,2351,15.61,46.57,Tuesday,Public,"
        "10:15,10:45,FREQ=WEEKLY,2026-01-06,,,\n"
    )
    response = await client.post(
        "/api/routes/import?library=mb&depot=rotovz",
        content=(header + rows).encode(),
        headers={**bm.auth(), "content-type": "text/csv"},
    )
    assert response.status_code == 409, response.text
    assert response.json()["fields"] == {
        "vehicle": "the vehicle is on route X on Tuesday, January 6, 2026,"
        " 10:00\u2009–\u200910:30, when route Y needs it"
    }
    assert [(c["route"], c["start"]) for c in response.json()["conflicts"]] == [
        ("X", "2026-01-06T09:00:00Z")
    ]
    assert await Route.all().count() == 0
