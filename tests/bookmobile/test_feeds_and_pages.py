"""Route and stop feeds, and the public bookmobile page: cancelled runs, private stops,
conditional GET, and what calendar clients need in the raw bytes."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events

from outreach.bookmobile.distance import haversine_km
from outreach.reports.footprint import footprint_section
from tests.bookmobile.conftest import DIESEL, FIRST_TUESDAY, Bookmobiles, route_body, stop
from tests.factories import make_strategy

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
UTC = dt.UTC


def _next_run(after: dt.date) -> dt.date:
    """The first run of the fortnightly Tuesday route after ``after``."""
    weeks = (after - FIRST_TUESDAY).days // 14 + 1
    return FIRST_TUESDAY + dt.timedelta(days=14 * max(weeks, 0))


async def _route(client: httpx.AsyncClient, bm: Bookmobiles) -> dict[str, Any]:
    stops = route_body()["stops"] + [
        stop("Home visit", 46.55, 15.48, "13:00", 20, visibility="internal")
    ]
    response = await client.post(
        "/api/routes", json=route_body(stops=stops, valid_until=None), headers=bm.auth()
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def _local_starts(body: bytes, start: dt.datetime, end: dt.datetime) -> list[str]:
    calendar = icalendar.Calendar.from_ical(body)
    return sorted(
        f"{e['DTSTART'].dt.astimezone(LJUBLJANA):%Y-%m-%d %H:%M} {e['SUMMARY']}"
        for e in recurring_ical_events.of(calendar).between(start, end)
    )


async def test_a_cancelled_run_is_gone_from_every_stop_feed(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    cancelled = _next_run(_today() + dt.timedelta(days=1))
    response = await client.post(
        f"/api/routes/{route['id']}/runs/{cancelled.isoformat()}/cancel",
        json={"note": "Bus in the garage"},
        headers=bm.auth(),
    )
    assert response.status_code == 200
    window = (
        dt.datetime.combine(cancelled - dt.timedelta(days=14), dt.time(), tzinfo=UTC),
        dt.datetime.combine(cancelled + dt.timedelta(days=15), dt.time(), tzinfo=UTC),
    )
    before, after = cancelled - dt.timedelta(days=14), cancelled + dt.timedelta(days=14)
    public_stops = [s for s in route["stops"] if s["visibility"] == "public"]
    assert len(public_stops) == 3
    for item in public_stops:
        feed = await client.get(item["feed"])
        assert feed.status_code == 200
        title = f"Bibliobus zahod: {item['name']}"
        assert _local_starts(feed.content, *window) == [
            f"{before.isoformat()} {item['arrival']} {title}",
            f"{after.isoformat()} {item['arrival']} {title}",
        ]
        exdate = (
            f"EXDATE;TZID=Europe/Ljubljana:{cancelled:%Y%m%d}T{item['arrival'].replace(':', '')}00"
        )
        assert exdate.encode() in feed.content
    route_feed = await client.get(route["feed"])
    assert _local_starts(route_feed.content, *window) == sorted(
        f"{day.isoformat()} {s['arrival']} Bibliobus zahod: {s['name']}"
        for day in (before, after)
        for s in public_stops
    )


async def test_feeds_keep_private_stops_out_and_obey_the_calendar_rules(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    home = route["stops"][-1]
    assert home["visibility"] == "internal"
    assert (await client.get(f"/feeds/mb/stops/{home['id']}.ics")).status_code == 404
    body = (await client.get(route["feed"])).content
    assert b"Home visit" not in body
    assert body.count(b"BEGIN:VEVENT") == 3
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert all(line.endswith(b"\r") for line in body.split(b"\n")[:-1])
    assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/Ljubljana" in body
    assert b"DTSTART;TZID=Europe/Ljubljana:20260106T090000" in body
    assert b"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU" in body
    # Wrong library, unknown ids, nonsense ids.
    first = route["stops"][0]["id"]
    assert (await client.get(f"/feeds/kr/stops/{first}.ics")).status_code == 404
    assert (await client.get("/feeds/mb/stops/999999.ics")).status_code == 404
    assert (await client.get("/feeds/mb/routes/abc.ics")).status_code == 404
    assert (await client.get("/feeds/nowhere/routes/1.ics")).status_code == 404
    # Conditional GET.
    feed = await client.get(f"/feeds/mb/stops/{first}.ics")
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    again = await client.get(
        f"/feeds/mb/stops/{first}.ics", headers={"If-None-Match": feed.headers["etag"]}
    )
    assert again.status_code == 304
    # A change to the route makes a new feed.
    await client.post(
        f"/api/routes/{route['id']}/runs/{_next_run(_today()).isoformat()}/cancel",
        headers=bm.auth(),
    )
    changed = await client.get(
        f"/feeds/mb/stops/{first}.ics", headers={"If-None-Match": feed.headers["etag"]}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != feed.headers["etag"]


async def test_public_page_lists_routes_stops_and_next_visits(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    cancelled = _next_run(_today())
    await client.post(
        f"/api/routes/{route['id']}/runs/{cancelled.isoformat()}/cancel", headers=bm.auth()
    )
    page = await client.get("/mb/bookmobile")
    assert page.status_code == 200
    html = page.text
    assert "Bibliobus zahod" in html
    assert "Home visit" not in html
    # Each public stop's page (where its feed is), its visits in local time, cancelled in words.
    for item in route["stops"][:3]:
        assert f'<a href="/mb/bookmobile/stops/{item["id"]}">{item["name"]}</a>' in html
    assert f'<del><time datetime="{cancelled.isoformat()}T09:00">' in html
    assert '</del> <strong class="changed">odpovedan</strong>' in html
    assert f'<time datetime="{(cancelled + dt.timedelta(days=14)).isoformat()}T09:00">' in html
    assert (await client.get("/nowhere/bookmobile")).status_code == 404


async def test_the_coverage_report_footprint_section(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    assert (await footprint_section([bm.library], *_year(2026)))["available"] is False
    route = await _route(client, bm)
    section = await footprint_section([bm.library], *_year(2026))
    # 26 fortnightly runs in 2026, each depot → 4 stops (one a home visit) → depot.
    assert section["available"] is True
    assert (section["runs"], section["occurrences"], section["visitors"]) == (26, 104, 0)
    path = [(46.5575, 15.6467), *((s["lat"], s["lon"]) for s in route["stops"]), (46.5575, 15.6467)]
    km = 26 * 1.3 * sum(haversine_km(a, b) for a, b in itertools.pairwise(path))
    assert section["distance_km"] == round(km, 1)
    assert section["kg_co2e"] == round(km * DIESEL, 1)
    assert section["km_per_run"] == round(km / 26, 1)
    assert [r["route"]["id"] for r in section["routes"]] == [route["id"]]
    assert section["routes"][0]["kg_co2e_if_electric"] == round(km * 0.2, 1)
    assert [v["vehicle"]["slug"] for v in section["by_vehicle"]] == ["bibliobus"]
    assert section["distance_sources"] == ["great-circle distance × detour factor 1.3"]
    assert section["notes"] == []


def _today() -> dt.date:
    return dt.datetime.now(LJUBLJANA).date()


def _year(year: int) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime(year, 1, 1, tzinfo=LJUBLJANA).astimezone(UTC),
        dt.datetime(year + 1, 1, 1, tzinfo=LJUBLJANA).astimezone(UTC),
    )


async def test_the_coverage_report_carries_the_footprint(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await make_strategy(library=bm.library)
    route = await _route(client, bm)
    response = await client.get(
        "/api/reports/coverage?library=mb&from=2026-01-01&to=2026-12-31",
        headers=bm.auth("director"),
    )
    assert response.status_code == 200, response.text
    section = response.json()["footprint"]
    assert section == await footprint_section([bm.library], *_year(2026))
    assert (section["runs"], section["occurrences"]) == (26, 104)
    assert section["routes"][0]["route"]["id"] == route["id"]


async def test_a_cancelled_route_stays_in_its_feeds_as_cancelled(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    url = f"/api/routes/{route['id']}"
    assert (await client.delete(url, headers=bm.auth("director"))).status_code == 403
    response = await client.delete(url, headers=bm.auth())
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["revision"]) == ("cancelled", 2)
    feed = (await client.get(route["feed"])).content
    assert feed.count(b"STATUS:CANCELLED") == 3
    assert feed.count(b"SEQUENCE:2") == 3
    page = (await client.get("/mb/bookmobile")).text
    assert "Bibliobus zahod" not in page
