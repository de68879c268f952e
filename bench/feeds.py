"""Feed benchmarks against real servers, measured by an external load generator.

Three servers, each its own process(es), serve the same feed in one run:

- Outreach as ``outreach serve --workers N`` runs it (granian on uvloop, its batched
  access log written to a file), once more with ``--no-access-log`` (the same scenarios:
  what the access log costs is the difference, paired within each round), and for the 304
  once more with ``--server uvicorn``,
- bare Starlette under the same granian settings, answering the very same bytes (plain,
  brotli, the filtered feed; 304 to the same ETags) from memory: the baseline for 200,
  304 and the filtered feed; for the 304 also under uvicorn (uvloop, httptools), which
  shows what the server itself costs,
- nginx serving the published files (``gzip_static``), where nginx is installed: the
  baseline for 304 with several workers; without nginx those lines say it was skipped.

The load comes from ``wrk`` (one thread, ``--connections`` connections, a Lua script that
prints exact counts and the 99th percentile), or, where wrk is missing, from a client of
several processes speaking HTTP/1.1 with keep-alive. Rounds interleave the servers, so a
busy moment of the machine hits each alike; each figure is the median of the rounds, and
each ratio is taken in the same run:

- warm 200, 304 (If-None-Match) and a filtered feed: req/s, p99 and bytes per response,
  and the CPU time the server's processes spent per response (read from ``/proc``): on a
  machine that other programs share, req/s moves with whatever else runs, CPU per
  response much less, so both ratios are printed (the goals are set on req/s);
- a compressed poll (``Accept-Encoding: gzip, deflate, br, zstd``): bytes against the plain;
- cold builds (in this process, no HTTP): the full feed, the full feed after one edit and a
  filter never asked before, against bare icalendar serialising the same events. The
  service reads everything from the database (which events, then their rows), makes its
  series records (rules normalised, daylight-saving instances checked and pinned), writes
  the VEVENTs with its own writer (``outreach.feeds.ical.write``) and its own VTIMEZONEs;
  bare icalendar starts from the events already loaded as models, with no database and no
  rule handling, and makes the same properties with ``Event.new``, adds icalendar's own
  VTIMEZONEs over the same span and serialises with ``to_ical``. Neither expands a rule
  (a feed publishes the rule); the run stops unless both write the same VEVENT bytes.

Usage: ``.venv/bin/python bench/feeds.py [--events 1000] [--rounds 3] [--seconds 4]
[--workers N] [--postgres postgres://user@host:5432/db] [--only http|builds]``. SQLite
lives in a temporary directory; with ``--postgres`` a temporary database is created on
that server and dropped afterwards. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import gzip
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, vDuration, vRecur, vText
from icalendar import Event as VEvent

UTC = dt.UTC
TZ = ZoneInfo("Europe/Ljubljana")
BASE_URL = "https://outreach.example.org"
FEED = "/feeds/bench.ics"
FILTERED = "/feeds/bench.ics?kind=lecture"
COMPRESSED = {"Accept-Encoding": "gzip, deflate, br, zstd"}
PLAIN = {"Accept-Encoding": "identity"}
# A first request builds the feed, and servers start slowly on a busy machine: both may
# take far longer than httpx's default of five seconds without anything being wrong.
SLOW = httpx.Timeout(180)


@dataclass(frozen=True)
class Builds:
    service: float
    bare: float
    after_edit: float
    new_filter: float
    body: bytes


@dataclass(frozen=True)
class Load:
    """One run of the load generator against one URL."""

    rate: float  # requests per second
    p99_ms: float
    bytes_per_response: float
    statuses_ok: bool
    requests: int = 0
    # CPU time (user and system) the server's processes spent per response; None where
    # /proc cannot tell.
    cpu_us: float | None = None


def server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` and every process below it (Linux)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: fields follow the last ")".
        fields = stat.rpartition(")")[2].split()
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    if pid not in used:
        return None
    total, below = 0.0, [pid]
    while below:
        one = below.pop()
        total += used.get(one, 0.0)
        below += [child for child, parent in parents.items() if parent == one]
    return total


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


async def measure_build(database_url: str, rounds: int) -> Builds:
    """Median seconds of a cold build through the service (full feed; full feed after one
    edit; a filter never asked before) and of the full feed with bare icalendar."""
    from tortoise import Tortoise

    from outreach.feeds.build import build_feed
    from outreach.feeds.build import vevents as vevent_cache
    from outreach.feeds.filters import FeedFilter, library_scope, parse_filter
    from outreach.feeds.ical import AUDIENCE_LABELS, KIND_LABELS, PRODID, REFRESH
    from outreach.feeds.selection import Window
    from outreach.feeds.selection import made as series_made
    from outreach.models import Event
    from outreach.scheduling import service
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
        service_times, bare_times, edit_times, filter_times = [], [], [], []
        body = b""
        kinds = sorted({event.kind.value for event in events})
        # Alternate the two so that a busy moment of the machine hits both alike.
        for _ in range(rounds):
            # Each side starts with no garbage of the other's to collect: a build leaves a
            # few hundred thousand objects behind, and the collector would otherwise charge
            # them to whichever measurement comes next.
            vevent_cache.clear()  # cold: no series made or written before
            series_made.clear()
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
        # One edit, then the whole feed again; then a filter not asked for before (the
        # series written by the last full build are kept, as in a running process).
        for number in range(rounds):
            event = events[number * 7 % len(events)]
            await service.update_event(
                event.id, {"description": {"sl": f"Spremenjen opis {number}."}}, user=None
            )
            gc.collect()
            began = time.perf_counter()
            await build_feed(scope, FeedFilter(), settings, day=day)
            edit_times.append(time.perf_counter() - began)
            filt = await parse_filter(scope, {"kind": [kinds[number % len(kinds)]]})
            gc.collect()
            began = time.perf_counter()
            await build_feed(scope, filt, settings, day=day)
            filter_times.append(time.perf_counter() - began)
    finally:
        await Tortoise.close_connections()
    return Builds(
        service=statistics.median(service_times),
        bare=statistics.median(bare_times),
        after_edit=statistics.median(edit_times),
        new_filter=statistics.median(filter_times),
        body=body,
    )


def bare_app(files: dict[str, tuple[bytes, bytes, str, str]]) -> object:
    """Bare Starlette: each path's plain and brotli bytes and ETags, from memory."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def feed(request: Request) -> Response:
        key = request.url.path + ("?" + request.url.query if request.url.query else "")
        plain, brotli_body, plain_etag, brotli_etag = files[key]
        compressed = "br" in request.headers.get("accept-encoding", "")
        body, etag = (brotli_body, brotli_etag) if compressed else (plain, plain_etag)
        headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if compressed:
            headers["Content-Encoding"] = "br"
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    return Starlette(routes=[Route(FEED, feed)])


