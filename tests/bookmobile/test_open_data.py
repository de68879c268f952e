"""Open-data timetables: the real Somerset timetable in, feeds and occurrences checked
against its own rules, rows of our own for exceptions, last dates and home visits, and
export then re-import changing nothing."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import pytest_asyncio
import recurring_ical_events
from dateutil.rrule import rrulestr

from outreach import i18n
from outreach.bookmobile.commands import (
    ImportFailed,
    add_import_stops,
    cmd_import_stops,
    import_stops_file,
)
from outreach.models import (
    DataVersion,
    EmissionFactor,
    Event,
    Fuel,
    Library,
    Occurrence,
    RoleName,
    Route,
    Stop,
    Vehicle,
)
from tests.bookmobile.timetables import SOMERSET_CSV, create_somerset
from tests.factories import make_token_user

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
# Seven months across both daylight-saving changes of the UK (25 Oct 2026, 28 Mar 2027).
WINDOW = (dt.datetime(2026, 10, 1, tzinfo=UTC), dt.datetime(2027, 4, 30, tzinfo=UTC))
HEADER = SOMERSET_CSV.read_text(encoding="utf-8").splitlines()[0]

# Our own rows: a Saturday route (no Somerset route runs on Saturdays) with a run without
# any visit (26 December), a stop skipped once (9 January), a last date, and a home visit.
WEEKLY2 = "FREQ=WEEKLY;INTERVAL=2"
OWN_ROWS = "".join(
    f"Somerset,Mobile,X,Wiveliscombe,{row}\n"
    for row in (
        'Square,"The Square, Wiveliscombe",TA4 2JT,-3.3114,51.0411,Saturday,Public,'
        f'10:00,10:30,{WEEKLY2},2026-10-03,2027-02-20,"2026-12-26,2027-01-09",',
        'Home visit,"1 Private Lane, Wiveliscombe",TA4 2AA,-3.32,51.045,Saturday,Private,'
        f"11:00,11:20,{WEEKLY2},2026-10-03,2027-02-20,2026-12-26,",
    )
)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def expected_visits(row: dict[str, str], start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The visits a row's own RRULE, first date, last date and exceptions define (UTC)."""
    first = dt.datetime.combine(
        dt.date.fromisoformat(row["start"]), dt.time.fromisoformat(row["arrival"])
    )
    rule = rrulestr(row["frequency"], dtstart=first)
    skipped = {dt.date.fromisoformat(d) for d in row["exceptions"].split(",") if d}
    last = dt.date.fromisoformat(row["end"]) if row["end"] else dt.date.max
    found = []
    for local in rule.between(
        start.astimezone(LONDON).replace(tzinfo=None),
        end.astimezone(LONDON).replace(tzinfo=None),
        inc=True,
    ):
        if local.date() > last:
            break
        if local.date() not in skipped:
            found.append(local.replace(tzinfo=LONDON).astimezone(UTC))
    return found


@pytest_asyncio.fixture
async def somerset(db: str) -> Library:
    library = await create_somerset()
    await EmissionFactor.create(
        slug="diesel-test",
        fuel=Fuel.DIESEL,
        vehicle_class="Rigid 7.5-17 t",
        kg_co2e_per_km=0.6,
        source="Test diesel factor",
        year=2024,
    )
    return library


async def _token(library: Library) -> dict[str, str]:
    secret = await make_token_user("editor@somerset.gov.uk", [(RoleName.EDITOR, library)])
    return {"Authorization": f"Bearer {secret}"}


