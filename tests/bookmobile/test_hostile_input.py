"""The hostile requests of issue 12 against the bookmobile API that answered 500: each is
now a 4xx naming the field, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from outreach.models import Occurrence, Route, Stop, Vehicle
from tests.bookmobile.conftest import Bookmobiles, route_body, stop


async def _route_id(client: httpx.AsyncClient, bm: Bookmobiles) -> int:
    response = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    assert response.status_code == 201, response.text
    route_id: int = response.json()["id"]
    return route_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/routes/%C2%B2"),
        ("GET", "/api/routes/99999999999999999999"),
        ("GET", "/api/vehicles/%C2%B2"),
        ("PATCH", "/api/vehicles/%C2%B2"),
        ("GET", "/api/routes/%C2%B2/stops"),
        ("PUT", "/api/routes/%C2%B2/stops"),
        ("GET", "/api/routes/%C2%B2/stops.csv"),
        ("GET", "/api/routes/%D9%A3/emissions"),
        ("POST", "/api/routes/%C2%B2/optimise"),
        ("GET", "/feeds/mb/routes/%C2%B2.ics"),
        ("GET", "/feeds/mb/stops/%C2%B2.ics"),
        ("GET", f"/feeds/{'a' * 8000}/routes/1.ics"),
        ("GET", f"/{'a' * 8000}/bookmobile"),
    ],
)
async def test_ids_in_other_digits_name_nothing(
    bm: Bookmobiles, client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={}, headers=bm.auth())
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/routes?library=%00", {"library": "must not contain control characters"}),
        ("/api/vehicles?library=%00", {"library": "must not contain control characters"}),
        (
            "/api/stops/nearest?lat=46.5&lon=%00&limit=%C2%B2",
            {
                "lon": "must be a number between -180 and 180",
                "limit": "must be a whole number between 1 and 20",
            },
        ),
        ("/api/stops/nearest?lon=15", {"lat": "must be a number between -90 and 90"}),
    ],
)
async def test_bad_queries_are_422(
    bm: Bookmobiles, client: httpx.AsyncClient, path: str, fields: dict[str, str]
) -> None:
    response = await client.get(path, headers=bm.auth())
    assert response.status_code == 422, response.text
    assert response.json() == {"error": "invalid input", "fields": fields}


async def test_emissions_days_are_bounded(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    route_id = await _route_id(client, bm)
    response = await client.get(
        f"/api/routes/{route_id}/emissions?from=0001-01-01&to=9999-12-31", headers=bm.auth()
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "from": "must be between 1900 and 2200",
        "to": "must be between 1900 and 2200",
    }


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


async def test_deeply_nested_json_is_400(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    route_id = await _route_id(client, bm)
    refused = {"error": "malformed JSON", "fields": {"body": "nested more than 16 levels deep"}}
    for method, path, body in (
        ("POST", "/api/vehicles", {"library": "mb", "slug": "x", "name": _nested(40)}),
        ("POST", "/api/routes", route_body(name=_nested(40))),
        ("PUT", f"/api/routes/{route_id}/stops", {"stops": _nested(40)}),
        ("PATCH", f"/api/routes/{route_id}", {"name": _nested(40)}),
    ):
        response = await client.request(method, path, json=body, headers=bm.auth())
        assert (response.status_code, response.json()) == (400, refused), path
    assert await Route.all().count() == 1
    assert await Vehicle.all().count() == 2


async def test_a_json_write_needs_a_json_body(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    route_id = await _route_id(client, bm)
    refused = {
        "error": "unsupported media type",
        "fields": {"content-type": "must be application/json, not text/plain"},
    }
    for method, path, body in (
        ("POST", "/api/vehicles", {"library": "mb"}),
        ("PATCH", f"/api/vehicles/{bm.vehicle.id}", {"name": "X"}),
        ("POST", "/api/routes", route_body(code="Y")),
        ("PATCH", f"/api/routes/{route_id}", {"name": "X"}),
        ("PUT", f"/api/routes/{route_id}/stops", {"stops": []}),
        # The bodies that may be left out must be JSON when they are sent.
        ("POST", f"/api/routes/{route_id}/runs/2026-01-20/cancel", {"note": "x"}),
        ("POST", f"/api/routes/{route_id}/optimise", {"tolerance_minutes": 5}),
    ):
        response = await client.request(
            method,
            path,
            content=json.dumps(body).encode(),
            headers={**bm.auth(), "content-type": "text/plain"},
        )
        assert (response.status_code, response.json()) == (415, refused), path
    assert await Route.all().count() == 1
    assert await Occurrence.filter(cancelled=True).count() == 0


async def _post_raw(
    client: httpx.AsyncClient, bm: Bookmobiles, path: str, body: dict[str, Any]
) -> httpx.Response:
    """POST ``body`` as json.dumps writes it: a lone surrogate as the escape "\\ud800"."""
    headers = {**bm.auth(), "content-type": "application/json"}
    return await client.post(path, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("bad", ["Bus\x00", "Bus\ud800"])
async def test_nul_and_lone_surrogates_are_refused_in_names(
    bm: Bookmobiles, client: httpx.AsyncClient, bad: str
) -> None:
    problem = (
        "must not contain control characters" if "\x00" in bad else "must be valid Unicode text"
    )
    vehicle = {
        "library": "mb",
        "slug": "bus-2",
        "name": bad,
        "registration": bad,
        "fuel": "diesel",
        "kg_co2e_per_km": 0.5,
        "emission_factor_source": "test",
    }
    response = await _post_raw(client, bm, "/api/vehicles", vehicle)
    assert response.status_code == 422, response.text
    assert response.json()["fields"] == {"name": problem, "registration": problem}
    body = route_body(stops=[stop(bad, 46.55, 15.58, "09:00", 30)])
    response = await _post_raw(client, bm, "/api/routes", body)
    assert response.status_code == 422, response.text
    assert response.json()["fields"] == {"stops[0].name": problem}
    assert await Vehicle.filter(slug="bus-2").count() == 0
    assert await Stop.all().count() == 0
