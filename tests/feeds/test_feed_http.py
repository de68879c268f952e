"""Feeds over HTTP: conditional GET, caching per data version, and bad input."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import httpx
import pytest
from starlette.applications import Starlette

from tests.feeds.conftest import Programme


async def test_validators_and_304(programme: Programme, feeds_client: httpx.AsyncClient) -> None:
    first = await feeds_client.get("/feeds/ljubljana.ics")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"')  # strong: no W/ prefix
    last_modified = first.headers["last-modified"]
    assert last_modified.endswith(" GMT")

    async def status(headers: dict[str, str]) -> int:
        response = await feeds_client.get("/feeds/ljubljana.ics", headers=headers)
        if response.status_code == 304:
            assert response.content == b""
            assert response.headers["etag"] == etag
        else:
            assert response.content == first.content
        return response.status_code

    assert await status({"If-None-Match": etag}) == 304
    assert await status({"If-None-Match": f'"other", W/{etag}'}) == 304
    assert await status({"If-None-Match": "*"}) == 304
    assert await status({"If-None-Match": '"other"'}) == 200
    assert await status({"If-Modified-Since": last_modified}) == 304
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=3650)
    assert await status({"If-Modified-Since": format_datetime(earlier, usegmt=True)}) == 200
    # If-None-Match wins over If-Modified-Since, both ways.
    assert await status({"If-None-Match": '"other"', "If-Modified-Since": last_modified}) == 200
    assert (
        await status(
            {"If-None-Match": etag, "If-Modified-Since": format_datetime(earlier, usegmt=True)}
        )
        == 304
    )
    # Malformed headers are ignored: a normal 200.
    assert await status({"If-None-Match": "no quotes"}) == 200
    assert await status({"If-Modified-Since": "yesterday"}) == 200
    assert await status({"If-Modified-Since": "Mon, 99 Foo 2026 25:61:00 GMT"}) == 200
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert await status({"If-Modified-Since": format_datetime(future, usegmt=True)}) == 200


async def test_built_once_per_version(
    programme: Programme, feeds_app: Starlette, feeds_client: httpx.AsyncClient
) -> None:
    first = await feeds_client.get("/feeds/ljubljana.ics", params={"goal": "A1"})
    cache = feeds_app.state.feed_cache
    size = len(cache)
    assert size == 2  # by the raw request and by the canonical filter
    second = await feeds_client.get("/feeds/ljubljana.ics", params={"goal": "A1"})
    assert second.content == first.content
    assert len(cache) == size
    # Another spelling of the same filter is built once more only as a raw alias.
    third = await feeds_client.get("/feeds/ljubljana.ics?goal=A1&lang=sl")
    assert third.status_code == 200
    assert len(cache) == size + 2


@pytest.mark.parametrize(
    ("path", "status", "fields"),
    [
        ("/feeds/ljubljana.ics?colour=red", 422, {"colour"}),
        ("/feeds/ljubljana.ics?kind=worksop", 422, {"kind"}),
        ("/feeds/ljubljana.ics?kind=staff_training", 422, {"kind"}),
        ("/feeds/ljubljana.ics?audience=staff", 422, {"audience"}),
        ("/feeds/ljubljana.ics?audience=6-11&audience=0-5", 422, {"audience"}),
        ("/feeds/ljubljana.ics?lang=de", 422, {"lang"}),
        ("/feeds/ljubljana.ics?goal=", 422, {"goal"}),
        ("/feeds/ljubljana.ics?goal=A9", 404, None),
        ("/feeds/ljubljana.ics?goal=A2", 404, None),  # internal goal: staff events only
        ("/feeds/ljubljana.ics?value=courage", 404, None),
        ("/feeds/ljubljana.ics?branch=nowhere", 404, None),
        ("/feeds/helsinki.ics?branch=center", 404, None),
        ("/feeds/atlantis.ics", 404, None),
        ("/feeds/networks/atlantis.ics", 404, None),
    ],
)
async def test_bad_filters_are_errors_not_empty_feeds(
    programme: Programme,
    feeds_client: httpx.AsyncClient,
    path: str,
    status: int,
    fields: set[str] | None,
) -> None:
    response = await feeds_client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    if fields is not None:
        assert set(body["fields"]) == fields


async def test_filters_narrow_the_feed(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    async def summaries(query: str) -> list[str]:
        response = await feeds_client.get(f"/feeds/ljubljana.ics?{query}&lang=en")
        assert response.status_code == 200
        text = response.content.decode().replace("\r\n ", "")
        return sorted({line[8:] for line in text.split("\r\n") if line.startswith("SUMMARY:")})

    storytime = "Storytime: the frog and the magic shoes"
    assert await summaries("goal=A1") == [
        "Lecture on climate",
        "Pravljična ura (prestavljena)",
        storytime,
    ]
    assert await summaries("value=equality") == [
        "Pravljična ura (prestavljena)",
        "Saturday book sale",
        storytime,
    ]
    assert await summaries("audience=0-5") == ["Pravljična ura (prestavljena)", storytime]
    assert await summaries("kind=storytime&audience=families&goal=A1&branch=center") == [
        "Pravljična ura (prestavljena)",
        storytime,
    ]
    assert await summaries("branch=siska") == ["Saturday book sale"]
    assert await summaries("kind=bookmobile") == ["Bookmobile: Vič\\, pri šoli"]
    assert await summaries("kind=exhibition") == []
