"""``outreach serve``: worker processes under granian or uvicorn, and the batched access
log that replaces theirs."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.settings import PROJECT_ROOT
from outreach.web.serving import AccessLog
from tests.servers import free_port

# Timing matters here: run with the machine to itself (see `make test`).
pytestmark = pytest.mark.alone

LINE = re.compile(r"^(\S+) - (\S+) (\S+) (\d{3}) (\d+) (\d+\.\d{6})$")


def _app() -> Starlette:
    async def hello(request: Request) -> Response:
        if request.query_params.get("fail"):
            raise RuntimeError("boom")
        return Response(b"hello", media_type="text/plain")

    return Starlette(routes=[Route("/hello", hello), Route("/other", hello)])


async def test_access_log_lines_are_batched() -> None:
    stream = io.StringIO()
    logged = AccessLog(_app(), stream=stream)
    transport = httpx.ASGITransport(app=logged, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/hello")).status_code == 200
        assert (await client.get("/other?x=1&y=%C3%A9")).status_code == 200
        assert (await client.get("/missing")).status_code == 404
        assert (await client.head("/hello")).status_code == 200
        # Nothing written yet: the lines wait for the next batch.
        assert stream.getvalue() == ""
        logged.flush()
    lines = [LINE.match(x) for x in stream.getvalue().splitlines()]
    assert all(lines)
    assert [m.groups()[:5] for m in lines if m] == [
        ("127.0.0.1", "GET", "/hello", "200", "5"),
        ("127.0.0.1", "GET", "/other?x=1&y=%C3%A9", "200", "5"),
        ("127.0.0.1", "GET", "/missing", "404", "9"),
        ("127.0.0.1", "HEAD", "/hello", "200", "5"),
    ]
    logged.flush()
    assert len(stream.getvalue().splitlines()) == 4  # nothing twice


async def test_access_log_writes_within_a_second_by_itself() -> None:
    stream = io.StringIO()
    logged = AccessLog(_app(), stream=stream)
    transport = httpx.ASGITransport(app=logged)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/hello")
        deadline = time.monotonic() + 30
        while stream.getvalue() == "":
            assert time.monotonic() < deadline, "the batch was never written"
            await asyncio.sleep(0.05)
    match = LINE.match(stream.getvalue().rstrip("\n"))
    assert match is not None
    assert match.groups()[:5] == ("127.0.0.1", "GET", "/hello", "200", "5")


async def test_access_log_writes_its_last_lines_when_the_worker_stops() -> None:
    stream = io.StringIO()
    logged = AccessLog(_app(), stream=stream)
    transport = httpx.ASGITransport(app=logged)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/hello")
    assert stream.getvalue() == ""  # batched: not yet written
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(events)

    async def send(message: dict[str, str]) -> None:
        # The line is out before the server hears that the worker has stopped.
        if message["type"] == "lifespan.shutdown.complete":
            sent.append(stream.getvalue())
        else:
            sent.append(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await logged(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0] == "lifespan.startup.complete"
    match = LINE.match(sent[1].rstrip("\n"))
    assert match is not None
    assert match.groups()[:5] == ("127.0.0.1", "GET", "/hello", "200", "5")


# What each server prints of its parent process and of each worker's start.
STARTED = {
    "granian": ("Starting granian", "Started worker-"),
    "uvicorn": ("Started parent process", "Started server process"),
}


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
async def test_serve_runs_workers_and_logs(backend: str, server: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": backend,
        "SECRET_KEY": "test-secret-key-not-for-production",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("outreach")), "serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "2", "--access-log", str(log), "--server", server,
        cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.returncode is None, "outreach serve exited"
                try:
                    health = await client.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "outreach serve did not start"
                    await asyncio.sleep(0.1)
            assert health.status_code == 200
            for _ in range(3):
                assert (await client.get("/api/libraries")).status_code == 200
            deadline = time.monotonic() + 30
            while (log.read_text() if log.exists() else "").count("\n") < 4:
                assert time.monotonic() < deadline, "no access log lines"
                await asyncio.sleep(0.05)
        found = [LINE.match(x) for x in log.read_text().splitlines()]
        assert [m.groups()[1:4] if m else None for m in found] == [
            ("GET", "/healthz", "200"),
            ("GET", "/api/libraries", "200"),
            ("GET", "/api/libraries", "200"),
            ("GET", "/api/libraries", "200"),
        ]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, _ = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            out, _ = await process.communicate()
    text = out.decode()
    assert f"2 worker process(es), {server})" in text
    parent, worker = STARTED[server]
    assert parent in text
    assert text.count(worker) == 2
