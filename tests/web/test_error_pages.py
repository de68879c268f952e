"""Browsers get error pages in their language naming the problem; API clients and feeds
keep the JSON bodies byte for byte (content negotiation on Accept)."""

from __future__ import annotations

import re

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.bookmobile.timetable import Found, parse_stops
from outreach.models import Event, Library
from outreach.scheduling import service
from outreach.settings import PROJECT_ROOT
from outreach.web import errors
from outreach.web.templating import make_templates
from tests.factories import make_library

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _app(fail: Exception) -> Starlette:
    async def endpoint(request: Request) -> Response:
        raise fail

    app = Starlette(
        routes=[Route("/{page}", endpoint)],
        middleware=[Middleware(errors.DatabaseErrors)],
        exception_handlers={errors.DomainError: errors.api_error, 500: errors.server_error},
    )
    app.state.templates = make_templates(PROJECT_ROOT / "templates")
    return app


async def _get(app: Starlette, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers=headers)


def _main(page: httpx.Response) -> str:
    return page.text.split("<main>", 1)[1].split("</main>", 1)[0]


async def test_unknown_address_is_a_page_for_a_browser_and_json_for_a_client(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/kranj/nowhere/at/all", headers={"accept": BROWSER})
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Page not found</h1>" in page.text
    assert "<p>There is no page at this address.</p>" in page.text
    assert "Error 404" in page.text
    slovenian = await client.get(
        "/kranj/nowhere/at/all", headers={"accept": BROWSER, "accept-language": "sl-SI,sl;q=0.9"}
    )
    assert '<html lang="sl">' in slovenian.text
    assert "<h1>Strani ni mogoče najti</h1>" in slovenian.text
    api = await client.get("/kranj/nowhere/at/all", headers={"accept": "application/json"})
    assert api.content == b'{"error":"not found"}'


async def test_a_missing_event_is_named_in_the_chosen_language(
    db: str, client: httpx.AsyncClient
) -> None:
    await make_library("skopje", timezone="Europe/Skopje", language="mk")
    page = await client.get("/skopje/events/424242?lang=mk", headers={"accept": BROWSER})
    assert page.status_code == 404
    assert '<html lang="mk">' in page.text
    assert "<p>Овој настан не постои или не е јавен.</p>" in page.text
    # The language chosen with ?lang= holds on the next page (its cookie).
    missing_library = await client.get("/nowhere/events/1", headers={"accept": BROWSER})
    assert "<p>На оваа адреса нема библиотека.</p>" in missing_library.text
    # API paths and feeds answer JSON whatever the client accepts.
    api = await client.get("/api/events/424242", headers={"accept": BROWSER})
    assert api.headers["content-type"] == "application/json"
    feed = await client.get("/feeds/nowhere.ics", headers={"accept": BROWSER})
    assert feed.content == b'{"error":"library not found"}'


async def test_a_wrong_method_names_it(client: httpx.AsyncClient) -> None:
    # The route answers 405 before it looks for the library.
    page = await client.post("/kranj/", headers={"accept": BROWSER, "accept-language": "fi"})
    assert page.status_code == 405
    assert set(page.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert "<h1>Tämä sivu ei voi tehdä sitä</h1>" in page.text
    assert "POST" in _main(page)
    api = await client.post("/kranj/")
    assert api.content == b'{"error":"Method Not Allowed"}'


async def test_a_bad_value_names_its_field() -> None:
    app = _app(errors.ApiError(400, "bad request", fields={"from": "must be a date, 2026-12-01"}))
    page = await _get(app, "/kranj", accept=BROWSER, **{"accept-language": "sl"})
    assert page.status_code == 400
    assert "<h1>Te zahteve ni mogoče izpolniti</h1>" in page.text
    assert "<li>Od: must be a date, 2026-12-01</li>" in page.text
    api = await _get(app, "/kranj")
    assert api.json() == {"error": "bad request", "fields": {"from": "must be a date, 2026-12-01"}}


# As the API names the places of problems in a route's stops, an event's translations and
# a list body's entries.
NESTED = {
    "stops[2].lat": "must be a number between -90 and 90",
    "title.fi": "at most 200 characters",
    "[0].goal": "no goal P9 in the strategies that apply",
    "stops[0].id": "is not a stop of this route",
    "website": "must be empty",
}


async def test_a_page_says_where_a_problem_is_in_words_never_by_its_path() -> None:
    """The generic error page names each field's place as the event form does (an entry by
    its number, a translation by its language), then the field's label; a field without
    one is left out rather than shown as a code. The JSON answer keeps the paths."""
    app = _app(errors.Invalid(dict(NESTED)))
    page = await _get(app, "/kranj", accept=BROWSER, **{"accept-language": "sl"})
    assert page.status_code == 422
    assert "<h1>Nekatere vrednosti niso pravilne</h1>" in page.text
    assert re.findall(r"<li>(.*)</li>", _main(page)) == [
        "Postajališča › vnos 3 › Zemljepisna širina: must be a number between -90 and 90",
        "Naslov › Finščina: at most 200 characters",
        "vnos 1 › Cilj: no goal P9 in the strategies that apply",
        "Postajališča › vnos 1: is not a stop of this route",
        "must be empty",
    ]
    finnish = await _get(app, "/kranj", accept=BROWSER, **{"accept-language": "fi"})
    assert (
        "<li>Pysäkit › kohta 3 › Leveysaste: must be a number between -90 and 90</li>"
        in finnish.text
    )
    assert "<li>Otsikko › Suomi: at most 200 characters</li>" in finnish.text
    assert "<li>kohta 1 › Tavoite: no goal P9 in the strategies that apply</li>" in finnish.text
    for page_text in (_main(page), _main(finnish)):
        for path_text in ("[2]", "[0]", ".lat", "stops", "title.fi", ".goal", "website"):
            assert path_text not in page_text
    api = await _get(app, "/kranj")
    assert api.json() == {"error": "invalid input", "fields": NESTED}


_STOP = {"name": "Zgornja vas", "lat": 46.1, "lon": 14.3, "minutes_parked": 20}
# A route's third stop north of the pole, an event's Finnish title too long and its first
# tag's goal not a code: as the bookmobile and event services refuse them.
STOPS = [
    {**_STOP, "arrival": "09:00"},
    {**_STOP, "arrival": "10:00"},
    {**_STOP, "lat": 95, "arrival": "11:00"},
]
EVENT = {
    "kind": "lecture",
    "title": {"sl": "Predavanje", "fi": "x" * 201},
    "start": "2027-01-05T10:00:00",
    "end": "2027-01-05T11:00:00",
    "tags": [{"goal": 5}],
}


async def test_the_services_refusals_on_the_error_page_say_where_in_the_readers_words(
    db: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    """A page that leaves the bookmobile's or the event service's refusal to the generic
    error page: each place said in the page's language, the JSON answer by its path."""
    library = await make_library("kranj", language="sl")

    async def save_stops(request: Request) -> Response:
        problems: dict[str, str | Found] = {}
        parse_stops(STOPS, problems)
        raise errors.Invalid({name: str(problem) for name, problem in problems.items()})

    async def save_event(request: Request) -> Response:
        await service.create_event(await Library.get(id=library.id), EVENT, user=None)
        return Response("saved")

    app.router.routes[:0] = [
        Route("/kranj/stops", save_stops, methods=["POST"]),
        Route("/kranj/event", save_event, methods=["POST"]),
    ]
    stops = await client.post("/kranj/stops", headers={"accept": BROWSER, "accept-language": "sl"})
    assert stops.status_code == 422
    assert '<html lang="sl">' in stops.text
    assert re.findall(r"<li>(.*)</li>", _main(stops)) == [
        "Postajališča › vnos 3 › Zemljepisna širina: must be between -90 and 90"
    ]
    event = await client.post("/kranj/event", headers={"accept": BROWSER, "accept-language": "fi"})
    assert event.status_code == 422
    assert re.findall(r"<li>(.*)</li>", _main(event)) == [
        "Otsikko › Suomi: must be at most 200 characters",
        "Arvot ja tavoitteet › kohta 1 › Tavoite: must be a string",
    ]
    for page in (stops, event):
        for path_text in ("[2]", "[0]", ".lat", "stops", "title", ".fi", "tags", "goal"):
            assert path_text not in _main(page)
    assert await Event.all().count() == 0
    assert (await client.post("/kranj/stops")).json() == {
        "error": "invalid input",
        "fields": {"stops[2].lat": "must be between -90 and 90"},
    }
    assert (await client.post("/kranj/event")).json() == {
        "error": "invalid input",
        "fields": {
            "title.fi": "must be at most 200 characters",
            "tags[0].goal": "must be a string",
        },
    }


async def test_a_server_error_is_a_page_without_details() -> None:
    app = _app(RuntimeError("secret table name"))
    page = await _get(app, "/kranj", accept=BROWSER, **{"accept-language": "mk"})
    assert page.status_code == 500
    assert "<h1>Нешто тргна наопаку кај нас</h1>" in page.text
    assert "secret" not in page.text
    assert (await _get(app, "/kranj")).content == b'{"error":"internal server error"}'


async def test_an_unreachable_database_is_a_503_page_with_retry_after() -> None:
    app = _app(asyncpg.CannotConnectNowError("the database system is starting up"))
    page = await _get(app, "/kranj", accept=BROWSER, **{"accept-language": "fi-FI"})
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "<h1>Tilapäisesti poissa käytöstä</h1>" in page.text
    assert "5 sekunnin" in page.text
