"""Links on pages follow the address the request came to unless BASE_URL is set; proxy
headers count only from trusted proxies."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from outreach.settings import Settings, load
from outreach.web.links import absolute_url, webcal_url


def _app(settings: Settings) -> Starlette:
    async def link(request: Request) -> PlainTextResponse:
        return PlainTextResponse(absolute_url(request, "/kranj/events?kind=workshop"))

    app = Starlette(routes=[Route("/", link)])
    app.state.settings = settings
    return app


async def _link(settings: Settings, url: str, *, peer: str = "192.0.2.7", **headers: str) -> str:
    transport = httpx.ASGITransport(app=_app(settings), client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200
    return response.text


def test_settings_read_base_url_and_trusted_proxies() -> None:
    plain = load({"DATABASE_URL": "sqlite://:memory:"})
    assert (plain.base_url, plain.base_url_fixed, plain.trusted_proxies) == (
        "http://127.0.0.1:8000",
        False,
        frozenset(),
    )
    fixed = load(
        {
            "DATABASE_URL": "sqlite://:memory:",
            "BASE_URL": "https://programme.mkb.si/",
            "OUTREACH_TRUSTED_PROXIES": "10.0.0.2, 10.0.0.3",
        }
    )
    assert (fixed.base_url, fixed.base_url_fixed, fixed.trusted_proxies) == (
        "https://programme.mkb.si",
        True,
        frozenset({"10.0.0.2", "10.0.0.3"}),
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8104/", "http://127.0.0.1:8104/kranj/events?kind=workshop"),
        ("https://koha.example.mk/", "https://koha.example.mk/kranj/events?kind=workshop"),
        ("https://koha.example.mk:443/", "https://koha.example.mk/kranj/events?kind=workshop"),
        ("http://[::1]:8000/", "http://[::1]:8000/kranj/events?kind=workshop"),
    ],
)
async def test_links_follow_the_requested_address(url: str, expected: str) -> None:
    settings = Settings(database_url="sqlite://:memory:", secret_key="k")
    assert await _link(settings, url) == expected


async def test_base_url_wins_when_set() -> None:
    settings = Settings(
        database_url="sqlite://:memory:",
        secret_key="k",
        base_url="https://programme.mkb.si",
        base_url_fixed=True,
    )
    link = await _link(settings, "http://127.0.0.1:8104/")
    assert link == "https://programme.mkb.si/kranj/events?kind=workshop"


async def test_forwarded_headers_count_only_from_a_trusted_proxy() -> None:
    settings = Settings(
        database_url="sqlite://:memory:", secret_key="k", trusted_proxies=frozenset({"10.0.0.2"})
    )
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "knjiznica.example.si, proxy"}
    behind = await _link(settings, "http://app:8000/", peer="10.0.0.2", **forwarded)
    assert behind == "https://knjiznica.example.si/kranj/events?kind=workshop"
    stranger = await _link(settings, "http://app:8000/", peer="192.0.2.7", **forwarded)
    assert stranger == "http://app:8000/kranj/events?kind=workshop"


async def test_a_host_header_that_is_no_host_falls_back_to_base_url() -> None:
    settings = Settings(database_url="sqlite://:memory:", secret_key="k")
    link = await _link(settings, "http://127.0.0.1:8104/", host='evil.example"><script>')
    assert link == "http://127.0.0.1:8000/kranj/events?kind=workshop"


def test_webcal_twin() -> None:
    assert (
        webcal_url("https://a.example/feeds/kranj.ics?x=1")
        == "webcal://a.example/feeds/kranj.ics?x=1"
    )