async def _occurrences(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    url: str | None = (
        "/api/occurrences?library=somerset"
        f"&from={WINDOW[0]:%Y-%m-%dT%H:%M:%SZ}&to={WINDOW[1]:%Y-%m-%dT%H:%M:%SZ}"
    )
    found: list[dict[str, Any]] = []
    while url is not None:
        response = await client.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["occurrences"]
        url = body["next"]
    return found


def _feed_visits(body: bytes) -> dict[int, list[dt.datetime]]:
    """Visits per stop id (from the UID ``outreach-event-E-stop-S@host``), read by
    ``recurring-ical-events``, not by our code."""
    calendar = icalendar.Calendar.from_ical(body)
    found: dict[int, list[dt.datetime]] = {}
    for event in recurring_ical_events.of(calendar).between(WINDOW[0], WINDOW[1]):
        if str(event.get("STATUS", "CONFIRMED")) == "CANCELLED":
            continue
        stop_id = int(str(event["UID"]).split("@")[0].rsplit("-", 1)[1])
        found.setdefault(stop_id, []).append(event["DTSTART"].dt.astimezone(UTC))
    return {k: sorted(v) for k, v in found.items()}


async def test_somerset_timetable_gives_exactly_its_visits(
    somerset: Library, client: httpx.AsyncClient
) -> None:
    auth = await _token(somerset)
    text = SOMERSET_CSV.read_text(encoding="utf-8") + OWN_ROWS
    response = await client.post(
        "/api/routes/import?library=somerset",
        content=text.encode(),
        headers={**auth, "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["created"] == [*"ABCDEFGHIJKLMNOPQ", "X"]
    assert result["stops"] == 128
    assert result["vehicles_created"] == ["Mobile"]
    # Real timetables leave too little (or no) driving time between some stops: warnings.
    assert result["warnings"] == [
        "route C: Butleigh School → Baltonsborough Village Hall (Plygrp): 5.0 km need about"
        " 8 min at 40 km/h, the timetable leaves 5 min",
        "route N: Puriton Village Hall → Wellfield House: 10.5 km need about 16 min at 40 km/h,"
        " the timetable leaves 15 min",
        "route O: Durston Village Hall → Outwood Rd, Station Post Box: 2.2 km need about 4 min"
        " at 40 km/h, the timetable leaves 0 min",
    ]
    assert await Route.filter(library_id=somerset.id).count() == 18
    assert await Stop.filter(route__library_id=somerset.id).count() == 128

    rows = _rows(text)
    stops = {
        (s.route.code, s.name, f"{s.arrival:%H:%M}"): s
        for s in await Stop.filter(route__library_id=somerset.id).prefetch_related("route")
    }
    expected_public: dict[int, list[dt.datetime]] = {}
    for row in rows:
        stop = stops[(row["route"], row["stop"], row["arrival"])]
        if row["type"] == "Public":
            expected_public[stop.id] = expected_visits(row, *WINDOW)
    assert sum(len(v) for v in expected_public.values()) > 900

    # /api/occurrences, as the public sees it.
    public = await _occurrences(client)
    by_stop: dict[int, list[dt.datetime]] = {}
    for occurrence in public:
        if not occurrence["cancelled"]:
            by_stop.setdefault(occurrence["stop"], []).append(
                dt.datetime.fromisoformat(occurrence["start"])
            )
    assert by_stop == {k: v for k, v in expected_public.items() if v}

    # Every route's feed (one series per public stop), read by an independent expander.
    from_feeds: dict[int, list[dt.datetime]] = {}
    for route in await Route.filter(library_id=somerset.id):
        feed = await client.get(f"/feeds/somerset/routes/{route.id}.ics")
        assert feed.status_code == 200
        assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
        from_feeds.update(_feed_visits(feed.content))
    assert from_feeds == {k: v for k, v in expected_public.items() if v}
    # And the feeds of single stops: the first and last of Somerset, and ours.
    first, last = min(expected_public), max(expected_public)
    for stop_id in (first, last, max(k for k in expected_public if k < last)):
        feed = await client.get(f"/feeds/somerset/stops/{stop_id}.ics")
        assert _feed_visits(feed.content) == {stop_id: expected_public[stop_id]}

    # Our own rows: 26 December has no run, 9 January no visit at the Square.
    square = stops[("X", "Square", "10:00")]
    assert [d.date().isoformat() for d in expected_public[square.id]] == [
        "2026-10-03", "2026-10-17", "2026-10-31", "2026-11-14", "2026-11-28",
        "2026-12-12", "2027-01-23", "2027-02-06", "2027-02-20",
    ]  # fmt: skip
    home = stops[("X", "Home visit", "11:00")]
    assert (await client.get(f"/feeds/somerset/stops/{home.id}.ics")).status_code == 404
    route_x = await Route.get(library_id=somerset.id, code="X")
    route_feed = await client.get(f"/feeds/somerset/routes/{route_x.id}.ics")
    assert b"Home visit" not in route_feed.content
    assert b"Private Lane" not in route_feed.content
    assert b"Square" in route_feed.content
    page = await client.get("/somerset/bookmobile")
    assert page.status_code == 200
    assert "Home visit" not in page.text
    assert f'href="/somerset/bookmobile/stops/{square.id}"' in page.text
    assert f'href="/somerset/bookmobile/stops/{home.id}"' not in page.text
    stop_page = await client.get(f"/somerset/bookmobile/stops/{square.id}")
    assert f"/feeds/somerset/stops/{square.id}.ics" in stop_page.text
    assert (await client.get(f"/somerset/bookmobile/stops/{home.id}")).status_code == 404
    # Staff see the home visit, with its own exception on 26 December.
    staff_visits = [
        o["start"]
        for o in await _occurrences(client, auth)
        if o["stop"] == home.id and not o["cancelled"]
    ]
    assert len(staff_visits) == 10


async def test_export_then_reimport_changes_nothing(
    somerset: Library, client: httpx.AsyncClient
) -> None:
    auth = await _token(somerset)
    text = SOMERSET_CSV.read_text(encoding="utf-8") + OWN_ROWS
    first = await client.post(
        "/api/routes/import?library=somerset", content=text.encode(), headers=auth
    )
    assert first.status_code == 200
    routes = await Route.filter(library_id=somerset.id).order_by("code")

    async def export() -> list[str]:
        out = []
        for route in routes:
            response = await client.get(f"/api/routes/{route.id}/stops.csv", headers=auth)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            out.append(response.text)
        return out

    exported = await export()
    original = _rows(text)
    flattened = [row for part in exported for row in _rows(part)]
    # Every column but the organisation's web page comes back as it went in.
    assert [{k: v for k, v in r.items() if k != "timetable"} for r in flattened] == [
        {k: v for k, v in r.items() if k != "timetable"} for r in original
    ]
    assert flattened[0]["timetable"] == "https://outreach.example.org/somerset/bookmobile"

    version = (await DataVersion.get(scope="programme")).version
    occurrences = sorted(await Occurrence.all().values_list("id", "starts_at", "cancelled"))
    revisions = sorted(await Event.all().values_list("id", "revision"))
    combined = exported[0] + "".join(part.split("\r\n", 1)[1] for part in exported[1:])
    again = await client.post(
        "/api/routes/import?library=somerset", content=combined.encode(), headers=auth
    )
    assert again.status_code == 200
    assert again.json()["unchanged"] == [*"ABCDEFGHIJKLMNOPQ", "X"]
    assert again.json()["created"] == again.json()["updated"] == []
    assert await export() == exported
    assert (await DataVersion.get(scope="programme")).version == version
    assert sorted(await Occurrence.all().values_list("id", "starts_at", "cancelled")) == occurrences
    assert sorted(await Event.all().values_list("id", "revision")) == revisions

    # The public export leaves the home visit out.
    route_x = await Route.get(library_id=somerset.id, code="X")
    public = await client.get(f"/api/routes/{route_x.id}/stops.csv")
    assert [r["stop"] for r in _rows(public.text)] == ["Square"]

    # A changed timetable updates the route and keeps its stops' ids.
    square = await Stop.get(route_id=route_x.id, name="Square")
    moved = combined.replace(
        ',Square,"The Square, Wiveliscombe",TA4 2JT,-3.3114,51.0411,Saturday,Public,10:00,10:30',
        ',Square,"The Square, Wiveliscombe",TA4 2JT,-3.3114,51.0411,Saturday,Public,09:45,10:30',
    )
    assert moved != combined
    changed = await client.post(
        "/api/routes/import?library=somerset", content=moved.encode(), headers=auth
    )
    assert changed.json()["updated"] == ["X"]
    assert (await Stop.get(id=square.id)).minutes_parked == 45


async def test_public_occurrences_leave_out_private_stops(
    somerset: Library, client: httpx.AsyncClient
) -> None:
    auth = await _token(somerset)
    response = await client.post(
        "/api/routes/import?library=somerset",
        content=(HEADER + "\n" + OWN_ROWS).encode(),
        headers=auth,
    )
    assert response.status_code == 200
    home = await Stop.get(name="Home visit")
    assert len([o for o in await _occurrences(client, auth) if o["stop"] == home.id]) == 11
    assert [o for o in await _occurrences(client) if o["stop"] == home.id] == []


BAD_ROWS = "".join(
    f"Somerset,Mobile,{row}\n"
    for row in (
        "Y,Here,North pole,,,-3.1,95,Saturday,Public,10:00,10:30,FREQ=WEEKLY,2026-10-03,,,",
        "Y,Here,Dot time,,,-3.1,51.0,Saturday,Public,9.30,10:30,FREQ=WEEKLY,2026-10-03,,,",
        "Y,Here,Sometimes,,,-3.1,51.0,Saturday,Public,11:00,11:30,FREQ=SOMETIMES,2026-10-03,,,",
        "Y,Here,Wrong day,,,-3.1,51.0,Saturday,Public,12:00,12:30,FREQ=WEEKLY,2026-10-04,,,",
        "Y,Here,No time parked,,,-3.1,51.0,Saturday,Public,13:00,13:00,FREQ=WEEKLY,2026-10-03,,,",
        "Y,Here,Dynamic,,,-3.1,51.0,Saturday,Dynamic,14:00,14:30,FREQ=WEEKLY,2026-10-03,,,",
        "Z,Here,First,,,-3.1,51.0,Sunday,Public,10:00,10:30,FREQ=WEEKLY,2026-10-04,,,",
        "Z,Here,Too early,,,-3.1,51.0,Sunday,Public,10:15,10:45,FREQ=WEEKLY,2026-10-04,,,",
        f"Z,Here,Other rule,,,-3.1,51.0,Sunday,Public,11:00,11:30,{WEEKLY2},2026-10-04,,,",
    )
)


async def test_a_bad_file_is_reported_by_line_and_column_and_saves_nothing(
    somerset: Library, client: httpx.AsyncClient
) -> None:
    auth = await _token(somerset)
    # One good Somerset route first: it must not be saved either.
    good = "\n".join(SOMERSET_CSV.read_text(encoding="utf-8").splitlines()[:8]) + "\n"
    response = await client.post(
        "/api/routes/import?library=somerset",
        content=(good + BAD_ROWS).encode(),
        headers=auth,
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "the timetable was not imported",
        "fields": {
            "line 9.geoy": "must be between -90 and 90",
            "line 10.arrival": "must be a time of day such as 09:45",
            "line 11.frequency": "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY",
            "line 12.start": "is a Sunday, not a Saturday",
            "line 13.departure": "must be after the arrival",
            "line 14.type": "must be Public or Private (Dynamic and Other are not supported)",
            "line 17.frequency": (
                "differs from line 15, the first stop of route Z (a route has one vehicle"
                " and one rule)"
            ),
            "line 16.arrival": "arrives at 10:15, before the visit to First ends at 10:30",
        },
        # The problems with a stable code, for a client to match instead of the words.
        "codes": {"line 16.arrival": "overlap"},
    }
    assert await Route.all().count() == 0
    assert await Vehicle.all().count() == 0
    assert await Occurrence.all().count() == 0
    missing = await client.post(
        "/api/routes/import?library=somerset", content=b"route,stop\nA,Here\n", headers=auth
    )
    assert missing.status_code == 422
    assert list(missing.json()["fields"]) == ["line 1"]
    assert (
        await client.post("/api/routes/import?library=somerset", content=good.encode())
    ).status_code == 401


async def test_import_command(somerset: Library, tmp_path: Path) -> None:
    path = tmp_path / "stops.csv"
    path.write_text(HEADER + "\n" + OWN_ROWS, encoding="utf-8")
    result = await import_stops_file(path, "somerset", depot_slug="taunton")
    assert (result.created, result.stops) == (["X"], 2)
    with pytest.raises(ImportFailed, match="no library 'nowhere'"):
        await import_stops_file(path, "nowhere")
    with pytest.raises(ImportFailed, match="--depot rotovz: no such branch"):
        await import_stops_file(path, "somerset", depot_slug="rotovz")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + BAD_ROWS.splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"(?s)was not imported:\n  line 2\.geoy: must be"):
        await import_stops_file(bad, "somerset")
    # The command's words are the current language's: the library's, as the command runs.
    with i18n.speaking("sl"), pytest.raises(ImportFailed) as refused:
        await import_stops_file(bad, "somerset")
    assert (
        str(refused.value)
        == f"datoteka {bad} ni bila uvožena:\n  vrstica 2.geoy: mora biti med -90 in 90"
    )


def test_the_import_stops_command_line() -> None:
    parser = argparse.ArgumentParser(prog="outreach")
    add_import_stops(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["import-stops", "stops.csv", "--library", "somerset"])
    assert (args.file, args.library, args.depot) == (Path("stops.csv"), "somerset", None)
    assert args.handler is cmd_import_stops
