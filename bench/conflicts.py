"""How the conflict check scales with the size of the occurrence table.

Fills a fresh database with weekly series until the ``occurrence`` table holds 10,000 and
then 100,000 rows, and at each size times checking-and-creating one new weekly series in
a busy room (``service.create_event``: validation, locks, 100 occurrences written, the
overlap query, audit) and the overlap query alone (median of several runs). The check is
an index range scan per new occurrence, so the time should hardly grow with the table:
the goal is a ratio below 2.

The table grows the way a real one does: more libraries and rooms, each room busy a few
slots a week (a room cannot hold two bookings at once, so its own density is bounded).

    python bench/conflicts.py                       # SQLite in a temporary file
    python bench/conflicts.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    (or set OUTREACH_TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import connections

from outreach.db import migrate
from outreach.models import Branch, Event, EventKind, EventStatus, Library, Occurrence, Room
from outreach.scheduling import service
from outreach.scheduling.conflicts import find_conflicts
from outreach.settings import sqlite_url, tortoise_config

SIZES = (10_000, 100_000)
WEEKS = 100  # occurrences per series
ROOMS_PER_LIBRARY = 5
# Weekly slots used in every room: (days after the first Monday, local hour).
SLOTS = ((0, 10), (2, 10))
FIRST_MONDAY = dt.date(2026, 1, 5)
ZONE_OFFSET = dt.timedelta(hours=1)  # Europe/Ljubljana in winter; exactness does not matter here


async def _add_library(index: int) -> list[Room]:
    library = await Library.create(
        slug=f"lib-{index}",
        name={"en": f"Library {index}"},
        timezone="Europe/Ljubljana",
        default_language="sl",
        languages=["sl"],
    )
    branch = await Branch.create(
        library=library, slug="main", name="Main", address="-", city="-", lat=46.0, lon=14.5
    )
    return [
        await Room.create(branch=branch, slug=f"room-{r}", name=f"Room {r}", capacity=30)
        for r in range(ROOMS_PER_LIBRARY)
    ]


async def fill(libraries_from: int, libraries_to: int) -> None:
    """Add libraries, each room with weekly series, written with bulk_create."""
    now = dt.datetime.now(dt.UTC)
    for index in range(libraries_from, libraries_to):
        rooms = await _add_library(index)
        library = await Library.get(slug=f"lib-{index}")
        branch_id = rooms[0].branch_id  # type: ignore[attr-defined]
        series: list[tuple[Event, dt.datetime]] = []
        for room in rooms:
            for day, hour in SLOTS:
                first = (
                    dt.datetime.combine(
                        FIRST_MONDAY + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC
                    )
                    - ZONE_OFFSET
                )
                event = Event(
                    library_id=library.id,
                    kind=EventKind.WORKSHOP,
                    title={"en": "Series"},
                    starts_at=first,
                    ends_at=first + dt.timedelta(hours=1),
                    timezone="Europe/Ljubljana",
                    rrule=f"FREQ=WEEKLY;COUNT={WEEKS}",
                    branch_id=branch_id,
                    room_id=room.id,
                    status=EventStatus.PUBLISHED,
                    updated_at=now,
                )
                series.append((event, first))
        await Event.bulk_create([event for event, _ in series])
        ids = await Event.filter(library_id=library.id).order_by("id").values_list("id", flat=True)
        occurrences = []
        for event_id, (event, first) in zip(ids, series, strict=True):
            for week in range(WEEKS):
                start = first + dt.timedelta(weeks=week)
                occurrences.append(
                    Occurrence(
                        event_id=event_id,
                        library_id=library.id,
                        original_start=start,
                        starts_at=start,
                        ends_at=start + dt.timedelta(hours=1),
                        branch_id=branch_id,
                        room_id=event.room_id,  # type: ignore[attr-defined]
                    )
                )
        await Occurrence.bulk_create(occurrences, batch_size=1000)


def libraries_for(rows: int) -> int:
    return rows // (ROOMS_PER_LIBRARY * len(SLOTS) * WEEKS)


async def time_check_and_create(runs: int) -> tuple[float, float]:
    """Median seconds of create_event for a new weekly series, and of the overlap query."""
    library = await Library.get(slug="lib-0")
    room = await Room.get(branch__library_id=library.id, slug="room-0")
    payload = {
        "kind": "lecture",
        "title": {"en": "New series"},
        # Tuesdays at 10:00, a slot free in this room, for as long as the busy series.
        "start": "2026-01-06T10:00:00",
        "end": "2026-01-06T11:00:00",
        "rrule": f"FREQ=WEEKLY;COUNT={WEEKS}",
        "branch": "main",
        "room": room.id,
        "status": "published",
    }
    creates, checks = [], []
    for _ in range(runs + 1):
        began = time.perf_counter()
        result = await service.create_event(library, payload, user=None)
        creates.append(time.perf_counter() - began)
        began = time.perf_counter()
        assert await find_conflicts(connections.get("default"), result.event.id) == []
        checks.append(time.perf_counter() - began)
        await Event.filter(id=result.event.id).delete()
    # The first run only warms caches up.
    return statistics.median(creates[1:]), statistics.median(checks[1:])


async def run(url: str, label: str, runs: int) -> None:
    # Tortoise caches each model's SQL in the dialect it first saw: start clean per backend.
    EXECUTOR_CACHE.clear()
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        results = []
        built = 0
        for size in SIZES:
            began = time.perf_counter()
            await fill(built, libraries_for(size))
            built = libraries_for(size)
            if url.startswith("postgres"):
                await connections.get("default").execute_script("ANALYZE")
            rows = await Occurrence.all().count()
            filled = time.perf_counter() - began
            create, check = await time_check_and_create(runs)
            results.append((rows, create, check))
            print(
                f"{label}: {rows:>7} occurrences (filled in {filled:.1f} s):"
                f" check-and-create {create * 1000:.1f} ms, overlap query {check * 1000:.2f} ms"
            )
        (small, create_small, check_small), (large, create_large, check_large) = results
        print(
            f"{label}: ratio {large // small}x rows -> check-and-create"
            f" {create_large / create_small:.2f}, overlap query {check_large / check_small:.2f}"
            " (goal < 2)"
        )
    finally:
        await Tortoise.close_connections()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        await run(sqlite_url(Path(tmp) / "bench.sqlite3"), "sqlite", args.runs)
    if args.postgres:
        name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
        dsn = args.postgres.replace("postgres://", "postgresql://", 1)
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        try:
            await run(_with_database(args.postgres, name), "postgres", args.runs)
        finally:
            admin = await asyncpg.connect(dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
    else:
        print(
            "postgres: skipped (give --postgres URL or set OUTREACH_TEST_POSTGRES_URL)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    asyncio.run(main())
