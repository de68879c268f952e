"""The public bookmobile page: a fixed number of queries whatever the timetable's size,
rendered once per data version, and never stale after a change."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest
from tortoise.transactions import in_transaction

from outreach.bookmobile.open_data import import_timetable
from outreach.bookmobile.public_page import public_timetable
from outreach.web.bookmobile_public import PageCache
from tests.bookmobile.conftest import Bookmobiles, route_body
from tests.bookmobile.timetables import large_timetable

UTC = dt.UTC


def _queries(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for record in caplog.records if record.name == "tortoise.db_client")


async def _page(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> tuple[str, int]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        response = await client.get("/mb/bookmobile")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text, _queries(caplog)


async def test_the_page_reads_a_fixed_number_of_queries_and_is_rendered_once_per_version(
    bm: Bookmobiles, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    assert created.status_code == 201
    # The data version, the library, the routes, their events and vehicles, the stops,
    # every stop's next visits, the coming cancelled runs.
    html, queries = await _page(client, caplog)
    assert queries == 8
    assert html.count('<li id="stop-') == 3
    # Rendered once: the next request reads only the data version.
    again, queries = await _page(client, caplog)
    assert (again, queries) == (html, 1)

    async with in_transaction("default") as conn:
        await import_timetable(
            bm.library, large_timetable(300, since=dt.date(2026, 1, 1)), using_db=conn
        )
    html, queries = await _page(client, caplog)
    assert queries == 8
    assert html.count('<li id="stop-') == 303


async def test_the_page_follows_every_change(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/routes", json=route_body(), headers=bm.auth())).json()
    before = (await client.get("/mb/bookmobile")).text
    assert '<p class="muted">Vozilo: Bibliobus</p>' in before
    renamed = await client.patch(
        f"/api/vehicles/{bm.vehicle.id}", json={"name": "Potujoča knjižnica"}, headers=bm.auth()
    )
    assert renamed.status_code == 200, renamed.text
    after = (await client.get("/mb/bookmobile")).text
    assert '<p class="muted">Vozilo: Potujoča knjižnica</p>' in after
    removed = await client.delete(f"/api/routes/{created['id']}", headers=bm.auth())
    assert removed.status_code == 200
    gone = await client.get("/mb/bookmobile")
    assert (gone.status_code, gone.json()) == (
        404,
        {"error": "Mariborska knjižnica nima bibliobusa."},
    )


async def test_the_timetable_changes_by_itself_when_its_first_visit_ends(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await client.post("/api/routes", json=route_body(), headers=bm.auth())
    # 20 January 2026, a run, 09:40 in Maribor: Limbuš (09:00-09:30) is over until the
    # next run; Bresternica (10:00-10:45) is the first visit shown that will end.
    now = dt.datetime(2026, 1, 20, 8, 40, tzinfo=UTC)
    timetable = await public_timetable(bm.library, now=now)
    (route,) = timetable.routes
    first = [entry.visits[0] for entry in route.stops]
    assert [(v.starts_at, v.ends_at) for v in first] == [
        (dt.datetime(2026, 2, 3, 8, 0, tzinfo=UTC), dt.datetime(2026, 2, 3, 8, 30, tzinfo=UTC)),
        (dt.datetime(2026, 1, 20, 9, 0, tzinfo=UTC), dt.datetime(2026, 1, 20, 9, 45, tzinfo=UTC)),
        (
            dt.datetime(2026, 1, 20, 10, 30, tzinfo=UTC),
            dt.datetime(2026, 1, 20, 11, 30, tzinfo=UTC),
        ),
    ]
    assert [len(entry.visits) for entry in route.stops] == [3, 3, 3]
    assert timetable.changes_at == dt.datetime(2026, 1, 20, 9, 45, tzinfo=UTC)


def test_a_kept_page_expires_at_its_instant() -> None:
    cache = PageCache(size=2)
    ends = dt.datetime(2026, 1, 13, 9, 45, tzinfo=UTC)
    cache.put(("bookmobile", "mb", 4), b"page", ends)
    assert cache.get(("bookmobile", "mb", 4), ends - dt.timedelta(microseconds=1)) == b"page"
    assert cache.get(("bookmobile", "mb", 4), ends) is None
    assert cache.get(("bookmobile", "mb", 4), ends - dt.timedelta(hours=1)) is None
    cache.put(("a",), b"1", None)
    cache.put(("b",), b"2", None)
    cache.put(("c",), b"3", None)
    assert [cache.get((k,), ends) for k in "abc"] == [None, b"2", b"3"]
