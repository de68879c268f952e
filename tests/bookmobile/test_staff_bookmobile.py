"""Staff pages for bookmobile routes: signed in with a session, forms with CSRF tokens."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import httpx
import pytest

from outreach.bookmobile.distance import matrix_km
from outreach.bookmobile.optimise import StopWindow, route_km, schedule
from outreach.models import Role, RoleName, Route, StaffUser, Stop
from outreach.security import hash_password
from tests.bookmobile.conftest import Bookmobiles, route_body, stop

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SOMERSET_HEADER = (
    (Path(__file__).parent / "data" / "mobile_library_stops_somerset.csv")
    .read_text(encoding="utf-8")
    .splitlines()[0]
)


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, bm: Bookmobiles, role: RoleName) -> None:
    user = await StaffUser.create(
        email=f"{role.value}-staff@mb.si", name="Staff", password_hash=hash_password(PASSWORD)
    )
    await Role.create(user=user, library=bm.library, role=role)
    page = await client.get("/staff/login")
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

    # Cancelling a run; a day without a run is refused on the page.
    bad = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run",
        data={"date": "2026-01-07", "note": "", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "route Z has no run on 2026-01-07" in bad.text
    done = await client.post(
        f"/staff/bookmobile/routes/{route_id}/cancel-run",
        data={"date": "2026-01-20", "note": "Snow", "csrf_token": token},
    )
    assert done.status_code == 303
    assert (
        "Run of 2026-01-20 cancelled: 4 visits."
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
    accepted = await client.post(
        "/staff/bookmobile/import",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", f"{SOMERSET_HEADER}\n{good}\n".encode(), "text/csv")},
    )
    assert accepted.status_code == 303
    assert "Imported: 1 stop(s); created S" in (await client.get("/staff/bookmobile")).text
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
