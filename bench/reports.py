"""How long a year's coverage report takes against reading the same occurrences once.

Builds a network of 50 libraries with 2,000 events each (about 150,000 occurrences in the
year, with tags, audiences and attendance), written with bulk inserts straight into the
tables, and times:

- the coverage report of the whole network for 2025 (every query and the assembly), and
  of one library;
- one plain ``SELECT`` reading the same occurrences into Python (the floor any report
  reading them has to pay);

and prints the ratio (goal: at most 3): medians of runs that alternate report and SELECT,
at least three and for at least two seconds each case, on SQLite (a temporary file) and,
when given, on a fresh PostgreSQL database.

    .venv/bin/python bench/reports.py
    .venv/bin/python bench/reports.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    (or set OUTREACH_TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection

from outreach.db import migrate
from outreach.models import (
    Branch,
    Goal,
    Library,
    Network,
    Room,
    Strategy,
    StrategyValue,
    SustainableDevelopmentGoal,
    Target,
    TargetMetric,
    Theme,
)
from outreach.reports import coverage_report
from outreach.settings import sqlite_url, tortoise_config
from outreach.sql import dialect, fetch

LIBRARIES = 50
EVENTS_PER_LIBRARY = 2_000
RUNS = 3
MIN_SECONDS = 2.0
ZONE = ZoneInfo("Europe/Ljubljana")
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KINDS = ["workshop", "lecture", "reading", "club", "storytime", "digital_skills"]
AUDIENCES = ["0-5", "6-11", "12-18", "19+", "all", "families", "seniors"]
BANDS = ["0-5", "6-11", "12-18", "19+", "unknown"]
Work = Callable[[], Awaitable[object]]
PLAIN_SELECT = """
SELECT o.* FROM occurrence o
WHERE o.library_id IN (SELECT lib.id FROM library lib WHERE lib.network_id = :network)
  AND o.starts_at >= :start AND o.starts_at < :end
"""
PLAIN_SELECT_LIBRARY = """
SELECT o.* FROM occurrence o
WHERE o.library_id = :library AND o.starts_at >= :start AND o.starts_at < :end
"""


def _db_value(value: Any, sqlite: bool) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if sqlite and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(sep=" ")
    return value


async def insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Bulk-insert ``rows`` with one prepared statement, in chunks."""
    sqlite = dialect() == "sqlite"
    marks = ", ".join("?" if sqlite else f"${i}" for i in range(1, len(columns) + 1))
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    conn = get_connection("default")
    for i in range(0, len(rows), 20_000):
        chunk = [[_db_value(v, sqlite) for v in row] for row in rows[i : i + 20_000]]
        await conn.execute_many(sql, chunk)


