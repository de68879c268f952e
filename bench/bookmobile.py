"""Benchmark: the public bookmobile page under concurrent load, and long work beside it.

Prints, measured in one run against one uvicorn process on loopback, loaded by ``wrk``:

(a) ``/maribor/bookmobile`` against ``/healthz`` (a trivial endpoint of the same app that
    reads one row), each under ``--clients`` concurrent connections: requests per second,
    latency percentiles, and the page/healthz ratios; on the demo data, then again after
    ``--stops`` more stops are imported into the library (default 1,000);
(b) ``/healthz`` latency while an optimisation (10 s solver limit) and a 4,900-row import
    run, against ``/healthz`` idle;
(c) how long the 4,900-row import takes on its own, and how long a file too large for one
    import (the same stops with Somerset's 2019 first dates and no end: about 650,000
    visits) takes to be refused (new) or imported (old).

With ``--baseline-src DIR`` (a checkout of the code before a change, e.g. ``git archive
HEAD | tar -x -C DIR``) a second server runs that code on the same database, and (a) and
(b) are measured on both, with the ratios new/old.

Usage: ``.venv/bin/python bench/bookmobile.py [--postgres URL] [--clients 50]
[--seconds 10] [--stops 1000] [--baseline-src DIR]``. Needs ``wrk`` (``apt-get install
wrk``). It works in a temporary SQLite database, or in a fresh database on the PostgreSQL
server of ``--postgres`` (dropped afterwards), and only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bookmobile.timetables import create_somerset, large_timetable  # noqa: E402

PAGE = "/maribor/bookmobile"
HEALTH = "/healthz"
IMPORT_ROWS = 4900


@dataclass
class Load:
    """What wrk measured for one path."""

    rps: float
    p50: float
    p99: float
    errors: int

    def show(self) -> str:
        if not self.rps:
            return "no request finished in the measurement"
        return (
            f"{self.rps:9.1f} req/s   p50 {self.p50 * 1000:8.1f} ms   p99 {self.p99 * 1000:8.1f} ms"
            + (f"   {self.errors} errors" if self.errors else "")
        )


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url: str, clients: int, seconds: int) -> Load:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors:.*?timeout (\d+)", out))
    return Load(rps, p50, p99, errors)


def settle(base: str, alone: float) -> None:
    """Wait until the server has answered what wrk left behind (requests a client gave up
    on still run to their end), so that the next measurement starts on an idle server."""
    with httpx.Client(base_url=base, timeout=300) as client:
        for _ in range(600):
            started = time.perf_counter()
            client.get(PAGE)
            if time.perf_counter() - started < 2 * alone + 0.05:
                return
            time.sleep(0.5)


async def seed(database_url: str) -> str:
    """Demo fixtures, a library to import into, and an editor's API token for both."""
    from tortoise import Tortoise

    from outreach.db import migrate
    from outreach.fixtures import load_fixtures
    from outreach.models import ApiToken, Library, Role, RoleName, StaffUser
    from outreach.security import hash_password, new_token
    from outreach.settings import tortoise_config

    await migrate(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await load_fixtures(ROOT / "fixtures")
        await create_somerset()
        user = await StaffUser.create(
            email="bench@example.org", name="Bench", password_hash=hash_password("bench-bench")
        )
        for slug in ("maribor", "somerset"):
            library = await Library.get(slug=slug)
            await Role.create(user=user, library=library, role=RoleName.EDITOR)
        token = new_token()
        await ApiToken.create(user=user, name="bench", prefix=token.prefix, token_hash=token.digest)
        return token.secret
    finally:
        await Tortoise.close_connections()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, src: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "outreach.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + HEALTH, timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


async def import_file(base: str, token: str, text: str, library: str) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        started = time.perf_counter()
        response = await client.post(
            f"/api/routes/import?library={library}",
            content=text.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        )
        return response.status_code, time.perf_counter() - started


async def healthz_beside_long_work(base: str, token: str, text: str) -> dict[str, Any]:
    """/healthz latencies idle, then while an optimisation and the import run."""
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            await client.get(HEALTH)
            idle.append(time.perf_counter() - started)
        routes = (await client.get("/api/routes?library=maribor")).json()["routes"]
        (demo,) = [route for route in routes if route["code"] == "ZAHOD"]
        optimising = asyncio.create_task(
            client.post(
                f"/api/routes/{demo['id']}/optimise",
                json={"time_limit_seconds": 10},
                headers=auth,
            )
        )
        started_import = time.perf_counter()
        importing = asyncio.create_task(
            client.post(
                "/api/routes/import?library=somerset",
                content=text.encode(),
                headers={**auth, "Content-Type": "text/csv"},
            )
        )
        finished: list[float] = []
        importing.add_done_callback(lambda _: finished.append(time.perf_counter()))
        await asyncio.sleep(0.5)  # both have reached the server
        busy = []
        while not (optimising.done() and importing.done()):
            # A request sent while long work runs (the old server may answer only after).
            started = time.perf_counter()
            await client.get(HEALTH)
            busy.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        imported = await importing
        import_seconds = finished[0] - started_import
        optimised = await optimising
    return {
        "idle_p50": statistics.median(idle),
        "busy_p50": statistics.median(busy),
        "busy_max": max(busy),
        "samples": len(busy),
        "import_seconds": import_seconds,
        "import_status": imported.status_code,
        "optimise_status": optimised.status_code,
        "import_error": imported.json().get("error", "") if imported.status_code != 200 else "",
    }


def renamed(text: str, prefix: str) -> str:
    """The same timetable under other route codes and vehicle names."""
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(dict(row, route=prefix + row["route"], mobile=f"{prefix} {row['mobile']}"))
    return out.getvalue()


def _database(args: argparse.Namespace, tmp: Path) -> tuple[str, str | None]:
    if not args.postgres:
        from outreach.settings import sqlite_url

        return sqlite_url(tmp / "bench.sqlite3"), None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(args.postgres)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", "")), name


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--stops", type=int, default=1000, help="stops imported for (a)")
    parser.add_argument("--baseline-src", type=Path, help="src/ of the code to compare with")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    database_url, created = _database(args, tmp)
    if created:
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{created}"'))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        token = asyncio.run(seed(database_url))
        sources: list[tuple[str, Path | None]] = [("new", None)]
        if args.baseline_src:
            sources.append(("old", args.baseline_src.resolve()))
        bases = {}
        for label, src in sources:
            process, base = start_server(database_url, src)
            servers.append(process)
            bases[label] = base
        dialect = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{dialect}, {args.clients} clients, {args.seconds} s per measurement")

        def page_against_health(title: str) -> None:
            print(f"(a) {title}")
            pages = {}
            for label, base in bases.items():
                with httpx.Client(base_url=base, timeout=300) as client:
                    client.get(HEALTH)  # connected
                    started = time.perf_counter()
                    client.get(PAGE)  # a first rendering, as after any change
                    first = time.perf_counter() - started
                    started = time.perf_counter()
                    client.get(PAGE)
                    alone = time.perf_counter() - started
                print(
                    f"  {label} {PAGE} alone: {first * 1000:.1f} ms the first time,"
                    f" {alone * 1000:.1f} ms the next"
                )
                health = wrk(base + HEALTH, args.clients, args.seconds)
                if alone * args.clients > 10 * args.seconds:
                    print(
                        f"  {label} {PAGE:<22}not loaded: {args.clients} clients would wait"
                        f" about {alone * args.clients:.0f} s for one answer each"
                    )
                    continue
                page = wrk(base + PAGE, args.clients, args.seconds)
                settle(base, alone)
                pages[label] = page
                print(f"  {label} {HEALTH:<22}{health.show()}")
                print(f"  {label} {PAGE:<22}{page.show()}")
                if page.rps:
                    print(
                        f"  {label} page/healthz: throughput {page.rps / health.rps:.3f},"
                        f" p50 latency {page.p50 / health.p50:.2f}"
                    )
            if "old" in pages and pages["old"].rps:
                print(
                    f"  page new/old: throughput {pages['new'].rps / pages['old'].rps:.1f},"
                    f" p50 latency {pages['new'].p50 / pages['old'].p50:.3f}"
                )
            elif "old" in pages:
                print(f"  old: no page answered within {args.seconds} s under load")

        page_against_health("the demo data (2 routes, 11 stops)")
        if args.stops:
            text = large_timetable(args.stops, since=dt.date(2026, 1, 1))
            code, seconds = asyncio.run(import_file(bases["new"], token, text, "maribor"))
            print(
                f"    imported {args.stops} more stops into maribor: HTTP {code}, {seconds:.2f} s"
            )
            page_against_health(f"with {args.stops} more stops")

        print("(b) /healthz while an optimisation (10 s) or a 4,900-row import runs")
        text = large_timetable(IMPORT_ROWS, since=dt.date(2026, 1, 1))
        found = {}
        for label, base in bases.items():
            # The same file again would be unchanged: the old server gets a copy under
            # other route codes and vehicles.
            payload = text if label == "new" else renamed(text, "X")
            found[label] = asyncio.run(healthz_beside_long_work(base, token, payload))
            f = found[label]
            print(
                f"  {label}: idle p50 {f['idle_p50'] * 1000:.1f} ms; during long work p50"
                f" {f['busy_p50'] * 1000:.1f} ms, max {f['busy_max'] * 1000:.1f} ms"
                f" ({f['samples']:.0f} samples); ratio busy max/idle p50"
                f" {f['busy_max'] / f['idle_p50']:.1f}"
            )
            print(
                f"  {label}: the 4,900-row import (127,400 visits) answered"
                f" HTTP {f['import_status']}{' ' + f['import_error'] if f['import_error'] else ''}"
                f" after {f['import_seconds']:.2f} s;"
                f" the optimisation HTTP {f['optimise_status']}"
            )
        if "old" in found:
            print(
                f"  healthz max new/old: {found['new']['busy_max'] / found['old']['busy_max']:.3f}"
            )
        print("(c) imports on their own")
        fresh = {"new": ("Y", "V"), "old": ("Z", "W")}
        for label, base in bases.items():
            code, seconds = asyncio.run(
                import_file(base, token, renamed(text, fresh[label][0]), "somerset")
            )
            print(f"  {label}: the 4,900-row import (127,400 visits): HTTP {code}, {seconds:.2f} s")
        too_large = large_timetable(IMPORT_ROWS)
        for label, base in bases.items():
            code, seconds = asyncio.run(
                import_file(base, token, renamed(too_large, fresh[label][1]), "somerset")
            )
            print(
                f"  {label}: 4,900 rows since 2019 with no end (about 650,000 visits):"
                f" HTTP {code}, {seconds:.2f} s"
            )
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
        if created:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
