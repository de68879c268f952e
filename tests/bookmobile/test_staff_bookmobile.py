"""Staff pages for bookmobile routes: signed in with a session, forms with CSRF tokens."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

import httpx
import pytest

from outreach.bookmobile.distance import matrix_km
from outreach.bookmobile.optimise import StopWindow, route_km, schedule
from outreach.models import (
    ApprovalState,
    AuditEntry,
    Event,
    EventStatus,
    Role,
    RoleName,
    Route,
    StaffUser,
    Stop,
    Vehicle,
)
from outreach.security import hash_published_password
from tests.bookmobile.conftest import FIRST_TUESDAY, Bookmobiles, route_body, stop
from tests.bookmobile.timetables import SOMERSET_CSV

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SOMERSET_HEADER = SOMERSET_CSV.read_text(encoding="utf-8").splitlines()[0]


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, bm: Bookmobiles, role: RoleName) -> None:
    user = await StaffUser.create(
        email=f"{role.value}-staff@mb.si",
        name="Staff",
        password_hash=hash_published_password(PASSWORD),
    )
    await Role.create(user=user, library=bm.library, role=role)
    # English pages (the cookie the switch sets), whatever the library speaks.
    page = await client.get("/staff/login?lang=en")
    response = await client.post(
        "/staff/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303


async def test_routes_page_and_route_actions(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    stops = [
        stop("Sever", 46.6200, 15.6467, "09:00", 20),
        stop("Jug", 46.5000, 15.6467, "10:00", 20),
        stop("Vzhod", 46.5575, 15.7500, "11:00", 20),
        stop("Home visit", 46.5600, 15.7400, "12:00", 20, visibility="internal"),
    ]
    created = await client.post(
        "/api/routes", json=route_body(stops=stops, valid_until=None), headers=bm.auth()
    )
    route_id = created.json()["id"]
    assert (await client.get("/staff/bookmobile")).status_code == 303  # to the login
    await _sign_in(client, bm, RoleName.EDITOR)
    listing = await client.get("/staff/bookmobile")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "private, no-store"
    assert f'href="/staff/bookmobile/routes/{route_id}"' in listing.text
    assert "Test diesel factor" in listing.text
    page = await client.get(f"/staff/bookmobile/routes/{route_id}")
    assert page.status_code == 200
    assert "Home visit" in page.text
    token = csrf_of(page.text)

    # A proposal changes nothing; applying it does.
    proposal = await client.post(
        f"/staff/bookmobile/routes/{route_id}/optimise",
        data={"tolerance_minutes": "60", "csrf_token": token},
    )
    assert proposal.status_code == 200
    assert "Apply this order" in proposal.text
    order = re.findall(
        r'name="stop" value="(\d+)"><input type="hidden" name="arrival" value="([0-9:]+)"',
        proposal.text,
    )
    rows = await Stop.filter(route_id=route_id).order_by("position")
    names = {s.id: s.name for s in rows}
    # The solver's order is the shortest one an exhaustive search finds within the windows.
    matrix = matrix_km([(46.5575, 15.6467), *((s.lat, s.lon) for s in rows)])
    windows = [StopWindow(s.arrival.hour * 60 + s.arrival.minute, 20) for s in rows]
    feasible = [
        list(p)
        for p in itertools.permutations(range(4))
        if schedule(p, windows, matrix, speed_kmh=40, tolerance=60) is not None
    ]
    best = min(feasible, key=lambda p: route_km(p, matrix))
    proposed = [[s.id for s in rows].index(int(i)) for i, _ in order]
    assert route_km(proposed, matrix) == pytest.approx(route_km(best, matrix))
    assert route_km(proposed, matrix) < route_km([0, 1, 2, 3], matrix)
    assert [s.name for s in await Stop.filter(route_id=route_id).order_by("position")] == [
        "Sever",
        "Jug",
        "Vzhod",
        "Home visit",
    ]
    applied = await client.post(
        f"/staff/bookmobile/routes/{route_id}/apply",
        data={"stop": [i for i, _ in order], "arrival": [a for _, a in order], "csrf_token": token},
    )
    assert applied.status_code == 303
    assert [s.name for s in await Stop.filter(route_id=route_id).order_by("position")] == [
        names[int(i)] for i, _ in order
    ]
    # Proposed again, in Slovenian: the optimiser's note in the page's language.
    again = await client.post(
        f"/staff/bookmobile/routes/{route_id}/optimise?lang=sl",
        data={"tolerance_minutes": "0", "csrf_token": token},
    )
    assert again.status_code == 200
    assert "sedanji vrstni red je že najkrajši najdeni" in again.text
    await client.get(f"/staff/bookmobile/routes/{route_id}?lang=en")  # English again

    # Cancelling a run; a day without a run is refused on the page.
    bad = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run",
        data={"date": "2026-01-07", "note": "", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "Route Z has no run on Wednesday, January 7, 2026." in bad.text
    done = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run",
        data={"date": "2026-01-20", "note": "Snow", "csrf_token": token},
    )
    assert done.status_code == 303
    assert (
        "The run of Tuesday, January 20, 2026 is cancelled: 4 visits."
        in (await client.get(done.headers["location"])).text
    )
    forged = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run", data={"date": "2026-02-03"}
    )
    assert forged.status_code == 403


async def test_import_form_saves_all_or_nothing(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    token = csrf_of((await client.get("/staff/bookmobile")).text)
    good = (
        "Maribor,Bibliobus,S,Limbuš,Center,,,15.586,46.556,Tuesday,Public,09:00,09:30,"
        "FREQ=WEEKLY,2026-01-06,,,"
    )
    bad = good.replace("46.556", "146.556").replace(",S,", ",T,")
    refused = await client.post(
        "/staff/bookmobile/import",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", f"{SOMERSET_HEADER}\n{good}\n{bad}\n".encode(), "text/csv")},
    )
    assert refused.status_code == 303
    page = (await client.get("/staff/bookmobile")).text
    assert "line 3.geoy: must be between -90 and 90" in page
    assert await Route.all().count() == 0
    # The same file from the Slovenian page: each line's problem in Slovenian.
    in_slovenian = await client.post(
        "/staff/bookmobile/import?lang=sl",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", f"{SOMERSET_HEADER}\n{good}\n{bad}\n".encode(), "text/csv")},
    )
    assert in_slovenian.status_code == 303
    page = (await client.get("/staff/bookmobile?lang=sl")).text
    assert "vrstica 3.geoy: mora biti med -90 in 90" in page
    assert "must be between" not in page
    assert await Route.all().count() == 0
    await client.get("/staff/bookmobile?lang=en")  # English again
    accepted = await client.post(
        "/staff/bookmobile/import",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", f"{SOMERSET_HEADER}\n{good}\n".encode(), "text/csv")},
    )
    assert accepted.status_code == 303
    assert (
        "The timetable is imported. 1 stop read. Routes created: S."
        in (await client.get("/staff/bookmobile")).text
    )
    assert [r.code for r in await Route.all()] == ["S"]


async def test_directors_read_but_do_not_edit(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    created = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    route_id = created.json()["id"]
    await _sign_in(client, bm, RoleName.DIRECTOR)
    page = await client.get(f"/staff/bookmobile/routes/{route_id}")
    assert page.status_code == 200
    assert "Cancel a run" not in page.text
    refused = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run",
        data={"date": "2026-01-20", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 403
    assert (await client.get("/staff/bookmobile/routes/99999")).status_code == 404


def _vehicle_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "library": "mb",
        "name": "Bibliobus 2",
        "slug": "bibliobus-2",
        "registration": "MB E1-23B",
        "fuel": "electric",
        "emission_factor": "",
        "kg_co2e_per_km": "0.12",
        "emission_factor_source": "Supplier data 2025",
        "average_speed_kmh": "35",
    }
    return form | changes


async def test_vehicle_forms_create_and_edit(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    listing = await client.get("/staff/bookmobile")
    assert 'href="/staff/bookmobile/vehicles/new?library=mb"' in listing.text
    assert f'href="/staff/bookmobile/vehicles/{bm.vehicle.id}/edit"' in listing.text
    assert "/staff/bookmobile/vehicles/new?library=kr" not in listing.text
    page = await client.get("/staff/bookmobile/vehicles/new?library=mb")
    assert page.status_code == 200
    assert (
        '<option value="diesel-test" >diesel, Rigid 7.5-17 t: 0.5 kg CO2e/km'
        " (Test diesel factor, 2024)</option>" in page.text
    )
    token = csrf_of(page.text)

    # An own figure with its source.
    created = await client.post("/staff/bookmobile/vehicles/new", data=_vehicle_form(token))
    assert created.status_code == 303
    assert created.headers["location"] == "/staff/bookmobile"
    own = await Vehicle.get(slug="bibliobus-2")
    assert (await client.get(f"/api/vehicles/{own.id}")).json() == {
        "id": own.id,
        "slug": "bibliobus-2",
        "name": "Bibliobus 2",
        "registration": "MB E1-23B",
        "fuel": "electric",
        "kg_co2e_per_km": 0.12,
        "emission_factor_source": "Supplier data 2025",
        "average_speed_kmh": 35.0,
    }
    assert "Vehicle Bibliobus 2 added." in (await client.get("/staff/bookmobile")).text

    # A factor on file brings its figure and source; the figure typed beside it is ignored.
    on_file = await client.post(
        "/staff/bookmobile/vehicles/new",
        data=_vehicle_form(
            token,
            slug="bibliobus-3",
            name="Bibliobus 3",
            fuel="diesel",
            emission_factor="diesel-test",
        ),
    )
    assert on_file.status_code == 303
    third = await Vehicle.get(slug="bibliobus-3")
    body = (await client.get(f"/api/vehicles/{third.id}")).json()
    assert (body["fuel"], body["kg_co2e_per_km"], body["emission_factor_source"]) == (
        "diesel",
        0.5,
        "Test diesel factor",
    )

    # A negative factor is shown beside its field, the entered values kept, nothing written.
    vehicles, audits = await Vehicle.all().count(), await AuditEntry.all().count()
    refused = await client.post(
        "/staff/bookmobile/vehicles/new",
        data=_vehicle_form(token, slug="bibliobus-4", name="Bibliobus 4", kg_co2e_per_km="-0.3"),
    )
    assert refused.status_code == 422
    assert (
        'value="-0.3" aria-invalid="true" aria-describedby="kg_co2e_per_km-error">'
        '<span class="field-error" id="kg_co2e_per_km-error">'
        "must be a number of kg CO2e per km between 0 and 10</span>"
    ) in refused.text
    assert 'value="Bibliobus 4"' in refused.text
    assert 'value="Supplier data 2025"' in refused.text
    assert '<option value="electric" selected>' in refused.text
    assert (await Vehicle.all().count(), await AuditEntry.all().count()) == (vehicles, audits)
    taken = await client.post("/staff/bookmobile/vehicles/new", data=_vehicle_form(token))
    assert taken.status_code == 422
    assert '<span class="field-error" id="slug-error">a vehicle of this library' in taken.text
    mismatch = await client.post(
        "/staff/bookmobile/vehicles/new",
        data=_vehicle_form(token, slug="bibliobus-5", emission_factor="diesel-test"),
    )
    assert mismatch.status_code == 422
    assert '<span class="field-error" id="fuel-error">the emission factor is for diesel' in (
        mismatch.text
    )
    assert await Vehicle.all().count() == vehicles

    # Edit: the form starts from the vehicle (its factor on file chosen), then changes it.
    edit = await client.get(f"/staff/bookmobile/vehicles/{bm.vehicle.id}/edit")
    assert edit.status_code == 200
    assert 'value="Bibliobus"' in edit.text
    assert '<option value="diesel-test" selected>' in edit.text
    saved = await client.post(
        f"/staff/bookmobile/vehicles/{bm.vehicle.id}/edit",
        data=_vehicle_form(
            token,
            name="Bibliobus (electric)",
            slug="bibliobus",
            fuel="electric",
            emission_factor="electric-test",
            average_speed_kmh="42.5",
        ),
    )
    assert saved.status_code == 303
    assert (await client.get(f"/api/vehicles/{bm.vehicle.id}")).json() == {
        "id": bm.vehicle.id,
        "slug": "bibliobus",
        "name": "Bibliobus (electric)",
        "registration": "MB E1-23B",
        "fuel": "electric",
        "kg_co2e_per_km": 0.2,
        "emission_factor_source": "Test electric factor",
        "average_speed_kmh": 42.5,
    }
    audit = await AuditEntry.filter(entity="vehicle", entity_id=str(bm.vehicle.id)).get()
    assert (audit.action, audit.changes["emission_factor"]) == ("update", "electric-test")
    clash = await client.post(
        f"/staff/bookmobile/vehicles/{bm.vehicle.id}/edit",
        data=_vehicle_form(token, slug="bibliobus-2", average_speed_kmh="fast"),
    )
    assert clash.status_code == 422
    assert 'id="average_speed_kmh-error">must be a number between 5 and 130' in clash.text
    assert 'value="fast"' in clash.text
    assert (await Vehicle.get(id=bm.vehicle.id)).name == "Bibliobus (electric)"

    # Another library's vehicle, an unknown one, and a form without its CSRF token.
    other = f"/staff/bookmobile/vehicles/{bm.other_vehicle.id}/edit"
    assert (await client.get(other)).status_code == 403
    assert (await client.post(other, data=_vehicle_form(token, slug="bus"))).status_code == 403
    assert (await client.get("/staff/bookmobile/vehicles/99999/edit")).status_code == 404
    form = _vehicle_form(token, slug="bibliobus-6")
    del form["csrf_token"]
    forged = await client.post("/staff/bookmobile/vehicles/new", data=form)
    assert forged.status_code == 403
    assert "security token is missing" in forged.text
    assert not await Vehicle.filter(slug="bibliobus-6").exists()


async def test_directors_may_not_add_or_edit_vehicles(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.DIRECTOR)
    listing = await client.get("/staff/bookmobile")
    assert listing.status_code == 200
    assert "Bibliobus" in listing.text
    assert "/staff/bookmobile/vehicles/" not in listing.text
    token = csrf_of(listing.text)
    assert (await client.get("/staff/bookmobile/vehicles/new?library=mb")).status_code == 403
    added = await client.post("/staff/bookmobile/vehicles/new", data=_vehicle_form(token))
    assert added.status_code == 403
    edited = await client.post(
        f"/staff/bookmobile/vehicles/{bm.vehicle.id}/edit",
        data=_vehicle_form(token, slug="bibliobus", name="Renamed"),
    )
    assert edited.status_code == 403
    assert [v.name for v in await Vehicle.filter(library_id=bm.library.id)] == ["Bibliobus"]
    assert await AuditEntry.filter(entity="vehicle").count() == 0


def _next_runs(count: int) -> list[str]:
    """The next ``count`` runs of route_body's schedule (every other Tuesday from
    FIRST_TUESDAY, the first stop at 09:00), in the staff page's English words."""
    today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Europe/Ljubljana")).date()
    day = FIRST_TUESDAY
    while day < today:
        day += dt.timedelta(days=14)
    days = [day + dt.timedelta(days=14 * n) for n in range(count)]
    return [f"<li>{d:%a}, {d:%B} {d.day}, {d.year}, 9:00\u202fAM</li>" for d in days]


