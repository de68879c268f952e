"""Feed benchmarks: what the service adds over bare icalendar and over a bare endpoint.

Prints, measured in one run:

(a) building a 1,000-event feed through the service (database query, series, overrides,
    VTIMEZONEs) against serialising the same events, already in memory, with bare
    icalendar and the same calls (goal: service / bare ≤ 1.3); the run checks that both
    write the same VEVENTs byte for byte, so the baseline does the same icalendar work;
(b) requests per second for a cached feed against a bare Starlette endpoint returning the
    same bytes, both served by uvicorn on loopback and loaded by the same httpx client
    (goal: ≥ 0.8);
(c) the same for 304 answers to ``If-None-Match``.

Usage: ``.venv/bin/python bench/feeds.py [--events 1000] [--requests 2000]``. It works in a
temporary SQLite database and only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, vDuration, vRecur, vText
from icalendar import Event as VEvent

UTC = dt.UTC
TZ = ZoneInfo("Europe/Ljubljana")
BASE_URL = "https://outreach.example.org"
CONCURRENCY = 8


async def seed(database_url: str, events: int) -> None:
    """A library with ``events`` public events, most of them weekly series."""
    from tortoise import Tortoise
    from tortoise.transactions import in_transaction

    from outreach.db import migrate
    from outreach.models import (
        Audience,
        Branch,
        Event,
        EventAudience,
        EventKind,
        EventStatus,
        Library,
    )
    from outreach.scheduling.occurrences import rebuild_occurrences
    from outreach.settings import tortoise_config

    await migrate(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        library = await Library.create(
            slug="bench",
            name={"sl": "Knjižnica Benč"},
            timezone="Europe/Ljubljana",
            default_language="sl",
            languages=["sl", "en"],
        )
        branch = await Branch.create(
            library=library,
            slug="center",
            name="Osrednja knjižnica",
            address="Trg 1",
            postcode="1000",
            city="Ljubljana",
            lat=46.05,
            lon=14.5,
        )
        today = dt.datetime.now(UTC).astimezone(TZ).date()
        kinds = [k for k in EventKind if k is not EventKind.STAFF_TRAINING]
        async with in_transaction("default") as conn:
            for number in range(events):
                day = today + dt.timedelta(days=number % 300 - 20)
                start = dt.datetime.combine(day, dt.time(9 + number % 10), tzinfo=TZ)
                event = await Event.create(
                    library=library,
                    kind=kinds[number % len(kinds)],
                    title={"sl": f"Dogodek št. {number}: branje, pogovor; čaj in piškoti"},
                    description={"sl": f"Opis dogodka {number}.\nVsi vabljeni, vstop prost."},
                    starts_at=start.astimezone(UTC),
                    ends_at=(start + dt.timedelta(minutes=90)).astimezone(UTC),
                    timezone="Europe/Ljubljana",
                    rrule="FREQ=WEEKLY;COUNT=20" if number % 10 < 7 else None,
                    branch=branch,
                    status=EventStatus.PUBLISHED,
                    updated_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
                    using_db=conn,
                )
                await EventAudience.create(
                    event=event, audience=list(Audience)[number % 7], using_db=conn
                )
                await rebuild_occurrences(event, using_db=conn)
    finally:
        await Tortoise.close_connections()


def vevents(body: bytes) -> bytes:
    """The VEVENT part of a feed (the service also rewrites its VTIMEZONEs for ical.js)."""
    return body[body.index(b"BEGIN:VEVENT") : body.rindex(b"END:VEVENT\r\n")]


async def measure_build(database_url: str, rounds: int) -> tuple[float, float, bytes]:
    """Median seconds to build through the service and with bare icalendar."""
    from tortoise import Tortoise

    from outreach.feeds.build import build_feed
    from outreach.feeds.filters import FeedFilter, library_scope
    from outreach.feeds.ical import AUDIENCE_LABELS, KIND_LABELS, PRODID, REFRESH
    from outreach.feeds.selection import Window
    from outreach.models import Event
    from outreach.settings import Settings, tortoise_config

    settings = Settings(database_url=database_url, secret_key="bench", base_url=BASE_URL)
    stamp = dt.datetime(2026, 1, 1, tzinfo=UTC)
    day = dt.datetime.now(UTC).date()
    window = Window.for_day(settings, day)
    host = BASE_URL.split("://", 1)[1]

    def bare(events: list[Event]) -> bytes:
        """The same events, already in memory, with the same icalendar calls and the same
        properties as the service's feed, but no database, filters or rule handling."""
        name = "Knjižnica Benč"
        description = (
            f"Public programme from {window.start.date().isoformat()}"
            f" to {window.end.date().isoformat()}."
        )
        cal = Calendar.new(
            prodid=PRODID,
            calscale="GREGORIAN",
            name=name,
            uid=f"outreach-feed-library-bench@{host}",
            refresh_interval=REFRESH,
            description=description,
        )
        cal["NAME"] = vText(name)
        cal["X-WR-CALNAME"] = vText(name)
        cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
        cal["X-PUBLISHED-TTL"] = vDuration(REFRESH)
        for event in events:
            branch = event.branch
            assert branch is not None
            audiences = [AUDIENCE_LABELS[a.audience.value] for a in event.audiences]
            vevent = VEvent.new(
                uid=f"outreach-event-{event.id}@{host}",
                summary=event.title["sl"],
                start=event.starts_at.astimezone(TZ),
                end=event.ends_at.astimezone(TZ),
                stamp=event.updated_at,
                last_modified=event.updated_at,
                sequence=event.revision,
                status="CONFIRMED",  # type: ignore[arg-type]
                url=f"{BASE_URL}/bench/events/{event.id}",
                location=f"{branch.name}, {branch.address}, {branch.postcode} {branch.city}",
                description=event.description["sl"],
                categories=[KIND_LABELS[event.kind.value], *audiences],
            )
            vevent.add("GEO", (branch.lat, branch.lon))
            if event.rrule:
                vevent.add("RRULE", vRecur.from_ical(event.rrule))
            cal.add_component(vevent)
        # The same span of zone data as the service: from the first start to as far as
        # occurrences are materialised past the window.
        first = min(event.starts_at.astimezone(TZ).date() for event in events)
        last = window.end + dt.timedelta(days=settings.occurrence_horizon_days)
        cal.add_missing_timezones(first - dt.timedelta(days=1), last.date() + dt.timedelta(days=1))
        result: bytes = cal.to_ical()
        return result

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        scope = await library_scope("bench")
        events = await Event.all().order_by("id").prefetch_related("branch", "audiences")
        assert all(event.updated_at == stamp for event in events)
        service_times, bare_times = [], []
        body = b""
        # Alternate the two so that a busy moment of the machine hits both alike.
        for _ in range(rounds):
            # Each side starts with no garbage of the other's to collect: a build leaves a
            # few hundred thousand objects behind, and the collector would otherwise charge
            # them to whichever measurement comes next.
            gc.collect()
            began = time.perf_counter()
            body = await build_feed(scope, FeedFilter(), settings, day=day)
            service_times.append(time.perf_counter() - began)
            gc.collect()
            began = time.perf_counter()
            baseline = bare(events)
            bare_times.append(time.perf_counter() - began)
            # A fair baseline writes the very same events: byte for byte.
            assert vevents(body) == vevents(baseline), "service and baseline events differ"
    finally:
        await Tortoise.close_connections()
    return statistics.median(service_times), statistics.median(bare_times), body


