from __future__ import annotations

import httpx
import pytest

from outreach.app import create_app
from outreach.settings import Settings

ICO_HEADER = b"\x00\x00\x01\x00\x01\x00"


async def test_icons_are_served_cached_without_a_database() -> None:
    # No Tortoise set up at all: any query the icons made would fail.
    app = create_app(
        Settings(database_url="sqlite:///nonexistent-dir/x.sqlite3", secret_key="x"),
        manage_database=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ico = await client.get("/favicon.ico")
        svg = await client.get("/favicon.svg")
        head = await client.head("/favicon.ico")
    assert ico.status_code == 200
    assert ico.headers["content-type"] == "image/x-icon"
    assert ico.headers["cache-control"] == "public, max-age=86400"
    assert ico.content.startswith(ICO_HEADER)
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"] == "public, max-age=86400"
    assert svg.content.startswith(b"<svg ")
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize("path", ["/rovaniemi/", "/staff/login"])
async def test_pages_link_the_svg_icon(demo: str, client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in response.text
