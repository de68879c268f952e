"""The bookmobile for patrons (issue 13, item 4): the schedule in words, a page per stop,
the map's data, the Content-Security-Policy, no bookmobile where a library has none, and
the kept page per language."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
from typing import Any

import httpx
import icalendar
import pytest
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.settings import Settings
from tests.bookmobile.conftest import Bookmobiles, route_body, stop

# A fortnightly Tuesday round in 2028: its visits are ahead whenever the tests run (and
# inside the three years of occurrences kept).
FUTURE = {"valid_from": "2028-01-04", "valid_until": "2028-06-27"}
STOPS = [
    stop(
        "Limbuš, pri cerkvi",
        46.5583,
        15.5858,
        "09:00",
        30,
        address="Limbuška cesta 1",
        postcode="2341",
        community="Limbuš",
    ),
    stop("Bresternica", 46.5753, 15.5717, "10:00", 45),
    stop("Selnica ob Dravi", 46.5511, 15.4947, "11:30", 60),
    stop("Home visit", 46.55, 15.48, "13:00", 20, visibility="internal"),
]


async def _route(client: httpx.AsyncClient, bm: Bookmobiles) -> dict[str, Any]:
    response = await client.post(
        "/api/routes", json=route_body(stops=STOPS, **FUTURE), headers=bm.auth()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _times(html: str) -> list[tuple[str, str]]:
    """Each visit's local start and its words (the hours' span of the markup left out)."""
    return [
        (start, re.sub(r"<[^>]+>", "", words))
        for start, words in re.findall(r'<time datetime="([^"]+)">(.*?)</time>', html)
    ]


# How the reader asks, and what the stop page then says: the schedule, the stay, a visit.
READERS: list[tuple[dict[str, Any], str, str, str]] = [
    (
        {"params": {"lang": "fi"}},
        "Joka toinen tiistai 4.1.2028 alkaen 27.6.2028 asti",
        "Kirjastoauto saapuu klo 9.00 ja viipyy 30 minuuttia.",
        "tiistai 4. tammikuuta 2028, 9.00–9.30",
    ),
    (
        {"headers": {"Accept-Language": "mk-MK,mk;q=0.9"}},
        "Секој втор вторник од 4 јануари 2028 до 27 јуни 2028",
        "Подвижната библиотека пристигнува во 09:00 и останува 30 минути.",
        "вторник, 4 јануари 2028\u202fг., 09:00–09:30",
    ),
    (
        {"params": {"lang": "en"}},
        "Every other Tuesday from 4 January 2028 until 27 June 2028",
        "The bookmobile arrives at 9:00\u202fAM and stays 30 minutes.",
        "Tuesday, January 4, 2028, 9:00\u202fAM–9:30\u202fAM",
    ),
]


async def test_a_stop_page_in_the_librarys_and_the_readers_language(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    first = route["stops"][0]["id"]
    page = await client.get(f"/mb/bookmobile/stops/{first}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="sl">' in html
    assert "<h1>Limbuš, pri cerkvi</h1>" in html
    assert "<p>Limbuš, pri cerkvi<br>Limbuška cesta 1<br>2341 Limbuš</p>" in html
    assert (
        '<p class="schedule"><strong>Vsak drugi torek od 4. januarja 2028 do 27. junija 2028'
        "</strong></p>"
    ) in html
    assert "<p>Bibliobus prispe ob 09:00 in ostane 30 minut.</p>" in html
    assert "FREQ=" not in html
    visits = _times(html)
    assert len(visits) == 10
    assert visits[:3] == [
        ("2028-01-04T09:00", "torek, 4. januar 2028, 09:00–09:30"),
        ("2028-01-18T09:00", "torek, 18. januar 2028, 09:00–09:30"),
        ("2028-02-01T09:00", "torek, 1. februar 2028, 09:00–09:30"),
    ]
    # Its own feed, in the subscribe box with its QR code.
    assert f'href="webcal://outreach.example.org/feeds/mb/stops/{first}.ics"' in html
    assert f'value="https://outreach.example.org/feeds/mb/stops/{first}.ics"' in html
    assert 'class="segno"' in html
    feed = await client.get(f"/feeds/mb/stops/{first}.ics")
    assert feed.status_code == 200
    # What a calendar app shows beside the feed's name is in the library's language too.
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALDESC"]) == (
        "Obiski bibliobusa: Bibliobus zahod. Naročite se in bodo v vašem koledarju vedno"
        " posodobljeni."
    )
    # Then in the reader's language: asked for, from the browser, from the switch.
    for ask, schedule, stays, visit in READERS:
        client.cookies.clear()  # ?lang= leaves the language switch's cookie
        page = await client.get(f"/mb/bookmobile/stops/{first}", **ask)
        assert f'<p class="schedule"><strong>{schedule}</strong></p>' in page.text
        assert f"<p>{stays}</p>" in page.text
        assert _times(page.text)[0] == ("2028-01-04T09:00", visit)


async def test_a_cancelled_run_is_marked_in_words(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    cancelled = await client.post(
        f"/api/routes/{route['id']}/runs/2028-01-18/cancel", headers=bm.auth()
    )
    assert cancelled.status_code == 200, cancelled.text
    first = route["stops"][0]["id"]
    html = (await client.get(f"/mb/bookmobile/stops/{first}")).text
    assert (
        "<strong>Vsak drugi torek od 4. januarja 2028 do 27. junija 2028;"
        " odpade 18. januarja 2028</strong>"
    ) in html
    assert (
        '<li><del><time datetime="2028-01-18T09:00">torek, 18. januar 2028,'
        ' <span class="hours">09:00–09:30</span></time></del>'
        ' <strong class="changed">odpovedan</strong></li>'
    ) in html
    whole = (await client.get("/mb/bookmobile?lang=fi")).text
    assert "joka toinen tiistai 4.1.2028 alkaen 27.6.2028 asti; peruttu 18.1.2028" in whole.lower()
    assert (
        '<del><time datetime="2028-01-18T10:00">ti 18.1.2028, <span class="hours">10.00–10.45'
        '</span></time></del> <strong class="changed">peruttu</strong>'
    ) in whole


def _policy(html: str, images: str) -> str:
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self' 'sha256-{digest}'; img-src {images}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def test_the_bookmobile_page_lists_and_maps_each_public_stop_and_allows_little(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    route = await _route(client, bm)
    html = (await client.get("/mb/bookmobile")).text
    public = route["stops"][:3]
    # The list the map is drawn from: exact coordinates, the route line it belongs to, a
    # link to the stop's page; the internal stop is on neither.
    items = re.findall(
        r'<li data-stop="(\d+)" data-lat="([^"]+)" data-lon="([^"]+)" data-route="([^"]+)"'
        r' data-name="([^"]+)">\s*<a href="([^"]+)">',
        html,
    )
    assert items == [
        (str(s["id"]), lat, lon, f"route-{route['id']}", name, f"/mb/bookmobile/stops/{s['id']}")
        for s, (name, lat, lon) in zip(
            public,
            [
                ("Limbuš, pri cerkvi", "46.5583", "15.5858"),
                ("Bresternica", "46.5753", "15.5717"),
                ("Selnica ob Dravi", "46.5511", "15.4947"),
            ],
            strict=True,
        )
    ]
    assert "Home visit" not in html
    assert '<div id="stops-map" class="map" hidden role="region"' in html
    assert 'data-tiles="" data-attribution=""' in html
    assert '<script src="/static/vendor/leaflet-1.9.4/leaflet.js" defer></script>' in html
    assert "Kje se ustavi bibliobus: 3 kraji" in html
    assert '<p class="schedule"><strong>Vsak drugi torek od 4. januarja 2028' in html
    assert "<p>Prispe ob 10:00, ostane 45 minut</p>" in html
    private = route["stops"][3]["id"]
    hidden = await client.get(f"/mb/bookmobile/stops/{private}")
    assert (hidden.status_code, hidden.json()) == (
        404,
        {"error": "Takega postajališča bibliobusa ni."},
    )
    # Both pages allow only what they use: with no tile server, images from this site only;
    # scripts and styles from this site and the base template's inline style by its hash.
    for path in ("/mb/bookmobile", f"/mb/bookmobile/stops/{public[0]['id']}"):
        page = await client.get(path)
        assert page.headers["content-security-policy"] == _policy(page.text, "'self'")
    for asset, kind in [
        ("/static/vendor/leaflet-1.9.4/leaflet.js", "javascript"),
        ("/static/vendor/leaflet-1.9.4/leaflet.css", "text/css"),
        ("/static/bookmobile-map.js", "javascript"),
    ]:
        served = await client.get(asset)
        assert (served.status_code, kind in served.headers["content-type"]) == (200, True)


TILES = [
    ("https://tile.example.org/{z}/{x}/{y}.png", "'self' https://tile.example.org"),
    ("https://{s}.tiles.example.net/base/{z}/{x}/{y}.png", "'self' https://*.tiles.example.net"),
]


async def test_a_tile_server_is_named_and_allowed(bm: Bookmobiles, settings: Settings) -> None:
    for index, (tiles, images) in enumerate(TILES):
        app: Starlette = create_app(
            dataclasses.replace(
                settings, map_tiles=tiles, map_attribution='© <a href="https://osm.org">OSM</a>'
            ),
            manage_database=False,
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://outreach.example.org"
        ) as client:
            if index == 0:
                await _route(client, bm)
            page = await client.get("/mb/bookmobile")
        assert page.headers["content-security-policy"] == _policy(page.text, images)
        assert (
            f'data-tiles="{tiles}" data-attribution="© &lt;a href=&#34;https://osm.org&#34;&gt;'
            'OSM&lt;/a&gt;"'
        ) in page.text


async def test_no_route_no_bookmobile(bm: Bookmobiles, client: httpx.AsyncClient) -> None:
    """Kranj has no route: no link on its page, and its bookmobile page is a 404 that says
    so in the reader's language."""
    await _route(client, bm)
    assert 'href="/mb/bookmobile"' in (await client.get("/mb/")).text
    assert "/bookmobile" not in (await client.get("/kr/")).text
    none = await client.get("/kr/bookmobile")
    assert (none.status_code, none.json()) == (404, {"error": "Kranj nima bibliobusa."})
    finnish = await client.get("/kr/bookmobile?lang=fi")
    assert (finnish.status_code, finnish.json()) == (
        404,
        {"error": "Kranj: ei kirjastoautoreittejä."},
    )
    # A browser gets it as a page that names the problem.
    page = await client.get("/kr/bookmobile?lang=mk", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (404, "text/html; charset=utf-8")
    assert "Kranj нема подвижна библиотека." in page.text
    unknown = await client.get("/nowhere/bookmobile", headers={"Accept-Language": "mk"})
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": "На оваа адреса нема библиотека."},
    )