async def build() -> Network:
    """The network, its strategy and the programme of 2025 (and a little around it)."""
    rng = random.Random(2025)
    network = await Network.create(slug="bench", name={"en": "Bench"}, default_language="sl")
    strategy = await Strategy.create(
        slug="bench",
        network=network,
        name={"sl": "Strategija", "en": "Strategy"},
        source_language="sl",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2028, 12, 31),
    )
    sdgs = [
        await SustainableDevelopmentGoal.create(number=n, name={"en": f"SDG {n}"})
        for n in range(1, 18)
    ]
    values = [
        await StrategyValue.create(
            strategy=strategy, code=f"V{i}", position=i, name={"sl": f"V{i}"}
        )
        for i in range(3)
    ]
    goals = []
    for t in range(4):
        theme = await Theme.create(strategy=strategy, code="ABCD"[t], position=t, name={"sl": "T"})
        for g in range(4):
            goal = await Goal.create(
                strategy=strategy,
                theme=theme,
                code=f"{'ABCD'[t]}{g + 1}",
                position=t * 4 + g,
                name={"sl": f"Cilj {t}{g}"},
            )
            await goal.sdgs.add(sdgs[(t * 4 + g) % 17], sdgs[4])
            goals.append(goal)
            if g < 2:
                await Target.create(
                    goal=goal,
                    metric=TargetMetric.OCCURRENCES,
                    minimum=5_000,
                    period_start=dt.date(2025, 1, 1),
                    period_end=dt.date(2028, 12, 31),
                )
    await values[0].sdgs.add(sdgs[3])

    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    events: list[tuple[Any, ...]] = []
    occurrences: list[tuple[Any, ...]] = []
    tags: list[tuple[Any, ...]] = []
    audiences: list[tuple[Any, ...]] = []
    attendance: list[tuple[Any, ...]] = []
    event_id = 0
    for index in range(LIBRARIES):
        library = await Library.create(
            slug=f"lib-{index:02d}",
            name={"sl": f"Knjižnica {index}"},
            timezone="Europe/Ljubljana",
            default_language="sl",
            network=network,
        )
        rooms = []
        for b in range(2):
            branch = await Branch.create(
                library=library,
                slug=f"b{b}",
                name=f"Branch {b}",
                address="-",
                city="-",
                lat=46.0,
                lon=14.5,
            )
            rooms.append(await Room.create(branch=branch, slug="hall", name="Hall", capacity=40))
        for i in range(EVENTS_PER_LIBRARY):
            event_id += 1
            day = FIRST + dt.timedelta(days=rng.randrange(-20, 385))
            start = dt.datetime.combine(day, dt.time(rng.randrange(9, 20)), tzinfo=ZONE)
            start = start.astimezone(dt.UTC)
            minutes = rng.choice([45, 60, 90, 120])
            end = start + dt.timedelta(minutes=minutes)
            status = rng.choices(["published", "cancelled", "draft"], [90, 5, 5])[0]
            visibility = "internal" if rng.random() < 0.1 else "public"
            where = rng.random()
            room = rooms[rng.randrange(2)] if where < 0.85 else None
            branch_id = room.branch_id if room is not None else None  # type: ignore[attr-defined]
            off_site = room is None and where < 0.97
            weeks = 1 + i % 2
            events.append(
                (
                    event_id, library.id, rng.choice(KINDS), {"sl": f"Dogodek {event_id}"}, {},
                    start, end, "Europe/Ljubljana", False,
                    f"FREQ=WEEKLY;COUNT={weeks}" if weeks > 1 else None, [],
                    "Park" if off_site else "", "", 46.0 if off_site else None,
                    14.5 if off_site else None, "in_person", "", None, visibility, status, 1,
                    now, now, None, branch_id, None, room.id if room else None,
                )
            )  # fmt: skip
            for w in range(weeks):
                begins = start + dt.timedelta(weeks=w)
                cancelled = status == "cancelled" or rng.random() < 0.05
                occurrences.append(
                    (begins, begins, begins + dt.timedelta(minutes=minutes), cancelled,
                     branch_id, event_id, library.id, room.id if room else None, None, None)
                )  # fmt: skip
                if not cancelled and rng.random() < 0.4:
                    for band in rng.sample(BANDS, 2):
                        attendance.append(
                            (
                                begins,
                                band,
                                "on_site",
                                rng.randrange(1, 30),
                                now,
                                event_id,
                                library.id,
                                None,
                            )
                        )
            if rng.random() < 0.9:
                subjects: list[StrategyValue | Goal] = [*values, *goals]
                for subject in rng.sample(subjects, rng.randrange(1, 4)):
                    goal_id = subject.id if isinstance(subject, Goal) else None
                    value_id = None if isinstance(subject, Goal) else subject.id
                    tags.append((False, event_id, goal_id, value_id))
            for audience in rng.sample(AUDIENCES, rng.randrange(1, 3)):
                audiences.append((audience, event_id))
    await insert(
        "event",
        ["id", "library_id", "kind", "title", "description", "starts_at", "ends_at",
         "timezone", "all_day", "rrule", "exdates", "place_name", "place_address", "lat",
         "lon", "format", "online_url", "capacity", "visibility", "status", "revision",
         "created_at", "updated_at", "cancelled_at", "branch_id", "created_by_id", "room_id"],
        events,
    )  # fmt: skip
    await insert(
        "occurrence",
        ["original_start", "starts_at", "ends_at", "cancelled", "branch_id", "event_id",
         "library_id", "room_id", "stop_id", "vehicle_id"],
        occurrences,
    )  # fmt: skip
    await insert("event_tag", ["primary", "event_id", "goal_id", "value_id"], tags)
    await insert("event_audience", ["audience", "event_id"], audiences)
    await insert(
        "attendance",
        [
            "original_start",
            "age_band",
            "mode",
            "count",
            "recorded_at",
            "event_id",
            "library_id",
            "stop_id",
        ],
        attendance,
    )
    # A settled database, as production's would be: statistics, and on PostgreSQL the
    # visibility map too (otherwise autovacuum works through the fresh tables while the
    # timings run, and index-only scans still visit the heap).
    conn = get_connection("default")
    await conn.execute_script("VACUUM ANALYZE" if dialect() == "postgres" else "ANALYZE")
    print(
        f"  built: {len(events):,} events, {len(occurrences):,} occurrences, {len(tags):,} tags,"
        f" {len(audiences):,} audiences, {len(attendance):,} attendance rows"
    )
    return network


