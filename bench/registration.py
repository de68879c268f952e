"""Benchmark: 200 simultaneous registrations for 20 places, over HTTP, on SQLite and on
PostgreSQL.

For each database: a fresh database with one event of 20 places that takes registrations;
the app served by uvicorn in its own process (its lifespan runs the outbox worker, pointed
at an SMTP server, aiosmtpd, that this process runs on loopback); 200 registrations sent at
once from this process with httpx. It checks that every answer is a 202 and that the
database holds exactly 20 confirmed and 180 waitlisted registrations, and prints
registrations per second, latency percentiles, and the time from the first request until
every confirmation (and every notice) is in the SMTP server.

Usage: ``.venv/bin/python bench/registration.py [--postgres URL] [--requests 200]
[--places 20]``; ``--postgres`` defaults to ``OUTREACH_TEST_POSTGRES_URL`` (a fresh
database is created on that server and dropped afterwards); without either only SQLite
runs. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from outreach.db import migrate
from outreach.models import Branch, Library, RegistrationPolicy, RegistrationStatus, Room
from outreach.models import Registration as RegistrationRow
from outreach.scheduling.service import create_event
from outreach.settings import PROJECT_ROOT, sqlite_url, tortoise_config

CONFIRMED_SUBJECT = "Your place at Bench workshop is confirmed"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Sink:
    """The SMTP server's handler: when each message arrived, by subject."""

    def __init__(self) -> None:
        self.arrived: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.everything = threading.Event()
        self.expected = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = ""
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.startswith("Subject:"):
                subject = line.removeprefix("Subject:").strip()
                break
        with self.lock:
            self.arrived.append((time.monotonic(), subject))
            if len(self.arrived) >= self.expected:
                self.everything.set()
        return "250 OK"


async def prepare(url: str, places: int) -> int:
    """Migrate ``url`` and store a library, a room and an event that takes registrations."""
    # Tortoise keeps each model's SQL in the dialect it first saw (SQLite, then PostgreSQL).
    EXECUTOR_CACHE.clear()
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        library = await Library.create(
            slug="bench", name={"en": "Bench library"}, timezone="Europe/Ljubljana",
            default_language="en", languages=["en"],
        )  # fmt: skip
        branch = await Branch.create(
            library=library, slug="main", name="Main", address="Trg 1", city="Kranj",
            lat=46.24, lon=14.36,
        )  # fmt: skip
        room = await Room.create(branch=branch, slug="hall", name="Hall", capacity=200)
        start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=14)).replace(microsecond=0)
        local = start.astimezone(dt.timezone(dt.timedelta(hours=1))).replace(tzinfo=None)
        result = await create_event(
            library,
            {
                "kind": "workshop",
                "title": {"en": "Bench workshop"},
                "start": local.replace(hour=10, minute=0, second=0).isoformat(),
                "end": local.replace(hour=11, minute=0, second=0).isoformat(),
                "branch": "main",
                "room": room.id,
                "capacity": places,
                "status": "published",
            },
            user=None,
        )
        await RegistrationPolicy.create(
            event=result.event, max_party=4, updated_at=dt.datetime.now(dt.UTC)
        )
        return result.event.id
    finally:
        await Tortoise.close_connections()


async def counts(url: str) -> dict[str, int]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        return {
            status.value: await RegistrationRow.filter(status=status).count()
            for status in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
        }
    finally:
        await Tortoise.close_connections()


async def serve(url: str, smtp_port: int) -> tuple[asyncio.subprocess.Process, str, Path]:
    port = free_port()
    descriptor, name = tempfile.mkstemp(prefix="outreach-bench-", suffix=".log")
    log, output = Path(name), os.fdopen(descriptor, "wb")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "OUTREACH_SMTP_HOST": "127.0.0.1",
        "OUTREACH_SMTP_PORT": str(smtp_port),
        "OUTREACH_SMTP_SECURITY": "none",
        "OUTREACH_MAIL_FROM": "Bench <bench@example.org>",
        # One client address sends every request here: no per-address limit for it.
        "OUTREACH_REGISTRATION_RATE": "1000000",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "outreach.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=output,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(400):
            try:
                await client.get("/healthz")
                return process, base, log
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"the server did not start; its log: {log}")


async def run(label: str, url: str, requests: int, places: int) -> None:
    event_id = await prepare(url, places)
    sink = Sink()
    sink.expected = requests
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    process, base, log = await serve(url, controller.port)
    try:
        limits = httpx.Limits(max_connections=requests, max_keepalive_connections=requests)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            failures: list[str] = []

            async def one(i: int) -> tuple[int, float]:
                began = time.monotonic()
                answer = await client.post(
                    f"/api/events/{event_id}/registrations",
                    json={"name": f"Patron {i}", "email": f"p{i}@example.org",
                          "party_size": 1, "consent": True},
                    headers={"Accept-Language": "en"},
                )  # fmt: skip
                if answer.status_code != 202 and not failures:
                    failures.append(f"{answer.status_code} {answer.text[:300]}")
                return answer.status_code, time.monotonic() - began

            first = time.monotonic()
            answers = await asyncio.gather(*(one(i) for i in range(requests)))
            wall = time.monotonic() - first
        await asyncio.to_thread(sink.everything.wait, 120)
        stored = await counts(url)
    finally:
        process.terminate()
        await process.wait()
        controller.stop()
    statuses = [s for s, _ in answers]
    latencies = sorted(t for _, t in answers)
    errors = sum(1 for s in statuses if s != 202)
    confirmations = [t for t, subject in sink.arrived if subject == CONFIRMED_SUBJECT]
    p50 = statistics.median(latencies)
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    expected = {"confirmed": places, "waitlisted": requests - places}
    arrived = [t for t, _ in sink.arrived]
    print(f"{label}: {requests} registrations for {places} places at once")
    print(f"  answers: {requests - errors} x 202, {errors} errors {' '.join(failures)}")
    verdict = "as expected" if stored == expected else "WRONG"
    print(
        f"  stored: {stored['confirmed']} confirmed, {stored['waitlisted']} waitlisted ({verdict})"
    )
    print(
        f"  {requests / wall:.1f} registrations/s; latency p50 {p50 * 1000:.0f} ms,"
        f" p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    if len(confirmations) == places:
        late = max(confirmations) - first
        print(f"  every confirmation in the SMTP server {late:.2f} s after the first request")
    else:
        print(f"  only {len(confirmations)} of {places} confirmations arrived (log: {log})")
    if len(arrived) >= requests:
        late = max(arrived) - first
        print(f"  every notice ({len(arrived)}) in the SMTP server {late:.2f} s after the first")
    log.unlink(missing_ok=True)
    if errors or stored != expected:
        raise SystemExit(1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--places", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        await run("SQLite", sqlite_url(Path(tmp) / "bench.sqlite3"), args.requests, args.places)
    if not args.postgres:
        print("PostgreSQL: skipped (no --postgres and no OUTREACH_TEST_POSTGRES_URL)")
        return
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    dsn = args.postgres.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run("PostgreSQL", _with_database(args.postgres, name), args.requests, args.places)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