def _queries(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for record in caplog.records if record.name == "tortoise.db_client")


async def _ask(client: httpx.AsyncClient, ask: dict[str, Any]) -> httpx.Response:
    """The bookmobile page asked for as ``ask`` says: ?lang=, Accept-Language or the cookie."""
    client.cookies.clear()
    if "cookie" in ask:
        client.cookies.set("outreach_lang", ask["cookie"])
        return await client.get("/mb/bookmobile")
    return await client.get("/mb/bookmobile", **ask)


async def test_the_kept_page_is_one_per_language(
    bm: Bookmobiles, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await _route(client, bm)
    asked: list[tuple[str, dict[str, Any]]] = [
        ("<h1>Bibliobus · Mariborska knjižnica</h1>", {}),
        ("<h1>Kirjastoauto · Mariborska knjižnica</h1>", {"params": {"lang": "fi"}}),
        ("<h1>Bookmobile · Maribor Library</h1>", {"headers": {"Accept-Language": "en-GB"}}),
        (
            "<h1>Подвижна библиотека · Mariborska knjižnica</h1>",
            {"cookie": "mk"},
        ),
    ]
    first: dict[str, str] = {}
    for heading, ask in asked:
        page = await _ask(client, ask)
        assert heading in page.text
        first[heading] = page.text
    # Asked again: the kept page of that language, for one query (the data version).
    for heading, ask in asked:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            page = await _ask(client, ask)
        assert (page.text == first[heading], _queries(caplog)) == (True, 1)
