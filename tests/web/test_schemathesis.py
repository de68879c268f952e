"""Schemathesis against the app in-process, on each database: every operation of
``/openapi.json`` gets schema-valid and schema-breaking requests (as an editor and director
of a demo library, so writes are exercised) and every check of schemathesis must hold: no
server error, answers that match their declared status codes, media types, headers and
schemas, invalid data refused, valid data accepted where the schema promises it.

Cases are drawn from schemathesis's Hypothesis strategies and sent through
``httpx.ASGITransport`` on the test's own event loop (the database connections live there).
One check is not run by schemathesis: ``ignored_auth`` sends its own requests through
schemathesis's transport, which runs the app on another thread and event loop; this test
makes the same check itself (every write without credentials is a 401).
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import RoleName
from outreach.settings import Settings
from outreach.web.openapi import build_openapi
from tests.databases import empty_database
from tests.factories import make_branch, make_library, make_room, make_strategy, make_token_user

BASE_URL = "https://outreach.example.org"
# Cases per operation and generation mode; OUTREACH_FUZZ_CASES runs more by hand.
CASES = int(os.environ.get("OUTREACH_FUZZ_CASES", "12"))
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
EXCLUDED = [ignored_auth, positive_data_acceptance]

_DOCUMENT = build_openapi(
    create_app(
        Settings(database_url="sqlite://:memory:", secret_key="x", base_url=BASE_URL),
        manage_database=False,
    ).routes,
    BASE_URL,
)
SCHEMA = schemathesis.openapi.from_dict(_DOCUMENT)
OPERATIONS = sorted(
    (path, method.upper()) for path, methods in _DOCUMENT["paths"].items() for method in methods
)


# One stop of one route in the open timetable format, driven by the vehicle the test makes.
TIMETABLE = (
    "organisation,mobile,route,community,stop,address,postcode,geox,geoy,day,type,arrival,"
    "departure,frequency,start,end,exceptions,timetable\r\n"
    "Mariborska knjižnica,Bibliobus,V,Kamnica,Kamnica,,2351,15.6132,46.5717,Wednesday,"
    "Public,09:00,09:30,FREQ=WEEKLY;BYDAY=WE,2026-01-07,2026-02-25,,\r\n"
)


@dataclass
class Fuzzed:
    token: str


@pytest_asyncio.fixture(scope="module")
async def fuzzed(backend: str) -> AsyncIterator[Fuzzed]:
    """A library with a branch, a room and a strategy, and an editor and director of it
    with a token."""
    await empty_database()
    library = await make_library("mb")
    await make_room(await make_branch(library, "rotovz"))
    await make_strategy(library=library, slug="mb-2026")
    token = await make_token_user(
        "fuzz@mkb.si", [(RoleName.EDITOR, library), (RoleName.DIRECTOR, library)]
    )
    try:
        yield Fuzzed(token)
    finally:
        await empty_database()


@functools.cache
def _cases(path: str, method: str) -> tuple[Case[Any], ...]:
    """Schema-valid and schema-breaking cases of one operation, the same on every run (and
    drawn once for both databases: drawing is half the test's time)."""
    operation = SCHEMA[path][method]
    drawn: list[Case[Any]] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=CASES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def draw(case: Case[Any]) -> None:
            drawn.append(case)

        try:
            draw()
        except Exception as exc:  # an operation that cannot be broken (no parameters)
            if mode is GenerationMode.POSITIVE or "Unsatisfiable" not in type(exc).__name__:
                raise
    return tuple(drawn)


async def _send(
    client: httpx.AsyncClient, case: Case[Any], headers: dict[str, str]
) -> httpx.Response:
    sent = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    content: Any = None
    if "json" in sent:
        return await client.request(
            sent["method"],
            sent["url"],
            headers=sent["headers"],
            params=sent.get("params"),
            json=sent["json"],
        )
    if "data" in sent:
        content = sent["data"]
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogatepass")
    return await client.request(
        sent["method"],
        sent["url"],
        headers=sent["headers"],
        params=sent.get("params"),
        content=content,
    )


@pytest.fixture
def fuzz_app(settings: Settings) -> Starlette:
    return create_app(settings, manage_database=False)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
async def test_schemathesis_finds_nothing(
    fuzzed: Fuzzed, fuzz_app: Starlette, path: str, method: str
) -> None:
    auth = {"Authorization": f"Bearer {fuzzed.token}"}
    failures: list[str] = []
    transport = httpx.ASGITransport(app=fuzz_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        for case in _cases(path, method):
            response = await _send(client, case, auth)
            try:
                case.validate_response(response, headers=auth, excluded_checks=EXCLUDED)
            except Exception as exc:
                failures.append(f"{response.status_code} {response.text[:300]}\n{exc}")
            if method in WRITES and 200 <= response.status_code < 300:
                anonymous = await _send(client, case, {})
                if anonymous.status_code != 401:
                    failures.append(f"{method} {path} without credentials: {anonymous.status_code}")
    assert failures == []


async def test_writes_answer_as_declared(fuzzed: Fuzzed, fuzz_app: Starlette) -> None:
    """Random bodies rarely make a valid event: a valid one is created, read, changed,
    moved in one occurrence and cancelled, each answer checked by every check."""
    auth = {"Authorization": f"Bearer {fuzzed.token}"}
    new = {
        "library": "mb",
        "kind": "workshop",
        "title": {"sl": "Delavnica", "en": "Workshop"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "branch": "rotovz",
        "status": "published",
    }
    transport = httpx.ASGITransport(app=fuzz_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:

        async def checked(path: str, method: str, status: int, **parts: Any) -> dict[str, Any]:
            case = SCHEMA[path][method].Case(media_type="application/json", **parts)
            response = await _send(client, case, auth)
            assert response.status_code == status, response.text
            case.validate_response(response, headers=auth, excluded_checks=EXCLUDED)
            body: dict[str, Any] = response.json()
            return body

        created = await checked("/api/events", "POST", 201, body=new)
        event = {"event_id": created["id"]}
        assert created["revision"] == 1
        await checked("/api/events/{event_id}", "GET", 200, path_parameters=event)
        changed = await checked(
            "/api/events/{event_id}", "PATCH", 200, path_parameters=event, body={"capacity": 12}
        )
        assert (changed["revision"], changed["capacity"]) == (2, 12)
        await checked(
            "/api/events/{event_id}/occurrences/{original_start}",
            "PATCH",
            200,
            path_parameters={**event, "original_start": "2026-12-08T16:00:00Z"},
            body={"cancelled": True},
        )
        listed = await checked(
            "/api/occurrences",
            "GET",
            200,
            query={"library": "mb", "from": "2026-12-01", "to": "2026-12-31"},
        )
        assert [o["cancelled"] for o in listed["occurrences"]] == [False, True, False, False]
        cancelled = await checked("/api/events/{event_id}", "DELETE", 200, path_parameters=event)
        assert cancelled["status"] == "cancelled"


async def test_bookmobile_writes_answer_as_declared(fuzzed: Fuzzed, fuzz_app: Starlette) -> None:
    """A vehicle and a route are created, read, given new stops and cancelled through the
    documented operations, each answer checked by every check."""
    auth = {"Authorization": f"Bearer {fuzzed.token}"}
    stops = [
        {"name": "Limbuš", "lat": 46.556, "lon": 15.586, "arrival": "09:00", "minutes_parked": 30},
        {"name": "Selnica", "lat": 46.552, "lon": 15.494, "arrival": "10:30", "minutes_parked": 45},
    ]
    transport = httpx.ASGITransport(app=fuzz_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:

        async def checked(
            path: str, method: str, status: int, media_type: str = "application/json", **parts: Any
        ) -> Any:
            case = SCHEMA[path][method].Case(media_type=media_type, **parts)
            response = await _send(client, case, auth)
            assert response.status_code == status, response.text
            case.validate_response(response, headers=auth, excluded_checks=EXCLUDED)
            is_json = response.headers["content-type"].startswith("application/json")
            return response.json() if is_json else response.text

        vehicle = await checked(
            "/api/vehicles",
            "POST",
            201,
            body={
                "library": "mb",
                "slug": "bibliobus",
                "name": "Bibliobus",
                "fuel": "diesel",
                "kg_co2e_per_km": 0.5,
                "emission_factor_source": "test figure",
            },
        )
        route = await checked(
            "/api/routes",
            "POST",
            201,
            body={
                "library": "mb",
                "code": "Z",
                "name": "Zahod",
                "vehicle": vehicle["slug"],
                "depot": "rotovz",
                "rrule": "FREQ=WEEKLY;BYDAY=TU",
                "valid_from": "2026-01-06",
                "valid_until": "2026-03-31",
                "stops": stops,
            },
        )
        path = {"id": route["id"]}
        assert [s["name"] for s in route["stops"]] == ["Limbuš", "Selnica"]
        await checked("/api/routes/{id}", "GET", 200, path_parameters=path)
        await checked("/api/routes", "GET", 200, query={"library": "mb"})
        moved = await checked(
            "/api/routes/{id}/stops",
            "PUT",
            200,
            path_parameters=path,
            body={"stops": [{**stops[1], "arrival": "09:00"}, {**stops[0], "arrival": "10:30"}]},
        )
        assert [s["name"] for s in moved["stops"]] == ["Selnica", "Limbuš"]
        listed = await checked("/api/routes/{id}/stops", "GET", 200, path_parameters=path)
        assert [s["position"] for s in listed["stops"]] == [1, 2]
        changed = await checked(
            "/api/routes/{id}", "PATCH", 200, path_parameters=path, body={"name": "Zahod 2"}
        )
        assert changed["name"] == "Zahod 2"
        skipped = await checked(
            "/api/routes/{id}/runs/{date}/cancel",
            "POST",
            200,
            path_parameters={**path, "date": "2026-01-13"},
            body={"note": "praznik"},
        )
        assert skipped == {"route": route["id"], "date": "2026-01-13", "visits_cancelled": 2}
        used = await checked(
            "/api/routes/{id}/emissions",
            "GET",
            200,
            path_parameters=path,
            query={"from": "2026-01-01", "to": "2026-03-31"},
        )
        assert (used["runs"], used["visits"]) == (12, 24)  # 13 Tuesdays, one cancelled
        proposed = await checked(
            "/api/routes/{id}/optimise",
            "POST",
            200,
            path_parameters=path,
            body={"tolerance_minutes": 0, "time_limit_seconds": 0.05},
        )
        assert proposed["applied"] is False
        near = await checked(
            "/api/stops/nearest", "GET", 200, query={"lat": "46.556", "lon": "15.586"}
        )
        assert near["stops"][0]["name"] == "Limbuš"
        imported = await checked(
            "/api/routes/import",
            "POST",
            200,
            query={"library": "mb", "depot": "rotovz"},
            body=TIMETABLE,
            media_type="text/csv",
        )
        assert (imported["created"], imported["stops"]) == (["V"], 1)
        await checked("/api/routes/{id}/stops.csv", "GET", 200, path_parameters=path)
        cancelled = await checked("/api/routes/{id}", "DELETE", 200, path_parameters=path)
        assert cancelled["status"] == "cancelled"
        await checked("/healthz", "GET", 200)
        await checked(
            "/api/reports/coverage", "GET", 200, query={"library": "mb", "strategy": "mb-2026"}
        )
