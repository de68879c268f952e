"""Browsers get error pages in their language naming the problem; API clients and feeds
keep the JSON bodies byte for byte (content negotiation on Accept)."""

from __future__ import annotations

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
    assert "<li>from: must be a date, 2026-12-01</li>" in page.text
    api = await _get(app, "/kranj")
    assert api.json() == {"error": "bad request", "fields": {"from": "must be a date, 2026-12-01"}}


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