async def median_times(report: Work, select: Work) -> tuple[float, float, int]:
    """Median times of ``report`` and ``select``, run alternately (so that a slow spell of
    the machine hits both), at least ``RUNS`` times and for at least ``MIN_SECONDS``: a
    10 ms query needs dozens of runs for a median that holds still."""
    await report()  # warm caches, prepared statements and the pool
    await select()
    reports: list[float] = []
    selects: list[float] = []
    began = time.perf_counter()
    while len(reports) < RUNS or time.perf_counter() - began < MIN_SECONDS:
        for work, times in ((report, reports), (select, selects)):
            start = time.perf_counter()
            await work()
            times.append(time.perf_counter() - start)
    return statistics.median(reports), statistics.median(selects), len(reports)


async def measure(url: str, label: str) -> None:
    print(f"{label}:")
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        began = time.perf_counter()
        network = await build()
        print(f"  (built in {time.perf_counter() - began:.1f} s)")
        library = await Library.get(slug="lib-00")
        period = {"start": FIRST, "end": LAST}
        bounds = {
            "start": dt.datetime.combine(FIRST, dt.time(0), tzinfo=ZONE),
            "end": dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(0), tzinfo=ZONE),
        }
        rows_network = len(await fetch(PLAIN_SELECT, {"network": network.id, **bounds}))
        rows_library = len(await fetch(PLAIN_SELECT_LIBRARY, {"library": library.id, **bounds}))
        cases: list[tuple[str, int, Work, Work]] = [
            (
                "network (50 libraries)",
                rows_network,
                lambda: coverage_report(network="bench", as_of=AS_OF, **period),  # type: ignore[arg-type]
                lambda: fetch(PLAIN_SELECT, {"network": network.id, **bounds}),
            ),
            (
                "one library",
                rows_library,
                lambda: coverage_report(
                    library="lib-00", strategy="bench", as_of=AS_OF, **period  # type: ignore[arg-type]
                ),
                lambda: fetch(PLAIN_SELECT_LIBRARY, {"library": library.id, **bounds}),
            ),
        ]  # fmt: skip
        print(
            f"  {'scope':<24}{'occurrences':>12}{'report s':>10}{'SELECT s':>10}{'ratio':>8}"
            f"{'runs':>6}"
        )
        for name, rows, report, select in cases:
            report_time, select_time, runs = await median_times(report, select)
            ratio = report_time / select_time
            verdict = "ok" if ratio <= 3 else "above goal"
            print(
                f"  {name:<24}{rows:>12,}{report_time:>10.4f}{select_time:>10.4f}"
                f"{ratio:>8.2f}{runs:>6}  {verdict}"
            )
    finally:
        await Tortoise.close_connections()
        # Tortoise caches SQL per model; the next backend must not reuse SQLite's.
        EXECUTOR_CACHE.clear()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        await measure(sqlite_url(Path(tmp) / "bench.sqlite3"), "SQLite")
    if args.postgres:
        name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
        admin_dsn = args.postgres.replace("postgres://", "postgresql://", 1)
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await measure(_with_database(args.postgres, name), "PostgreSQL")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
