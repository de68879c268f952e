"""The bookmobile reads that list routes cost the same number of SQL statements for one
route as for ten (no query per route or per stop): ``GET /api/routes``,
``/api/stops/nearest`` and the staff bookmobile page with its year of emissions.

Statements are counted where they reach the database driver: every execute method of
the app's Tortoise connection is wrapped for the length of one request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from tortoise.connection import get_connection

from outreach.models import Occurrence, RoleName, Route, Stop
from tests.bookmobile.conftest import Bookmobiles, route_body, stop
from tests.bookmobile.test_staff_bookmobile import _sign_in

EXECUTE = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL statements the default connection runs meanwhile."""
    connection = get_connection("default")
    statements: list[str] = []
    with monkeypatch.context() as patch:
        for name in EXECUTE:
            method: Callable[..., Awaitable[Any]] = getattr(connection, name)

            def wrapped(sql: str, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
                statements.append(sql)
                return _method(sql, *args, **kwargs)

            patch.setattr(connection, name, wrapped)
        yield statements


async def _add_routes(bm: Bookmobiles, client: httpx.AsyncClient, first: int, last: int) -> None:
    """Routes R{first}…R{last}, each of two public stops and one run on a coming Tuesday,
    a week apart (one vehicle drives them all)."""
    today = dt.datetime.now(dt.UTC).date()
    tuesday = today + dt.timedelta(days=7 + (1 - today.weekday()) % 7)
    for n in range(first, last + 1):
        day = tuesday + dt.timedelta(weeks=n)
        body = route_body(
            code=f"R{n}",
            rrule="FREQ=WEEKLY;BYDAY=TU",
            valid_from=day.isoformat(),
            valid_until=day.isoformat(),
            stops=[
                stop(f"Vas {n}a", 46.55 + n / 1000, 15.58, "09:00", 30),
                stop(f"Vas {n}b", 46.56 + n / 1000, 15.55, "10:00", 30),
            ],
        )
        created = await client.post("/api/routes", json=body, headers=bm.auth())
        assert created.status_code == 201, created.text


async def _statements(
    monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient, url: str, **headers: str
) -> int:
    with counted(monkeypatch) as statements:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return len(statements)


async def test_listing_routes_and_nearest_stops_runs_as_many_statements_for_ten_routes(
    bm: Bookmobiles, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    nearest = "/api/stops/nearest?lat=46.55&lon=15.58&limit=20&library=mb"
    await _add_routes(bm, client, 1, 1)
    one = {
        "routes, staff": await _statements(monkeypatch, client, "/api/routes", **bm.auth()),
        "routes, public": await _statements(monkeypatch, client, "/api/routes?library=mb"),
        "nearest": await _statements(monkeypatch, client, nearest),
    }
    await _add_routes(bm, client, 2, 10)
    assert await Route.filter(library_id=bm.library.id).count() == 10
    listed = (await client.get("/api/routes?library=mb")).json()["routes"]
    assert [r["code"] for r in listed] == [f"R{n}" for n in (1, 10, 2, 3, 4, 5, 6, 7, 8, 9)]
    found = (await client.get(nearest)).json()["stops"]
    # Every stop of the ten routes, each with its one coming visit.
    assert len(found) == 20
    assert all(len(s["next_visits"]) == 1 for s in found)
    ten = {
        "routes, staff": await _statements(monkeypatch, client, "/api/routes", **bm.auth()),
        "routes, public": await _statements(monkeypatch, client, "/api/routes?library=mb"),
        "nearest": await _statements(monkeypatch, client, nearest),
    }
    assert ten == one
    print(f"\nstatements per request, for 1 route and for 10: {one}")


async def test_the_staff_bookmobile_page_runs_as_many_statements_for_ten_routes(
    bm: Bookmobiles, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _add_routes(bm, client, 1, 1)
    await _sign_in(client, bm, RoleName.DIRECTOR)
    one = await _statements(monkeypatch, client, "/staff/bookmobile")
    await _add_routes(bm, client, 2, 10)
    # Each route's year of emissions is on the page: ten rows, read as the one was.
    page = await client.get("/staff/bookmobile")
    assert all(f">R{n}<" in page.text for n in range(1, 11)), page.text
    assert await Stop.filter(route__library_id=bm.library.id).count() == 20
    assert await Occurrence.filter(stop__route__library_id=bm.library.id).count() == 20
    assert await _statements(monkeypatch, client, "/staff/bookmobile") == one
    print(f"\nstatements of the staff bookmobile page, for 1 route and for 10: {one}")
