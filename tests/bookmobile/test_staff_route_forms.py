"""Routes and their stops in the browser, without JavaScript: a new route with its stops,
reordering, removing and adding stops, changing the route, the optimiser's yearly savings,
and the import page whose example imports."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
from babel.numbers import format_decimal

from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalState,
    Event,
    EventStatus,
    Library,
    RoleName,
    Route,
    Stop,
)
from tests.bookmobile.conftest import Bookmobiles, route_body, stop
from tests.bookmobile.test_staff_bookmobile import PASSWORD, _sign_in, csrf_of


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    """The stop rows as the form sends them."""
    fields = {"rows": str(len(rows))}
    for i, row in enumerate(rows):
        blank = dict.fromkeys(
            ("id", "name", "community", "address", "postcode", "lat", "lon", "arrival"), ""
        ) | {"minutes_parked": "", "visibility": "public"}
        fields.update({f"stop-{i}-{k}": v for k, v in (blank | row).items()})
    return fields


def _names_in_order(html: str) -> list[str]:
    return re.findall(r'name="stop-\d+-name" maxlength="200" value="([^"]*)"', html)


def _arrivals_in_order(html: str) -> list[str]:
    return re.findall(r'name="stop-\d+-arrival" value="([^"]*)"', html)


THREE = [
    {
        "name": "Limbuš",
        "lat": "46.556",
        "lon": "15.586",
        "arrival": "09:00",
        "minutes_parked": "30",
    },
    {
        "name": "Bresternica",
        "lat": "46,572",
        "lon": "15.549",
        "arrival": "10:00",
        "minutes_parked": "45",
    },
    {
        "name": "Selnica",
        "lat": "46.552",
        "lon": "15.494",
        "arrival": "11:30",
        "minutes_parked": "60",
    },
]


def _route_form(bm: Bookmobiles, token: str, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "library": "mb",
        "code": "W",
        "name": "Bibliobus zahod",
        "vehicle": str(bm.vehicle.id),
        "depot": str(bm.depot.id),
        "weekday": "TU",
        "every": "2",
        "rrule": "",
        "valid_from": "2026-01-06",
        "valid_until": "",
        "detour_factor": "1.3",
    } | changes


async def test_a_route_is_made_and_its_stops_reordered_without_javascript(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get("/staff/bookmobile/routes/new?library=mb")
    assert page.status_code == 200
    assert len(_names_in_order(page.text)) == 3
    token = csrf_of(page.text)

    # "Add a stop" gives a fourth row and saves nothing; a blank row is left out on saving.
    added = await client.post(
        "/staff/bookmobile/routes/new",
        data=_route_form(bm, token, add="1") | _rows(THREE),
    )
    assert added.status_code == 200
    assert _names_in_order(added.text) == ["Limbuš", "Bresternica", "Selnica", ""]
    assert await Route.all().count() == 0

    # A latitude out of range is named first; visits that overlap and a first run off
    # the rule's day once every field reads.
    far = await client.post(
        "/staff/bookmobile/routes/new",
        data=_route_form(bm, token) | _rows([*THREE[:2], THREE[2] | {"lat": "146.5"}]),
    )
    assert far.status_code == 422
    assert "Give a latitude between -90 and 90, such as 46.5575." in far.text
    overlap = [*THREE[:2], THREE[2] | {"arrival": "10:20"}]
    refused = await client.post(
        "/staff/bookmobile/routes/new",
        data=_route_form(bm, token, valid_from="2026-01-07") | _rows([*overlap, {}]),
    )
    assert refused.status_code == 422
    assert "The first run must fall on a day of the rule." in refused.text
    assert "Arrives at 10:20, before the visit to Bresternica ends at 10:45." in refused.text
    assert await Route.all().count() == 0

    created = await client.post(
        "/staff/bookmobile/routes/new", data=_route_form(bm, token) | _rows([*THREE, {}])
    )
    assert created.status_code == 303
    route = await Route.get(code="W")
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    assert event.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    assert [
        (s.name, s.lat, f"{s.arrival:%H:%M}", s.minutes_parked)
        for s in await Stop.filter(route_id=route.id).order_by("position")
    ] == [
        ("Limbuš", 46.556, "09:00", 30),
        ("Bresternica", 46.572, "10:00", 45),
        ("Selnica", 46.552, "11:30", 60),
    ]
    assert created.headers["location"] == f"/staff/bookmobile/routes/{route.id}"

    # Down on the first stop: the stops change places, the time slots stay; unsaved.
    shown = await client.get(f"/staff/bookmobile/routes/{route.id}")
    stops = await Stop.filter(route_id=route.id).order_by("position")
    rows = [
        {
            "id": str(s.id),
            "name": s.name,
            "lat": f"{s.lat:g}",
            "lon": f"{s.lon:g}",
            "arrival": f"{s.arrival:%H:%M}",
            "minutes_parked": str(s.minutes_parked),
        }
        for s in stops
    ]
    moved = await client.post(
        f"/staff/bookmobile/routes/{route.id}/stops",
        data={"csrf_token": csrf_of(shown.text), "down": "0"} | _rows(rows),
    )
    assert moved.status_code == 200
    assert _names_in_order(moved.text) == ["Bresternica", "Limbuš", "Selnica"]
    assert _arrivals_in_order(moved.text) == ["09:00", "10:00", "11:30"]
    assert "Not saved yet: save the stops to keep this order." in moved.text
    assert [s.name for s in await Stop.filter(route_id=route.id).order_by("position")] == [
        "Limbuš",
        "Bresternica",
        "Selnica",
    ]
    swapped = [rows[1] | {"arrival": "09:00"}, rows[0] | {"arrival": "10:00"}, rows[2]]
    saved = await client.post(
        f"/staff/bookmobile/routes/{route.id}/stops",
        data={"csrf_token": csrf_of(shown.text), "save": "1"} | _rows(swapped),
    )
    assert saved.status_code == 303
    after = await Stop.filter(route_id=route.id).order_by("position")
    assert [(s.id, s.name, f"{s.arrival:%H:%M}") for s in after] == [
        (stops[1].id, "Bresternica", "09:00"),
        (stops[0].id, "Limbuš", "10:00"),
        (stops[2].id, "Selnica", "11:30"),
    ]
    assert (
        "The route&#39;s 3 stops are saved, in this order."
        in (await client.get(saved.headers["location"])).text
    )

    # Removing the middle stop and adding one at the end, in one save.
    kept = [
        swapped[0],
        swapped[2],
        {
            "name": "Ruše",
            "lat": "46.538",
            "lon": "15.515",
            "arrival": "13:00",
            "minutes_parked": "20",
            "visibility": "internal",
        },
    ]
    again = await client.post(
        f"/staff/bookmobile/routes/{route.id}/stops",
        data={"csrf_token": csrf_of(shown.text), "save": "1"} | _rows(kept),
    )
    assert again.status_code == 303
    final = await Stop.filter(route_id=route.id).order_by("position")
    assert [(s.name, s.visibility.value) for s in final] == [
        ("Bresternica", "public"),
        ("Selnica", "public"),
        ("Ruše", "internal"),
    ]
    assert final[0].id == stops[1].id


async def test_an_editor_s_route_waits_for_a_director_where_the_library_asks(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    """Where directors approve every change, the editor's new route is a submitted draft
    and, once published, the editor's new stop order is refused (409) and not written."""
    await Library.filter(id=bm.library.id).update(approval=ApprovalPolicy.ALL_CHANGES)
    await _sign_in(client, bm, RoleName.EDITOR)
    token = csrf_of((await client.get("/staff/bookmobile/routes/new?library=mb")).text)
    created = await client.post(
        "/staff/bookmobile/routes/new", data=_route_form(bm, token) | _rows(THREE)
    )
    assert created.status_code == 303
    route = await Route.get(code="W")
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    waiting = await ApprovalRequest.filter(event_id=event.id).values_list("kind", "decision")
    assert (event.status, event.approval, waiting) == (
        EventStatus.DRAFT,
        ApprovalState.SUBMITTED,
        [(ApprovalKind.PUBLISH, ApprovalDecision.PENDING)],
    )
    shown = await client.get(created.headers["location"])
    assert (
        "Route W is saved and waits for a director&#39;s approval: it is not public until then."
        in shown.text
    )
    waits = "Not public yet: this route waits for a director's approval."
    assert waits in shown.text
    assert f'<a href="/staff/events/{event.id}">See where its approval stands</a>' in shown.text

    # The director approves it from the approvals page.
    client.cookies.clear()
    await _sign_in(client, bm, RoleName.DIRECTOR)
    approvals = await client.get("/staff/approvals?library=mb")
    assert (approvals.status_code, "Bibliobus zahod" in approvals.text) == (200, True)
    (request_id,) = await ApprovalRequest.filter(event_id=event.id).values_list("id", flat=True)
    approved = await client.post(
        f"/staff/approvals/{request_id}/approve", data={"csrf_token": csrf_of(approvals.text)}
    )
    assert approved.status_code == 303
    await event.refresh_from_db()
    assert (event.status, event.approval) == (EventStatus.PUBLISHED, ApprovalState.APPROVED)

    client.cookies.clear()
    page = await client.get("/staff/login?lang=en")
    signed_in = await client.post(
        "/staff/login",
        data={
            "email": "editor-staff@mb.si",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert signed_in.status_code == 303
    shown = await client.get(f"/staff/bookmobile/routes/{route.id}")
    assert waits not in shown.text
    stops = await Stop.filter(route_id=route.id).order_by("position")
    rows = [
        {
            "id": str(s.id),
            "name": s.name,
            "lat": f"{s.lat:g}",
            "lon": f"{s.lon:g}",
            "arrival": f"{s.arrival:%H:%M}",
            "minutes_parked": str(s.minutes_parked),
        }
        for s in stops
    ]
    refused = await client.post(
        f"/staff/bookmobile/routes/{route.id}/stops",
        data={"csrf_token": csrf_of(shown.text), "save": "1"} | _rows([rows[0], rows[2]]),
    )
    assert refused.status_code == 409
    assert (
        "In this library a director makes or approves every change to a published route:"
        " ask a director to make this change." in refused.text
    )
    assert [s.name for s in await Stop.filter(route_id=route.id).order_by("position")] == [
        "Limbuš",
        "Bresternica",
        "Selnica",
    ]


async def test_a_route_is_changed_and_the_optimiser_says_what_a_year_saves(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    # Stops out of order along the road: a shorter order exists within an hour each.
    stops = [
        stop("Sever", 46.6200, 15.6467, "09:00", 20),
        stop("Jug", 46.5000, 15.6467, "10:00", 20),
        stop("Vzhod", 46.5575, 15.7500, "11:00", 20),
    ]
    today = dt.datetime.now(ZoneInfo("Europe/Ljubljana")).date()
    body = route_body(stops=stops, valid_until=None, valid_from=today.isoformat())
    body["rrule"] = (
        "FREQ=WEEKLY;BYDAY=" + ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[today.weekday()]
    )
    created = await client.post("/api/routes", json=body, headers=bm.auth())
    assert created.status_code == 201, created.text
    route_id = created.json()["id"]
    await _sign_in(client, bm, RoleName.EDITOR)
    form = await client.get(f"/staff/bookmobile/routes/{route_id}/edit")
    assert form.status_code == 200
    assert 'value="1" selected' in form.text  # every week
    changed = await client.post(
        f"/staff/bookmobile/routes/{route_id}/edit",
        data={
            "csrf_token": csrf_of(form.text),
            "code": "Z",
            "name": "Bibliobus sever",
            "vehicle": str(bm.vehicle.id),
            "depot": str(bm.depot.id),
            "weekday": body["rrule"][-2:],
            "every": "1",
            "rrule": "",
            "valid_from": body["valid_from"],
            "valid_until": "",
            "detour_factor": "1,4",
        },
    )
    assert changed.status_code == 303
    route = await Route.get(id=route_id)
    assert (route.name, route.detour_factor) == ("Bibliobus sever", 1.4)
    assert len(await Stop.filter(route_id=route_id)) == 3

    expected = (
        await client.post(
            f"/api/routes/{route_id}/optimise", json={"tolerance_minutes": 60}, headers=bm.auth()
        )
    ).json()
    assert expected.get("proposal") is not None, expected
    page = await client.get(f"/staff/bookmobile/routes/{route_id}")
    proposal = await client.post(
        f"/staff/bookmobile/routes/{route_id}/optimise",
        data={"tolerance_minutes": "60", "csrf_token": csrf_of(page.text)},
    )
    assert proposal.status_code == 200
    km = format_decimal(expected["km_saved_per_year"], "#,##0.#", locale="en")
    kg = format_decimal(expected["kg_co2e_saved_per_year"], "#,##0.#", locale="en")
    runs = expected["runs_per_year"]
    assert f"Over the {runs} runs of the coming year: {km} km and {kg} kg CO2e less." in (
        proposal.text
    )


async def test_the_import_page_explains_the_format_and_its_example_imports(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get("/staff/bookmobile/import?library=mb")
    assert page.status_code == 200
    for text in (
        "<code>geox</code></td><td>Longitude, in degrees (a point as the decimal mark).</td>"
        "<td>15.6132</td>",
        "At most 5,000 rows, and at most 200,000 stop visits",
        "The file is UTF-8 text of at most 2 MB.",
        "Each problem names its line and column, for example “line 3.geox: must be a number”:",
    ):
        assert text in page.text
    example = re.search(r"<pre>(.*?)</pre>", page.text, re.S)
    assert example is not None
    csv = example.group(1).replace("&#34;", '"').replace("&quot;", '"')
    imported = await client.post(
        "/staff/bookmobile/import",
        data={"library": "mb", "csrf_token": csrf_of(page.text)},
        files={"file": ("example.csv", csv.encode(), "text/csv")},
    )
    assert imported.status_code == 303
    route = await Route.get(library_id=bm.library.id, code="V")
    assert [
        (s.name, f"{s.arrival:%H:%M}", s.minutes_parked)
        for s in await Stop.filter(route_id=route.id).order_by("position")
    ] == [("Kamnica, šola", "09:00", 30), ("Bresternica", "10:00", 45)]
