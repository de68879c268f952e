"""Compressed feeds: gzip, brotli and zstd by Accept-Encoding, each with its own ETag,
over real HTTP (uvicorn in a subprocess), and the precompressed files of publishing."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import httpx
import pytest
import zstandard

from outreach.feeds.encodings import CODINGS, IDENTITY, accepted, compress, negotiate
from outreach.feeds.publish import publish
from tests.feeds.conftest import Programme, feeds_settings
from tests.servers import AppServer

PATH = "/feeds/ljubljana.ics"


def decompress(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        plain: bytes = brotli.decompress(body)
        return plain
    assert coding == "zstd"
    return zstandard.ZstdDecompressor().decompressobj().decompress(body)


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def without_date(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.multi_items() if k != "date"]


async def raw_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, httpx.Headers, bytes]:
    """Status, headers and the bytes as they came over the wire (httpx decodes nothing)."""
    async with client.stream(method, path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, response.headers, body


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        (None, IDENTITY),
        ("", IDENTITY),
        ("identity", IDENTITY),
        ("gzip", "gzip"),
        ("gzip, deflate", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, zstd", "zstd"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("br;q=0.5, gzip;q=0.8, zstd;q=1.0", "zstd"),
        ("BR", "br"),
        ("*", "br"),
        ("*;q=0.1, gzip;q=0.2", "gzip"),
        ("gzip;q=0, *", "br"),
        ("br;q=0, zstd;q=0, *;q=0.3", "gzip"),
        ("gzip;q=0", IDENTITY),
        ("*;q=0", IDENTITY),
        ("identity;q=1, gzip;q=0.5", IDENTITY),
        ("identity;q=0.1, gzip;q=0.5", "gzip"),
        ("deflate, compress", IDENTITY),
        ("gzip;q=2", IDENTITY),  # malformed q: that item is ignored
        ("gzip;q=0.5;x=1, br;q=0.4", "br"),
        ("gzip ; q = 0.9 , br ; q=0.8", "gzip"),
    ],
)
def test_negotiation_follows_q_values(header: str | None, coding: str) -> None:
    assert negotiate(header) == coding


def test_accepted_reads_each_item() -> None:
    assert accepted("gzip;q=0.5, br, *;q=0, zstd;q=0.123") == {
        "gzip": 0.5,
        "br": 1.0,
        "*": 0.0,
        "zstd": 0.123,
    }


def test_compression_is_deterministic_and_reversible() -> None:
    body = "BEGIN:VCALENDAR\r\nSUMMARY:Pravljična ura\r\nEND:VCALENDAR\r\n".encode() * 50
    for coding in CODINGS:
        assert compress(body, coding) == compress(body, coding)
        assert decompress(compress(body, coding), coding) == body
    with pytest.raises(ValueError, match="unknown content coding 'deflate'"):
        compress(body, "deflate")


async def test_each_coding_over_http(programme: Programme, backend: str) -> None:
    days_back = str(feeds_settings().feed_days_back)
    async with (
        AppServer(
            backend, BASE_URL="https://outreach.example.org", OUTREACH_FEED_DAYS_BACK=days_back
        ) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        status, headers, plain = await raw_get(client, PATH, {"Accept-Encoding": "identity"})
        assert status == 200
        assert "content-encoding" not in headers
        assert headers["vary"] == "Accept-Encoding"
        assert headers["content-length"] == str(len(plain))
        assert plain.startswith(b"BEGIN:VCALENDAR\r\n")
        assert plain.endswith(b"END:VCALENDAR\r\n")
        etags = {IDENTITY: headers["etag"]}
        # The first answer came from the route, a repeat comes from the feed cache in
        # front of the app (web.feeds.WarmFeeds): the same response.
        repeat = await raw_get(client, PATH, {"Accept-Encoding": "identity"})
        assert repeat[0] == status
        assert repeat[2] == plain
        assert without_date(repeat[1]) == without_date(headers)

        for coding in CODINGS:
            status, headers, body = await raw_get(client, PATH, {"Accept-Encoding": coding})
            assert status == 200
            assert headers["content-encoding"] == coding
            assert headers["content-type"] == "text/calendar; charset=utf-8"
            assert headers["vary"] == "Accept-Encoding"
            assert headers["content-length"] == str(len(body))
            assert decompress(body, coding) == plain
            assert len(body) < len(plain) // 2
            assert headers["etag"].startswith('"')  # strong
            etags[coding] = headers["etag"]
            # The same bytes again: compressed once, kept.
            again = await raw_get(client, PATH, {"Accept-Encoding": coding})
            assert again[2] == body
            assert again[1]["etag"] == headers["etag"]

            # HEAD: the same headers, no body.
            status, head, nothing = await raw_get(
                client, PATH, {"Accept-Encoding": coding}, method="HEAD"
            )
            assert status == 200
            assert nothing == b""
            assert head["etag"] == etags[coding]
            assert head["content-encoding"] == coding
            assert head["content-length"] == str(len(body))

        assert len(set(etags.values())) == 4

        for coding, etag in etags.items():
            status, headers, body = await raw_get(
                client, PATH, {"Accept-Encoding": coding, "If-None-Match": etag}
            )
            assert (status, body) == (304, b"")
            assert headers["etag"] == etag
            assert headers["vary"] == "Accept-Encoding"
            assert "content-encoding" not in headers
            # Another coding's ETag does not match this coding's bytes.
            for other in CODINGS:
                if other == coding:
                    continue
                status, headers, body = await raw_get(
                    client, PATH, {"Accept-Encoding": other, "If-None-Match": etag}
                )
                assert status == 200
                assert headers["etag"] == etags[other]
                assert decompress(body, other) == plain
        # Several ETags, one of them this coding's: 304.
        status, headers, body = await raw_get(
            client,
            PATH,
            {"Accept-Encoding": "gzip", "If-None-Match": f"{etags[IDENTITY]}, {etags['gzip']}"},
        )
        assert (status, body, headers["etag"]) == (304, b"", etags["gzip"])


async def test_publish_writes_precompressed_files(
    programme: Programme, backend: str, tmp_path: Path
) -> None:
    paths = await publish(tmp_path, feeds_settings(database_url=backend))
    feeds = [p for p in paths if p.suffix == ".ics"]
    assert feeds
    for path in feeds:
        plain = path.read_bytes()
        assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == plain
        assert brotli.decompress(path.with_name(path.name + ".br").read_bytes()) == plain
    written = files_under(tmp_path)
    assert len(written) == 3 * len(feeds) + 1  # each feed, its .gz and .br; index.html
    # Publishing again with no change rewrites nothing, compressed files included.
    before = {p: p.stat().st_mtime_ns for p in written}
    assert await publish(tmp_path, feeds_settings(database_url=backend)) == paths
    assert {p: p.stat().st_mtime_ns for p in written} == before