def bare_factory() -> object:
    """``uvicorn --factory bench.feeds:bare_factory``: the files named by BENCH_BARE_FILES."""
    raw = json.loads(Path(os.environ["BENCH_BARE_FILES"]).read_text())
    files = {
        key: (Path(a).read_bytes(), Path(b).read_bytes(), etag_a, etag_b)
        for key, (a, b, etag_a, etag_b) in raw.items()
    }
    return bare_app(files)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outreach_command(
    port: int, workers: int, tmp: Path, *, log: bool = True, server: str = "granian"
) -> list[str]:
    """``outreach serve`` as in production, its access log written to a file."""
    script = Path(sys.executable).with_name("outreach")
    logging = ["--access-log", str(tmp / f"access-{port}.log")] if log else ["--no-access-log"]
    return [
        str(script), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--server", server, *logging,
    ]  # fmt: skip


def bare_command(server: str, port: int, workers: int) -> list[str]:
    """Bare Starlette (:func:`bare_factory`) under ``server``."""
    command = granian_command if server == "granian" else uvicorn_command
    return command("bench.feeds:bare_factory", port, workers)


def granian_command(factory: str, port: int, workers: int) -> list[str]:
    """Bare Starlette under the server settings of ``outreach serve``: granian's ASGI
    interface on uvloop, HTTP/1 only, no websockets, the same number of workers (and no
    access log: it has none)."""
    return [
        str(Path(sys.executable).with_name("granian")), "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "1", "--no-ws", "--no-access-log",
        "--log-level", "warning", factory,
    ]  # fmt: skip


