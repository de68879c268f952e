"""Kilometres, CO2e and better stop orders over HTTP, with the default distances and with a
fake OSRM service injected into the app."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.bookmobile.distance import haversine_km
from outreach.bookmobile.emissions import footprint
from outreach.models import (
    AgeBand,
    Attendance,
    AttendanceMode,
    Event,
    OccurrenceOverride,
    Route,
    Stop,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.settings import Settings
from tests.bookmobile.conftest import DIESEL, ELECTRIC, Bookmobiles, route_body, stop
from tests.bookmobile.test_distance import FakeOsrm

UTC = dt.UTC
DEPOT = (46.5575, 15.6467)
LIMBUS, BRESTERNICA, SELNICA = (46.5560, 15.5860), (46.5720, 15.5490), (46.5520, 15.4940)


def _loop(*points: tuple[float, float], factor: float = 1.3) -> float:
    path = [DEPOT, *points, DEPOT]
    return factor * sum(haversine_km(a, b) for a, b in itertools.pairwise(path))


async def _route_with_history(client: httpx.AsyncClient, bm: Bookmobiles) -> dict[str, Any]:
    response = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    # The run of 20 January is cancelled; on 3 February only Limbuš is skipped.
    cancel = await client.post(
        f"/api/routes/{body['id']}/runs/2026-01-20/cancel", headers=bm.auth()
    )
    assert cancel.status_code == 200
    event = await Event.get(id=body["event"])
    await OccurrenceOverride.create(
        event=event,
        original_start=dt.datetime(2026, 2, 3, 8, 0, tzinfo=UTC),
        cancelled=True,
        updated_at=dt.datetime.now(UTC),
    )
    await rebuild_occurrences(event)
    limbus, bresternica = body["stops"][0]["id"], body["stops"][1]["id"]
    now = dt.datetime.now(UTC)
    for start, stop_id, count in [
        (dt.datetime(2026, 1, 6, 8, 0, tzinfo=UTC), limbus, 12),
        (dt.datetime(2026, 2, 17, 9, 0, tzinfo=UTC), bresternica, 8),
        # Outside the period: not counted.
        (dt.datetime(2026, 4, 14, 7, 0, tzinfo=UTC), limbus, 30),
    ]:
        await Attendance.create(
            event=event,
            library_id=event.library_id,  # type: ignore[attr-defined]
            original_start=start,
            stop_id=stop_id,
            age_band=AgeBand.ADULTS,
            mode=AttendanceMode.ON_SITE,
            count=count,
            recorded_at=now,
        )
    return body


async def test_emissions_of_a_route_for_a_period(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _route_with_history(client, bm)
    response = await client.get(
        f"/api/routes/{body['id']}/emissions?from=2026-01-01&to=2026-03-31",
        headers=bm.auth("director"),
    )
    assert response.status_code == 200
    found = response.json()
    # Runs on 6 Jan, 3 Feb (without Limbuš), 17 Feb, 3, 17 and 31 March; 20 Jan cancelled.
    km = 5 * _loop(LIMBUS, BRESTERNICA, SELNICA) + _loop(BRESTERNICA, SELNICA)
    assert (found["runs"], found["visits"], found["visitors"]) == (6, 17, 20)
    assert found["km"] == round(km, 1)
    assert found["kg_co2e"] == round(km * DIESEL, 1)
    assert found["km_per_run"] == round(km / 6, 1)
    assert found["kg_co2e_per_visit"] == round(km * DIESEL / 17, 2)
    assert found["kg_co2e_per_visitor"] == round(km * DIESEL / 20, 2)
    assert found["distance_source"] == "great-circle distance × detour factor 1.3"
    assert found["notes"] == []
    assert found["electric"] == {
        "emission_factor": {
            "slug": "electric-test",
            "fuel": "electric",
            "vehicle_class": "Battery-electric rigid",
            "kg_co2e_per_km": ELECTRIC,
            "source": "Test electric factor",
            "year": 2024,
        },
        "kg_co2e": round(km * ELECTRIC, 1),
        "kg_co2e_per_visit": round(km * ELECTRIC / 17, 2),
        "kg_co2e_per_visitor": round(km * ELECTRIC / 20, 2),
        "kg_co2e_saved": round(km * DIESEL - km * ELECTRIC, 1),
    }
    assert found["vehicle"]["emission_factor_source"] == "Test diesel factor"


async def test_emissions_need_a_role_and_good_dates(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    body = await _route_with_history(client, bm)
    url = f"/api/routes/{body['id']}/emissions"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=bm.auth("outsider"))).status_code == 403
    bad = await client.get(url + "?from=2026-13-01", headers=bm.auth())
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"from": "must be a date such as 2026-01-13"}
    backwards = await client.get(url + "?from=2026-03-01&to=2026-01-01", headers=bm.auth())
    assert backwards.json()["fields"] == {"to": "must not be before from"}
    assert (await client.get("/api/routes/999/emissions", headers=bm.auth())).status_code == 404


async def test_footprint_by_vehicle_and_route(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    await _route_with_history(client, bm)
    second = route_body(code="V", stops=[stop("Kamnica", 46.5700, 15.6100, "14:00", 60)])
    assert (await client.post("/api/routes", json=second, headers=bm.auth())).status_code == 201
    found = await footprint(
        bm.library.id,
        dt.datetime(2026, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 4, 1, tzinfo=UTC),
    )
    z_km = 5 * _loop(LIMBUS, BRESTERNICA, SELNICA) + _loop(BRESTERNICA, SELNICA)
    v_km = 7 * _loop((46.5700, 15.6100))
    data = found.as_dict()
    assert [(r["route"]["code"], r["runs"], r["km"]) for r in data["by_route"]] == [
        ("V", 7, round(v_km, 1)),
        ("Z", 6, round(z_km, 1)),
    ]
    assert data["by_vehicle"] == [
        {
            "vehicle": {"id": bm.vehicle.id, "slug": "bibliobus", "name": "Bibliobus"},
            "runs": 13,
            "visits": 24,
            "visitors": 20,
            "km": round(z_km + v_km, 1),
            "kg_co2e": round((z_km + v_km) * DIESEL, 1),
            "km_per_run": round((z_km + v_km) / 13, 1),
            "kg_co2e_per_visit": round((z_km + v_km) * DIESEL / 24, 2),
            "kg_co2e_per_visitor": round((z_km + v_km) * DIESEL / 20, 2),
        }
    ]
    assert data["total"]["km"] == round(z_km + v_km, 1)


@pytest.fixture
def osrm() -> FakeOsrm:
    return FakeOsrm()


@pytest.fixture
def routed_app(settings: Settings, osrm: FakeOsrm) -> Starlette:
    app = create_app(
        dataclasses.replace(settings, routing_url="http://osrm.test"), manage_database=False
    )
    app.state.routing_transport = httpx.ASGITransport(app=osrm.app())
    app.state.routing_timeout = 0.2
    return app


async def test_emissions_from_a_routing_service_and_its_fallback(
    bm: Bookmobiles, routed_app: Starlette, osrm: FakeOsrm
) -> None:
    transport = httpx.ASGITransport(app=routed_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://outreach.example.org") as c:
        body = await _route_with_history(c, bm)
        url = f"/api/routes/{body['id']}/emissions?from=2026-01-01&to=2026-03-31"
        found = (await c.get(url, headers=bm.auth())).json()
        km = 5 * _loop(LIMBUS, BRESTERNICA, SELNICA, factor=1.2) + _loop(
            BRESTERNICA, SELNICA, factor=1.2
        )
        assert found["distance_source"] == "routing service http://osrm.test"
        assert found["km"] == round(km, 1)
        assert found["notes"] == []
        for mode, note in [
            ("slow", "the routing service timed out after 0.2 s"),
            ("no-route", "the routing service answered code 'NoRoute' instead of 'Ok'"),
        ]:
            osrm.mode = mode
            answer = await c.get(url, headers=bm.auth())
            assert answer.status_code == 200
            fallback = answer.json()
            assert fallback["distance_source"] == "great-circle distance × detour factor 1.3"
            assert fallback["notes"] == [
                f"{note}; used great-circle distance × detour factor 1.3 instead"
            ]
            assert fallback["km"] == round(km / 1.2 * 1.3, 1)


NORTH, SOUTH, EAST = (46.6200, 15.6467), (46.5000, 15.6467), (46.5575, 15.7500)


async def test_optimise_proposes_and_changes_nothing_until_applied(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    stops = [
        stop("Sever", *NORTH, "09:00", 20),
        stop("Jug", *SOUTH, "10:00", 20),
        stop("Vzhod", *EAST, "11:00", 20),
    ]
    created = await client.post(
        "/api/routes", json=route_body(stops=stops, valid_until=None), headers=bm.auth()
    )
    route_id = created.json()["id"]
    ids = [s["id"] for s in created.json()["stops"]]
    url = f"/api/routes/{route_id}/optimise"
    response = await client.post(
        url, json={"tolerance_minutes": 60, "time_limit_seconds": 0.2}, headers=bm.auth()
    )
    assert response.status_code == 200
    found = response.json()
    current, better = _loop(NORTH, SOUTH, EAST), _loop(NORTH, EAST, SOUTH)
    assert found["current"]["km_per_run"] == round(current, 2)
    proposal = found["proposal"]
    assert [(s["id"], s["name"]) for s in proposal["stops"]] == [
        (ids[0], "Sever"),
        (ids[2], "Vzhod"),
        (ids[1], "Jug"),
    ]
    # Sever keeps 09:00; Vzhod comes at the start of its window (10:00, timetabled 11:00),
    # Jug right after it: 20 minutes parked and 20 minutes of driving, so no idle time.
    assert [(s["arrival"], s["timetabled_arrival"]) for s in proposal["stops"]] == [
        ("09:00", "09:00"),
        ("10:00", "11:00"),
        ("10:40", "10:00"),
    ]
    assert proposal["km_per_run"] == round(better, 2)
    assert found["km_saved_per_run"] == round(current - better, 2)
    runs = found["runs_per_year"]
    assert runs in (26, 27)
    assert found["km_saved_per_year"] == round((current - better) * runs, 1)
    assert found["kg_co2e_saved_per_year"] == round((current - better) * runs * DIESEL, 1)
    assert found["applied"] is False
    # Nothing changed.
    route = await Route.get(id=route_id)
    assert [s.name for s in await Stop.filter(route_id=route.id).order_by("position")] == [
        "Sever",
        "Jug",
        "Vzhod",
    ]
    assert (await Event.get(id=route.event_id)).revision == 1  # type: ignore[attr-defined]
    # A staff member applies it.
    apply = found["apply"]
    assert apply["method"] == "PUT"
    applied = await client.put(apply["url"], json=apply["body"], headers=bm.auth())
    assert applied.status_code == 200
    assert [(s["id"], s["arrival"]) for s in applied.json()["stops"]] == [
        (ids[0], "09:00"),
        (ids[2], "10:00"),
        (ids[1], "10:40"),
    ]
    again = (
        await client.post(
            url, json={"tolerance_minutes": 60, "time_limit_seconds": 0.2}, headers=bm.auth()
        )
    ).json()
    assert again["proposal"] is None
    assert again["notes"] == ["the current order is already the shortest found"]


async def test_optimise_refuses_bad_tolerances(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    created = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    url = f"/api/routes/{created.json()['id']}/optimise"
    for body, field in [
        ({"tolerance_minutes": -5}, "tolerance_minutes"),
        ({"tolerance_minutes": "soon"}, "tolerance_minutes"),
        ({"time_limit_seconds": 600}, "time_limit_seconds"),
    ]:
        response = await client.post(url, json=body, headers=bm.auth())
        assert response.status_code == 422
        assert list(response.json()["fields"]) == [field]
    assert (await client.post(url, json={})).status_code == 401
