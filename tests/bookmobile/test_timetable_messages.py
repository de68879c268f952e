"""A timetable's problems in the reader's language: the route and stop forms recognise
the domain's problems by their codes (``timetable.Problem``), never by English words, and
the import page words each line's problem, and what it imported, in the page's language.
The API keeps its English words."""

from __future__ import annotations

import html

import httpx
import pytest

from outreach.models import RoleName, Route
from tests.bookmobile.conftest import Bookmobiles, route_body
from tests.bookmobile.test_staff_bookmobile import _sign_in, csrf_of
from tests.bookmobile.test_staff_route_forms import THREE, _route_form, _rows

HEADER = (
    "organisation,mobile,route,community,stop,address,postcode,geox,geoy,day,type,"
    "arrival,departure,frequency,start,end,exceptions,timetable"
)


def _line(route: str, stop: str, arrival: str, departure: str) -> str:
    return (
        f"Maribor,Bibliobus,{route},Limbuš,{stop},,2341,15.586,46.556,Tuesday,Public,"
        f"{arrival},{departure},FREQ=WEEKLY,2026-01-06,,,"
    )


async def test_the_route_form_words_order_rule_and_code_problems_in_slovenian(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get("/staff/bookmobile/routes/new?library=mb&lang=sl")
    token = csrf_of(page.text)
    rows = [
        THREE[0],
        THREE[1] | {"arrival": "09:20"},
        THREE[2] | {"arrival": "23:00", "minutes_parked": "120"},
    ]
    refused = await client.post(
        "/staff/bookmobile/routes/new?lang=sl",
        data=_route_form(bm, token, valid_from="2026-01-07") | _rows(rows),
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Prispe ob 09:20, preden se postanek Limbuš konča ob 09:30." in text
    assert "Postanek se mora končati do polnoči." in text
    assert "Prva vožnja mora biti na dan, ki ga določa pravilo." in text
    assert "Arrives at" not in text
    assert "midnight" not in text
    assert await Route.all().count() == 0

    taken = await client.post("/api/routes", json=route_body(code="W"), headers=bm.auth())
    assert taken.status_code == 201, taken.text
    again = await client.post(
        "/staff/bookmobile/routes/new?lang=sl", data=_route_form(bm, token) | _rows(THREE)
    )
    assert again.status_code == 422
    assert "To oznako že ima druga proga te knjižnice." in html.unescape(again.text)
    assert "already exists" not in again.text


async def test_the_stops_form_says_a_stop_given_twice_in_slovenian(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/routes", json=route_body(), headers=bm.auth())
    route = created.json()
    first = route["stops"][0]
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get(f"/staff/bookmobile/routes/{route['id']}?lang=sl")
    token = csrf_of(page.text)
    twice = [
        {
            "id": str(first["id"]),
            "name": first["name"],
            "lat": str(first["lat"]),
            "lon": str(first["lon"]),
            "arrival": arrival,
            "minutes_parked": "10",
        }
        for arrival in ("08:00", "09:00")
    ]
    refused = await client.post(
        f"/staff/bookmobile/routes/{route['id']}/stops?lang=sl",
        data={"csrf_token": token} | _rows(twice),
    )
    assert refused.status_code == 422
    assert "Postajališče je na seznamu dvakrat." in html.unescape(refused.text)

    api = await client.put(
        f"/api/routes/{route['id']}/stops",
        json={
            "stops": [
                {"id": first["id"], "name": "Limbuš", "lat": 46.556, "lon": 15.586}
                | {"arrival": arrival, "minutes_parked": 10}
                for arrival in ("08:00", "09:00")
            ]
        },
        headers={**bm.auth(), "Accept-Language": "sl"},
    )
    assert api.status_code == 422
    assert api.json()["fields"] == {
        "stops[1].id": "is the same stop as an earlier one: a stop is given twice"
    }
    assert api.json()["codes"] == {"stops[1].id": "stop_twice"}


async def test_the_import_page_words_each_line_and_the_result_in_slovenian(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    page = await client.get("/staff/bookmobile?lang=sl")
    token = csrf_of(page.text)
    overlapping = "\n".join(
        [
            HEADER,
            _line("S", "Trg", "10:00", "10:30"),
            _line("S", "Šola", "10:15", "10:45"),
            _line("T", "Cerkev", "09:00", "08:00"),
        ]
    )
    refused = await client.post(
        "/staff/bookmobile/import?lang=sl",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", overlapping.encode(), "text/csv")},
    )
    assert refused.status_code == 303
    shown = html.unescape((await client.get("/staff/bookmobile?lang=sl")).text)
    assert "vrstica 3.arrival: prispe ob 10:15, preden se postanek Trg konča ob 10:30" in shown
    assert "vrstica 4.departure: mora biti po prihodu" in shown
    assert "Vozni red ni bil uvožen: nič ni bilo shranjeno." in shown
    assert "arrives at" not in shown
    assert await Route.all().count() == 0

    good = "\n".join(
        [HEADER, _line("S", "Trg", "10:00", "10:30"), _line("S", "Šola", "11:00", "11:30")]
    )
    accepted = await client.post(
        "/staff/bookmobile/import?lang=sl",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", good.encode(), "text/csv")},
    )
    assert accepted.status_code == 303
    shown = html.unescape((await client.get("/staff/bookmobile?lang=sl")).text)
    assert "Vozni red je uvožen. Prebranih postajališč: 2. Nove proge: S." in shown
    assert "stop(s)" not in shown


async def test_a_vehicle_booked_twice_is_said_in_local_time_by_the_api_too(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    first = await client.post("/api/routes", json=route_body(code="Z"), headers=bm.auth())
    assert first.status_code == 201, first.text
    second = await client.post("/api/routes", json=route_body(code="V"), headers=bm.auth())
    assert second.status_code == 409
    message = second.json()["fields"]["vehicle"]
    assert "UTC" not in message
    assert message.startswith("the vehicle is on route Z on Tuesday, January 6, 2026, ")


@pytest.mark.parametrize(
    ("lang", "overlap", "departure", "summary"),
    [
        (
            "mk",
            "ред 3.arrival: пристигнува во 10:15, пред да заврши посетата на Trg во 10:30",
            "ред 4.departure: мора да биде по пристигнувањето",
            "Возниот ред е увезен. Прочитани се 2 постојки. Нови рути: S.",
        ),
        (
            "fi",
            "rivi 3.arrival: saapuu klo 10:15, ennen kuin käynti pysäkillä Trg päättyy klo 10:30",
            "rivi 4.departure: on oltava saapumisen jälkeen",
            "Aikataulu on tuotu. 2 pysäkkiä luettu. Uudet reitit: S.",
        ),
    ],
)
async def test_the_import_page_speaks_macedonian_and_finnish_too(
    bm: Bookmobiles,
    client: httpx.AsyncClient,
    lang: str,
    overlap: str,
    departure: str,
    summary: str,
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    token = csrf_of((await client.get(f"/staff/bookmobile?lang={lang}")).text)
    bad = "\n".join(
        [
            HEADER,
            _line("S", "Trg", "10:00", "10:30"),
            _line("S", "Šola", "10:15", "10:45"),
            _line("T", "Cerkev", "09:00", "08:00"),
        ]
    )
    good = "\n".join(
        [HEADER, _line("S", "Trg", "10:00", "10:30"), _line("S", "Šola", "11:00", "11:30")]
    )
    shown = []
    for text in (bad, good):
        sent = await client.post(
            f"/staff/bookmobile/import?lang={lang}",
            data={"library": "mb", "csrf_token": token},
            files={"file": ("stops.csv", text.encode(), "text/csv")},
        )
        assert sent.status_code == 303
        shown.append(html.unescape((await client.get(f"/staff/bookmobile?lang={lang}")).text))
    assert overlap in shown[0]
    assert departure in shown[0]
    assert summary in shown[1]


async def test_an_import_that_books_the_vehicle_twice_is_said_in_slovenian_local_time(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, bm, RoleName.EDITOR)
    token = csrf_of((await client.get("/staff/bookmobile?lang=sl")).text)
    clash = "\n".join(
        [HEADER, _line("S", "Trg", "10:00", "10:30"), _line("T", "Cerkev", "10:15", "10:45")]
    )
    sent = await client.post(
        "/staff/bookmobile/import?lang=sl",
        data={"library": "mb", "csrf_token": token},
        files={"file": ("stops.csv", clash.encode(), "text/csv")},
    )
    assert sent.status_code == 303
    shown = html.unescape((await client.get("/staff/bookmobile?lang=sl")).text)
    assert (
        "vozilo: vozilo je torek, 6. januar 2026, 10:00–10:30, na progi S, ko ga potrebuje proga T"
    ) in shown.replace("\u2009", "")
    assert "UTC" not in shown
    assert await Route.all().count() == 0