def uvicorn_command(factory: str, port: int, workers: int) -> list[str]:
    """Bare Starlette under the server settings of ``outreach serve``: uvloop, httptools,
    the same number of workers and worker health check (and no access log: it has none)."""
    from outreach.web.serving import WORKER_HEALTHCHECK_SECONDS

    return [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--timeout-worker-healthcheck", str(WORKER_HEALTHCHECK_SECONDS),
    ]  # fmt: skip


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=SLOW)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


NGINX_CONF = """\
{user}worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/calendar ics; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/calendar;
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    sendfile on; tcp_nopush on; keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age=300";
        location /feeds/ {{ root {dir}/www; }}
    }}
}}
"""


def start_nginx(directory: Path, port: int, workers: int) -> subprocess.Popen[bytes] | None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        print("nginx is not installed: its lines are skipped (apt-get install -y nginx)")
        return None
    (directory / "tmp").mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    # As root, nginx's workers would run as nobody, who cannot read the temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, workers=workers, dir=directory, port=port))
    return subprocess.Popen([nginx, "-c", str(conf), "-p", str(directory)])


WRK_SCRIPT = """\
local headers_arg = os.getenv("BENCH_HEADERS") or ""
for pair in string.gmatch(headers_arg, "[^\\n]+") do
  local name, value = pair:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
local expected = tonumber(os.getenv("BENCH_STATUS") or "200")
local wrong = 0
response = function(status, headers, body)
  if status ~= expected then wrong = wrong + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "bytes": %d, "seconds": %f, "p99_us": %f, "errors": %d}\\n',
    summary.requests, summary.bytes, summary.duration / 1e6, latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
"""


def run_wrk(url: str, headers: dict[str, str], status: int, args: argparse.Namespace) -> Load:
    script = Path(args.tmp) / "bench.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
        "BENCH_STATUS": str(status),
    }
    seconds = max(1, round(args.seconds))
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    found = json.loads(line)
    requests = max(found["requests"], 1)
    return Load(
        rate=found["requests"] / found["seconds"],
        p99_ms=found["p99_us"] / 1000,
        # wrk counts the bytes of whole responses: headers and body.
        bytes_per_response=found["bytes"] / requests,
        statuses_ok=found["errors"] == 0,
        requests=requests,
    )


def _client(url: str, headers: dict[str, str], status: int, seconds: float, queue: object) -> None:
    """One process of the fallback load generator: keep-alive GETs for ``seconds``."""
    import http.client

    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    latencies: list[float] = []
    size = 0
    ok = True
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - now)
        size += len(body) + sum(len(k) + len(v) + 4 for k, v in response.getheaders()) + 17
        ok = ok and response.status == status
    queue.put((latencies, size, ok))  # type: ignore[attr-defined]


