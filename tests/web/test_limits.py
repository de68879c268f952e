"""A request body must arrive in time: a client that sends its headers and stalls (or
trickles its body) gets a 408 and its connection closed, over a real socket against the
app under uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from outreach.models import Event, IdempotentAnswer, RoleName
from outreach.settings import load
from tests.factories import make_library, make_token_user
from tests.servers import AppServer

# Timing matters here: run with the machine to itself (see `make test`).
pytestmark = pytest.mark.alone

LIMIT = "0.5"
TIMED_OUT = {"error": "request timeout", "fields": {"body": "did not arrive within 0.5 seconds"}}
BODY = json.dumps(
    {
        "library": "mkl",
        "kind": "workshop",
        "title": {"sl": "Delavnica"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
    }
).encode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


@pytest_asyncio.fixture(scope="module")
async def server(backend: str) -> AsyncIterator[AppServer]:
    async with AppServer(backend, OUTREACH_BODY_TIMEOUT=LIMIT) as running:
        yield running


@pytest_asyncio.fixture
async def token(db: str) -> str:
    library = await make_library("mkl")
    return await make_token_user("ana@mkl.si", [(RoleName.EDITOR, library)])


async def _raw(server: AppServer, head: bytes, parts: list[bytes], *, pause: float = 0.0) -> Answer:
    """Send ``head``, then each of ``parts`` after ``pause``; read until the server closes."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = loop.time()
    try:
        writer.write(head)
        await writer.drain()

        async def trickle() -> None:
            for part in parts:
                await asyncio.sleep(pause)
                writer.write(part)
                await writer.drain()

        sending = asyncio.create_task(trickle())
        raw = await asyncio.wait_for(reader.read(), 10)  # b"" at once would be a reset
        seconds = loop.time() - started
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    finally:
        writer.close()
    head_text, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head_text.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, json.loads(body), seconds)


def _head(token: str, length: int, **extra: str) -> bytes:
    lines = [
        "POST /api/events HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in extra.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_headers_then_silence_is_a_408_and_the_connection_is_closed(
    server: AppServer, token: str
) -> None:
    answer = await _raw(server, _head(token, len(BODY)) + BODY[:12], [])
    assert answer.status == 408
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"] == "application/json"
    assert answer.body == TIMED_OUT
    assert 0.5 <= answer.seconds < 3
    assert await Event.all().count() == 0


async def test_a_trickled_body_is_timed_as_a_whole(server: AppServer, token: str) -> None:
    # A byte every 0.2 s: each comes in time, the whole (4 s) does not.
    parts = [BODY[i : i + 1] for i in range(20)]
    answer = await _raw(server, _head(token, len(BODY)), parts, pause=0.2)
    assert (answer.status, answer.body) == (408, TIMED_OUT)
    assert 0.5 <= answer.seconds < 3


async def test_a_keyed_write_that_stalls_keeps_nothing(server: AppServer, token: str) -> None:
    head = _head(token, len(BODY), Idempotency_Key="stalled-1")
    answer = await _raw(server, head + BODY[:12], [])
    assert (answer.status, answer.body) == (408, TIMED_OUT)
    assert await IdempotentAnswer.all().count() == 0
    # The same key with the whole body is a fresh write.
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        done = await client.post(
            "/api/events",
            content=BODY,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "stalled-1",
            },
        )
    assert done.status_code == 201, done.text
    assert await Event.all().count() == 1


async def test_a_body_that_arrives_in_time_is_served(server: AppServer, token: str) -> None:
    parts = [BODY[: len(BODY) // 2], BODY[len(BODY) // 2 :]]
    answer = await _raw(server, _head(token, len(BODY), Connection="close"), parts, pause=0.1)
    assert answer.status == 201
    assert answer.body["title"] == {"sl": "Delavnica"}


def test_the_limit_is_configured_in_seconds() -> None:
    assert load({}).body_timeout == 10.0
    assert load({"OUTREACH_BODY_TIMEOUT": "2.5"}).body_timeout == 2.5
    for raw in ("0", "-1", "soon", "3601", "nan"):
        with pytest.raises(SystemExit) as refused:
            load({"OUTREACH_BODY_TIMEOUT": raw})
        assert str(refused.value) == (
            f"OUTREACH_BODY_TIMEOUT must be a number of seconds from 0 to 3600, not {raw!r}"
        )