def serve(kind: str, port: int, database_url: str, body_file: str) -> None:
    """Run one server (in a child process): the service, or a bare endpoint."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    if kind == "app":
        from outreach.app import create_app
        from outreach.settings import Settings

        app = create_app(Settings(database_url=database_url, secret_key="bench", base_url=BASE_URL))
    else:
        body = Path(body_file).read_bytes()
        import hashlib

        etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}

        async def bare(request: Request) -> Response:
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers=headers)
            return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

        app = Starlette(routes=[Route("/feeds/bench.ics", bare)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


async def load(url: str, requests: int, headers: dict[str, str], status: int) -> float:
    """Requests per second for ``requests`` GETs, ``CONCURRENCY`` at a time."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:
        for _ in range(50):  # warm-up: connections, caches, the feed's first build
            assert (await client.get(url, headers=headers)).status_code == status

        async def worker(count: int) -> None:
            for _ in range(count):
                response = await client.get(url, headers=headers)
                assert response.status_code == status

        began = time.perf_counter()
        await asyncio.gather(*(worker(requests // CONCURRENCY) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    return (requests // CONCURRENCY * CONCURRENCY) / elapsed


def start_servers(
    ports: dict[str, int], database_url: str, body_file: str
) -> list[subprocess.Popen[bytes]]:
    """One child process per server, so that servers and client never share a CPU loop."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                kind,
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--body-file",
                body_file,
            ]
        )
        for kind, port in ports.items()
    ]


async def measure_http(database_url: str, body_file: str, requests: int) -> dict[str, float]:
    ports = {"app": free_port(), "bare": free_port()}
    children = start_servers(ports, database_url, body_file)
    try:
        urls = {
            "app": f"http://127.0.0.1:{ports['app']}/feeds/bench.ics",
            "bare": f"http://127.0.0.1:{ports['bare']}/feeds/bench.ics",
        }
        for url in urls.values():
            await wait_for(url)
        async with httpx.AsyncClient() as client:
            served = await client.get(urls["app"])
            bare = await client.get(urls["bare"])
        assert served.content == bare.content, "the two servers must return the same bytes"
        assert served.headers["etag"] == bare.headers["etag"]
        match = {"If-None-Match": served.headers["etag"]}
        results: dict[str, float] = {}
        # Alternate the two servers so that neither gets the quieter half of the run.
        for name, headers, status in (("200", {}, 200), ("304", match, 304)):
            app_rates, bare_rates = [], []
            for _ in range(2):
                app_rates.append(await load(urls["app"], requests // 2, headers, status))
                bare_rates.append(await load(urls["bare"], requests // 2, headers, status))
            results[f"app_{name}"] = statistics.mean(app_rates)
            results[f"bare_{name}"] = statistics.mean(bare_rates)
        return results
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--serve", choices=["app", "bare"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--body-file")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.database_url, args.body_file)
        return

    from outreach.settings import sqlite_url

    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        database_url = sqlite_url(Path(tmp) / "bench.sqlite3")
        began = time.perf_counter()
        asyncio.run(seed(database_url, args.events))
        print(f"seeded {args.events} events in {time.perf_counter() - began:.1f} s")
        service_s, bare_s, body = asyncio.run(measure_build(database_url, args.rounds))
        vevents = body.count(b"BEGIN:VEVENT")
        print(
            f"(a) build {args.events}-event feed ({vevents} VEVENTs, {len(body) / 1e6:.2f} MB):"
            f" service {service_s * 1000:.0f} ms, bare icalendar {bare_s * 1000:.0f} ms,"
            f" ratio {service_s / bare_s:.2f} (goal <= 1.3)"
        )
        body_file = Path(tmp) / "feed.ics"
        body_file.write_bytes(body)
        os.environ.pop("DATABASE_URL", None)
        rates = asyncio.run(measure_http(database_url, str(body_file), args.requests))
        print(
            f"(b) cached feed, 200: service {rates['app_200']:.0f} req/s,"
            f" bare Starlette {rates['bare_200']:.0f} req/s,"
            f" ratio {rates['app_200'] / rates['bare_200']:.2f} (goal >= 0.8)"
        )
        print(
            f"(c) If-None-Match, 304: service {rates['app_304']:.0f} req/s,"
            f" bare Starlette {rates['bare_304']:.0f} req/s,"
            f" ratio {rates['app_304'] / rates['bare_304']:.2f} (goal >= 0.8)"
        )


if __name__ == "__main__":
    main()
