"""Distances: great-circle × detour by default, and a fake OSRM service served in-process.

The fake is an outside service (OSRM), not our code: it runs as a small Starlette app
reached through ``httpx.ASGITransport`` injected into the routing client.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from outreach.bookmobile.distance import (
    RoutingClient,
    RoutingError,
    distances,
    haversine_km,
    matrix_km,
    path_km,
)

MARIBOR = (46.5575, 15.6467)
LJUBLJANA = (46.0511, 14.5051)
SELNICA = (46.5520, 15.4940)


def test_haversine_known_distances() -> None:
    # London (51.5074, -0.1278) to Paris (48.8566, 2.3522): 343.6 km on the sphere.
    assert round(haversine_km((51.5074, -0.1278), (48.8566, 2.3522)), 1) == 343.6
    # 0.5064° of latitude (56.3 km) and 1.1416° of longitude at 46.3° N (87.7 km).
    assert round(haversine_km(MARIBOR, LJUBLJANA), 1) == 104.2
    assert haversine_km(MARIBOR, MARIBOR) == 0.0


def test_path_applies_the_detour_factor() -> None:
    straight = haversine_km(MARIBOR, SELNICA) + haversine_km(SELNICA, MARIBOR)
    assert path_km([MARIBOR, SELNICA, MARIBOR], detour_factor=1.3) == pytest.approx(1.3 * straight)
    matrix = matrix_km([MARIBOR, SELNICA], detour_factor=1.5)
    assert matrix[0][1] == pytest.approx(1.5 * haversine_km(MARIBOR, SELNICA))
    assert matrix[1][1] == 0.0


class FakeOsrm:
    """An OSRM ``table`` service whose roads are 1.2 × the straight line, or misbehaving."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[str] = []

    async def table(self, request: Request) -> Response:
        self.requests.append(request.url.path + "?" + request.url.query)
        points = [
            (float(lat), float(lon))
            for lon, lat in (p.split(",") for p in request.path_params["coords"].split(";"))
        ]
        distances = [[1200 * haversine_km(a, b) for b in points] for a in points]
        if self.mode == "slow":
            await asyncio.sleep(5)
        answers: dict[str, Any] = {
            "error": PlainTextResponse("upstream down", status_code=502),
            "html": PlainTextResponse("<html>hello</html>"),
            "no-route": JSONResponse({"code": "NoRoute", "message": "Impossible route"}),
            "short": JSONResponse({"code": "Ok", "distances": distances[:-1]}),
            "negative": JSONResponse(
                {"code": "Ok", "distances": [[-d for d in r] for r in distances]}
            ),
            "absurd": JSONResponse(
                {"code": "Ok", "distances": [[d * 1000 for d in r] for r in distances]}
            ),
            "strings": JSONResponse(
                {"code": "Ok", "distances": [["far"] * len(points)] * len(points)}
            ),
            "null": JSONResponse({"code": "Ok", "distances": [[None] * len(points)] * len(points)}),
        }
        return answers.get(self.mode) or JSONResponse({"code": "Ok", "distances": distances})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/table/v1/driving/{coords}", self.table)])


@pytest.fixture
def osrm() -> FakeOsrm:
    return FakeOsrm()


def _client(osrm: FakeOsrm, timeout: float = 2.0) -> RoutingClient:
    return RoutingClient(
        "http://osrm.test/", transport=httpx.ASGITransport(app=osrm.app()), timeout=timeout
    )


async def test_distances_from_the_routing_service(osrm: FakeOsrm) -> None:
    found = await distances([MARIBOR, SELNICA, LJUBLJANA], client=_client(osrm))
    assert found.source == "routing service http://osrm.test"
    assert found.notes == []
    assert found.matrix[0][1] == pytest.approx(1.2 * haversine_km(MARIBOR, SELNICA))
    assert found.matrix[2][0] == pytest.approx(1.2 * haversine_km(LJUBLJANA, MARIBOR))
    # OSRM takes lon,lat pairs.
    assert osrm.requests == [
        "/table/v1/driving/15.646700,46.557500;15.494000,46.552000;14.505100,46.051100"
        "?annotations=distance"
    ]


@pytest.mark.parametrize(
    ("mode", "note"),
    [
        ("slow", "the routing service timed out after 0.2 s"),
        ("error", "the routing service answered HTTP 502"),
        ("html", "the routing service answered something that is not JSON"),
        ("no-route", "the routing service answered code 'NoRoute' instead of 'Ok'"),
        ("short", "the routing service answered a distance table of the wrong shape"),
        ("negative", "the routing service answered a negative or infinite distance"),
        ("strings", "the routing service answered a distance that is not a number"),
        ("null", "the routing service answered a distance that is not a number"),
    ],
)
async def test_a_failing_service_falls_back_with_a_note(
    osrm: FakeOsrm, mode: str, note: str
) -> None:
    osrm.mode = mode
    found = await distances([MARIBOR, SELNICA], detour_factor=1.3, client=_client(osrm, 0.2))
    assert found.source == "great-circle distance × detour factor 1.3"
    assert found.notes == [f"{note}; used great-circle distance × detour factor 1.3 instead"]
    assert found.matrix == matrix_km([MARIBOR, SELNICA], detour_factor=1.3)


async def test_absurd_distances_are_refused(osrm: FakeOsrm) -> None:
    osrm.mode = "absurd"
    with pytest.raises(RoutingError, match=r"answered \d+\.\d km where the straight line is"):
        await _client(osrm).table_km([MARIBOR, SELNICA])


async def test_an_unreachable_service_falls_back() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = RoutingClient("http://osrm.test", transport=httpx.MockTransport(refuse))
    found = await distances([MARIBOR, SELNICA], client=client)
    assert found.notes == [
        "the routing service was unreachable (ConnectError); used great-circle distance"
        " × detour factor 1.3 instead"
    ]
    assert not math.isnan(found.matrix[0][1])