def run_processes(url: str, headers: dict[str, str], status: int, args: argparse.Namespace) -> Load:
    """Fallback without wrk: ``--connections`` client processes, one connection each."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [
        context.Process(target=_client, args=(url, headers, status, args.seconds, queue))
        for _ in range(args.connections)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    latencies = sorted(x for r in results for x in r[0])
    count = max(len(latencies), 1)
    return Load(
        rate=len(latencies) / args.seconds,
        p99_ms=latencies[int(0.99 * (count - 1))] * 1000 if latencies else 0.0,
        bytes_per_response=sum(r[1] for r in results) / count,
        statuses_ok=all(r[2] for r in results),
        requests=count,
    )


def load(
    url: str, headers: dict[str, str], status: int, args: argparse.Namespace, *, pid: int
) -> Load:
    """One run against ``url``, with the CPU that the server ``pid`` (and its workers)
    spent per response: unlike requests per second, that hardly moves when other
    programs share the machine."""
    before = server_cpu(pid)
    run = run_wrk if shutil.which("wrk") else run_processes
    found = run(url, headers, status, args)
    after = server_cpu(pid)
    if before is None or after is None:
        return found
    return replace(found, cpu_us=(after - before) / max(found.requests, 1) * 1e6)


def postgres_database(url: str) -> tuple[str, str]:
    """A new empty database on the server of ``url``: its URL and its name."""
    import asyncpg

    name = f"outreach_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(create())
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", "")), name


def drop_postgres_database(url: str, name: str) -> None:
    import asyncpg

    async def drop() -> None:
        admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


# Servers measured for the 304 only: the HTTP server's cost. Outreach without its access
# log runs every scenario like Outreach with it: a server that answered only 304s between
# its 304 runs spent a quarter less CPU on each than one that also sent 551 KB feeds (bare
# Starlette alike), which the access log was blamed for (11-28 % of a 304, where the
# middleware measures about 6 us in-process).
def other_server(main: str) -> str:
    from outreach.web.serving import SERVERS

    return next(server for server in SERVERS if server != main)


def only_304(main: str) -> tuple[str, str]:
    return (f"outreach, {other_server(main)}", f"bare, {other_server(main)}")


SCENARIOS = [
    # name, path, headers, status, baseline servers
    ("warm 200", FEED, PLAIN, 200),
    ("304", FEED, None, 304),
    ("filtered 200", FILTERED, PLAIN, 200),
    ("compressed poll", FEED, COMPRESSED, 200),
]


def measure_http(database_url: str, args: argparse.Namespace, workers: int) -> dict[str, Load]:
    """Every scenario against every server, rounds interleaved; medians per pair."""
    tmp = Path(args.tmp) / f"w{workers}"
    tmp.mkdir(exist_ok=True)
    main, other = args.server, other_server(args.server)
    measured_for_304 = only_304(main)
    ports = {
        "outreach": free_port(),
        "outreach, no log": free_port(),
        f"outreach, {other}": free_port(),
        "bare": free_port(),
        f"bare, {other}": free_port(),
        "nginx": free_port(),
    }
    env = {**os.environ, "DATABASE_URL": database_url, "BASE_URL": BASE_URL}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]
    )
    children: list[subprocess.Popen[bytes]] = []
    try:
        output = (tmp / "servers.log").open("ab")
        app = subprocess.Popen(
            outreach_command(ports["outreach"], workers, tmp, server=main),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        children.append(app)
        quiet = subprocess.Popen(
            outreach_command(ports["outreach, no log"], workers, tmp, log=False, server=main),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        children.append(quiet)
        on_other = subprocess.Popen(
            outreach_command(ports[f"outreach, {other}"], workers, tmp, server=other),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        children.append(on_other)
        base = f"http://127.0.0.1:{ports['outreach']}"
        wait_for(base + "/healthz", app)
        # What Outreach sends is what the baselines send.
        plain = httpx.get(base + FEED, headers=PLAIN, timeout=SLOW)
        compressed = httpx.get(base + FEED, headers={"Accept-Encoding": "br"}, timeout=SLOW)
        filtered = httpx.get(base + FILTERED, headers=PLAIN, timeout=SLOW)
        filtered_br = httpx.get(base + FILTERED, headers={"Accept-Encoding": "br"}, timeout=SLOW)
        assert plain.status_code == filtered.status_code == 200
        files: dict[str, tuple[str, str, str, str]] = {}
        for key, one, two in ((FEED, plain, compressed), (FILTERED, filtered, filtered_br)):
            name = "full" if key == FEED else "filtered"
            (tmp / f"{name}.ics").write_bytes(one.content)
            with httpx.stream(
                "GET", base + key, headers={"Accept-Encoding": "br"}, timeout=SLOW
            ) as response:
                (tmp / f"{name}.ics.br").write_bytes(b"".join(response.iter_raw()))
            files[key] = (
                str(tmp / f"{name}.ics"), str(tmp / f"{name}.ics.br"),
                one.headers["etag"], two.headers["etag"],
            )  # fmt: skip
        (tmp / "files.json").write_text(json.dumps(files))
        www = tmp / "www" / "feeds"
        www.mkdir(parents=True, exist_ok=True)
        (www / "bench.ics").write_bytes(plain.content)
        (www / "bench.ics.gz").write_bytes(gzip.compress(plain.content, 9, mtime=0))
        bare = subprocess.Popen(
            bare_command(main, ports["bare"], workers),
            env={**env, "BENCH_BARE_FILES": str(tmp / "files.json")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        children.append(bare)
        bare_other = subprocess.Popen(
            bare_command(other, ports[f"bare, {other}"], workers),
            env={**env, "BENCH_BARE_FILES": str(tmp / "files.json")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        children.append(bare_other)
        wait_for(f"http://127.0.0.1:{ports['bare']}{FEED}", bare)
        wait_for(f"http://127.0.0.1:{ports[f'bare, {other}']}{FEED}", bare_other)
        nginx = start_nginx(tmp, ports["nginx"], workers)
        wait_for(f"http://127.0.0.1:{ports['outreach, no log']}/healthz", quiet)
        wait_for(f"http://127.0.0.1:{ports[f'outreach, {other}']}/healthz", on_other)
        servers = {
            name: ports[name]
            for name in (
                "outreach",
                "outreach, no log",
                f"outreach, {other}",
                "bare",
                f"bare, {other}",
            )
        }
        pids = {
            "outreach": app.pid,
            "outreach, no log": quiet.pid,
            f"outreach, {other}": on_other.pid,
            "bare": bare.pid,
            f"bare, {other}": bare_other.pid,
        }
        if nginx is not None:
            children.append(nginx)
            wait_for(f"http://127.0.0.1:{ports['nginx']}{FEED}", nginx)
            servers["nginx"] = ports["nginx"]
            pids["nginx"] = nginx.pid
        etags: dict[str, str] = {}
        for server, port in servers.items():
            got = httpx.get(f"http://127.0.0.1:{port}{FEED}", headers=PLAIN, timeout=SLOW)
            assert got.content == plain.content, f"{server} serves other bytes"
            etags[server] = got.headers["etag"]
        runs: dict[str, list[Load]] = {}
        loads: list[float] = []
        # Warm-up, not counted: every worker process builds and compresses its own copy
        # of each feed on its first request for it.
        brief = argparse.Namespace(**{**vars(args), "seconds": 1})
        for warm_up in range(args.rounds + 1):
            # Each round starts with another server, so that none is always the first after
            # a change of scenario (the kernel is still closing the last run's sockets).
            order = list(servers.items())
            order = order[warm_up % len(order) :] + order[: warm_up % len(order)]
            loads.append(os.getloadavg()[0])
            for scenario, path, headers, status in SCENARIOS:
                for server, port in order:
                    if server == "nginx" and path == FILTERED:
                        continue
                    # The warm-up sends every scenario to every server, so that each has
                    # built and holds the same feeds.
                    if warm_up and server in measured_for_304 and scenario != "304":
                        continue
                    sent = (
                        headers
                        if headers is not None
                        else {**PLAIN, "If-None-Match": etags[server]}
                    )
                    result = load(
                        f"http://127.0.0.1:{port}{path}",
                        sent,
                        status,
                        args if warm_up else brief,
                        pid=pids[server],
                    )
                    if warm_up and not result.statuses_ok:
                        raise SystemExit(f"{server} {scenario}: unexpected status or errors")
                    if warm_up:
                        runs.setdefault(f"{scenario}|{server}", []).append(result)
        results = {
            key: Load(
                rate=statistics.median(r.rate for r in found),
                p99_ms=statistics.median(r.p99_ms for r in found),
                bytes_per_response=statistics.median(r.bytes_per_response for r in found),
                statuses_ok=True,
                cpu_us=(
                    statistics.median(r.cpu_us for r in found if r.cpu_us is not None)
                    if all(r.cpu_us is not None for r in found)
                    else None
                ),
            )
            for key, found in runs.items()
        }
        # The access log's share of a 304, paired within each round: the logged and the
        # unlogged server ran one after the other there, under the same load, where the
        # medians of each come from different moments of a busy machine.
        for what, measured in (("rate", "rate"), ("cpu", "cpu_us")):
            pairs = zip(runs["304|outreach"], runs["304|outreach, no log"], strict=True)
            shares = []
            for logged, unlogged in pairs:
                a, b = getattr(logged, measured), getattr(unlogged, measured)
                if a and b:
                    shares.append(1 - b / a if what == "cpu" else 1 - a / b)
            if shares:
                results[f"access log share|{what}"] = Load(
                    rate=statistics.median(shares),
                    p99_ms=min(shares),
                    bytes_per_response=max(shares),
                    statuses_ok=True,
                )
        loads.append(os.getloadavg()[0])
        print(
            f"  [{workers} worker(s)] load average (1 min) during the run:"
            f" {min(loads):.1f}-{max(loads):.1f}"
        )
        return results
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(results: dict[str, Load], workers: int, main: str) -> None:
    def line(scenario: str, server: str) -> str:
        found = results.get(f"{scenario}|{server}")
        if found is None:
            return f"{server} skipped"
        cpu = "" if found.cpu_us is None else f", server CPU {found.cpu_us:,.0f} us/response"
        return (
            f"{server} {found.rate:,.0f} req/s, p99 {found.p99_ms:.1f} ms,"
            f" {found.bytes_per_response:,.0f} B/response{cpu}"
        )

    for scenario, _, _, _ in SCENARIOS:
        print(f"  [{workers} worker(s)] {scenario}: " + "; ".join(
            line(scenario, s) for s in ("outreach", "bare", "nginx")
        ))  # fmt: skip
        ours = results[f"{scenario}|outreach"]
        bare = results[f"{scenario}|bare"]
        ratio = ours.rate / bare.rate
        if scenario in ("warm 200", "304", "filtered 200"):
            goal = "" if scenario == "filtered 200" else f" (goal >= 0.9: {verdict(ratio >= 0.9)})"
            print(f"      ratio to bare Starlette {ratio:.2f}{goal}")
            if ours.cpu_us and bare.cpu_us:
                # Responses per CPU second, ours against bare: what the ratio of rates
                # would be on a machine with nothing else to do.
                efficiency = bare.cpu_us / ours.cpu_us
                print(f"      ratio to bare Starlette in server CPU per response {efficiency:.2f}")
        nginx = results.get(f"{scenario}|nginx")
        if nginx is not None:
            to_nginx = ours.rate / nginx.rate
            goal = ""
            if scenario == "304" and workers > 1:
                goal = f" (goal with workers >= 0.3: {verdict(to_nginx >= 0.3)})"
            print(f"      ratio to nginx {to_nginx:.2f}{goal}")
    nginx_304 = results.get("304|nginx")
    print(f"  [{workers} worker(s)] 304 by server (medians of the rounds):")
    print(
        "      server              |    req/s |  p99 ms | CPU us/resp | to nginx req/s"
        " | to nginx CPU"
    )
    for server in (
        "outreach", "outreach, no log", f"outreach, {other_server(main)}",
        "bare", f"bare, {other_server(main)}", "nginx",
    ):  # fmt: skip
        found = results.get(f"304|{server}")
        if found is None:
            continue
        name = {"outreach": f"outreach, {main}", "bare": f"bare, {main}"}.get(server, server)
        cpu = f"{found.cpu_us:11,.1f}" if found.cpu_us is not None else f"{'-':>11}"
        to_rate = to_cpu = f"{'-':>5}"
        if nginx_304 is not None:
            to_rate = f"{found.rate / nginx_304.rate:5.2f}"
            if found.cpu_us and nginx_304.cpu_us:
                to_cpu = f"{nginx_304.cpu_us / found.cpu_us:5.2f}"
        print(
            f"      {name:19} | {found.rate:8,.0f} | {found.p99_ms:7.1f} | {cpu} |"
            f" {to_rate:>14} | {to_cpu:>12}"
        )
    for what, words in (("rate", "in req/s"), ("cpu", "in server CPU per 304")):
        logged = results.get(f"access log share|{what}")
        if logged is None:
            continue
        goal = f" (goal < 10 %: {verdict(logged.rate < 0.10)})" if what == "rate" else ""
        print(
            f"      access log's share of a 304 {words}: {logged.rate:.1%} (median of the"
            f" rounds' pairs; {logged.p99_ms:.1%} to {logged.bytes_per_response:.1%}){goal}"
        )
    plain = results["warm 200|outreach"].bytes_per_response
    small = results["compressed poll|outreach"].bytes_per_response
    share = small / plain
    print(
        f"      compressed poll: {small:,.0f} of {plain:,.0f} bytes per response,"
        f" {share:.1%} (goal < 10 %: {verdict(share < 0.10)})"
    )


def main() -> None:
    from outreach.web.serving import DEFAULT_SERVER, SERVERS

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--postgres", metavar="URL", help="also (only) run on this server")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help="the HTTP server of Outreach and bare Starlette (default: outreach serve's);"
        " the other is measured for the 304",
    )
    parser.add_argument(
        "--only",
        choices=("http", "builds"),
        help="measure only the servers over HTTP, or only the cold builds",
    )
    args = parser.parse_args()

    from outreach.settings import sqlite_url

    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        args.tmp = tmp
        dropped: tuple[str, str] | None = None
        if args.postgres:
            database_url, name = postgres_database(args.postgres)
            dropped = (args.postgres, name)
            label = "PostgreSQL"
        else:
            database_url = sqlite_url(Path(tmp) / "bench.sqlite3")
            label = "SQLite"
        try:
            began = time.perf_counter()
            asyncio.run(seed(database_url, args.events))
            print(f"{label}: seeded {args.events} events in {time.perf_counter() - began:.1f} s")
            loader = "wrk" if shutil.which("wrk") else f"{args.connections} client processes"
            print(
                f"load: {loader}, {args.connections} connections, {args.seconds:g} s per run,"
                f" {args.rounds} interleaved rounds, medians"
            )
            os.environ.pop("DATABASE_URL", None)
            for workers in sorted({1, args.workers}) if args.only != "builds" else ():
                report(measure_http(database_url, args, workers), workers, args.server)
            if args.only == "http":
                return
            builds = asyncio.run(measure_build(database_url, args.rounds))
            body = builds.body
            print(
                f"  cold build, {args.events} events ({body.count(b'BEGIN:VEVENT')} VEVENTs,"
                f" {len(body) / 1e6:.2f} MB): service {builds.service * 1000:.0f} ms,"
                f" bare icalendar {builds.bare * 1000:.0f} ms, ratio"
                f" {builds.service / builds.bare:.2f}"
                f" (goal <= 1.0: {verdict(builds.service <= builds.bare)})"
            )
            for name, seconds in (
                ("after one edit", builds.after_edit),
                ("a new filter", builds.new_filter),
            ):
                ratio = seconds / builds.bare
                print(
                    f"  cold build {name}: {seconds * 1000:.0f} ms, ratio to bare icalendar"
                    f" {ratio:.2f} (goal <= 0.2: {verdict(ratio <= 0.2)})"
                )
        finally:
            if dropped is not None:
                drop_postgres_database(*dropped)


if __name__ == "__main__":
    main()