async def test_staff_see_the_runs_of_a_route_awaiting_approval(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/routes", json=route_body(valid_until=None), headers=bm.auth())
    route = await Route.get(id=created.json()["id"])
    # Submitted for approval, not yet published (outreach.scheduling.approval).
    event_id: int = route.event_id  # type: ignore[attr-defined]
    await Event.filter(id=event_id).update(
        status=EventStatus.DRAFT, approval=ApprovalState.SUBMITTED
    )
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get(f"/staff/bookmobile/routes/{route.id}")
    assert page.status_code == 200
    runs = page.text.split("<h2>Next runs</h2>\n<ul>", 1)[1].split("</ul>", 1)[0]
    assert runs == "".join(_next_runs(4))
    # The public never sees a route that is not published: no page, feed or visit of it.
    client.cookies.clear()
    timetable = await client.get("/mb/bookmobile")
    # The library has no other route: no bookmobile to show the public.
    assert timetable.status_code == 404
    assert "Bibliobus zahod" not in timetable.text
    assert "Limbuš" not in timetable.text
    assert (await client.get(f"/feeds/mb/routes/{route.id}.ics")).status_code == 404
    nearest = await client.get("/api/stops/nearest", params={"lat": 46.556, "lon": 15.586})
    assert nearest.status_code == 200
    assert nearest.json()["stops"] == []
