"""Database outages, for real.

PostgreSQL: the app under uvicorn against a cluster of its own, which the test stops for
a few seconds while writes (with Idempotency-Keys) and reads keep coming, then starts
again. While the server is down every answer is a 503 with Retry-After and a JSON body
(no 500, no reset); once it is back the same app process answers again by itself; every
write whose answer was lost is sent again with its key, and in the end each write is
stored exactly once: none acknowledged is lost, none is doubled.

SQLite: another process holds the write lock longer than the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext

from outreach.models import Event, RoleName
from outreach.settings import tortoise_config
from tests.databases import migrate
from tests.factories import make_library, make_token_user
from tests.servers import AppServer, PostgresCluster

# Timing matters here: run with the machine to itself (see `make test`).
pytestmark = pytest.mark.alone

WRITERS = 6
READERS = 3
BEFORE = 1.0  # seconds of traffic before the stop
OUTAGE = 3.5  # seconds the server stays down
READS = ("/api/events?library=mkl&limit=5", "/api/libraries", "/healthz", "/api/routes")


@dataclass
class Outcome:
    """One request: when it went out and came back, and what came back."""

    method: str
    path: str
    key: str | None
    sent: float
    received: float
    status: int | None  # None: no HTTP answer at all (reset, refused, timed out)
    problem: str = ""
    retry_after: str | None = None
    content_type: str = ""
    body: Any = None
    replayed: bool = False


async def _seed(url: str) -> str:
    """A library and an editor's API token, written through the models."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        library = await make_library("mkl", timezone="Europe/Ljubljana")
        token = await make_token_user("ana@mkl.si", [(RoleName.EDITOR, library)])
    # Its statements must not linger in the per-connection-name cache the suite's own
    # database uses (one dialect per name).
    EXECUTOR_CACHE.clear()
    return token


def _event(key: str) -> dict[str, Any]:
    return {
        "library": "mkl",
        "kind": "workshop",
        "title": {"sl": f"Izpad {key}"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
        "status": "published",
    }


class Traffic:
    """Writers and readers that keep going until told to stop, recording every answer."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}
        self.outcomes: list[Outcome] = []
        self.bodies: dict[str, dict[str, Any]] = {}
        self.stopped = asyncio.Event()
        self.clock = asyncio.get_running_loop().time

    async def send(self, method: str, path: str, key: str | None = None) -> Outcome:
        headers = dict(self.auth)
        body = None
        if key is not None:
            headers["Idempotency-Key"] = key
            body = self.bodies[key]
        sent = self.clock()
        try:
            response = await self.http.request(method, path, json=body, headers=headers)
        except httpx.TransportError as exc:
            outcome = Outcome(method, path, key, sent, self.clock(), None, repr(exc))
        else:
            content_type = response.headers.get("content-type", "")
            outcome = Outcome(
                method,
                path,
                key,
                sent,
                self.clock(),
                response.status_code,
                retry_after=response.headers.get("retry-after"),
                content_type=content_type,
                body=response.json() if content_type == "application/json" else response.text,
                replayed=response.headers.get("idempotent-replayed") == "true",
            )
        self.outcomes.append(outcome)
        return outcome

    async def writer(self, number: int) -> None:
        count = 0
        while not self.stopped.is_set():
            key = f"w{number}-{count}"
            self.bodies[key] = _event(key)
            await self.send("POST", "/api/events", key)
            count += 1
            await asyncio.sleep(0.02)

    async def reader(self, number: int) -> None:
        count = number
        while not self.stopped.is_set():
            await self.send("GET", READS[count % len(READS)])
            count += 1
            await asyncio.sleep(0.02)

    def written(self, since: float) -> bool:
        return any(o.sent >= since and o.status == 201 for o in self.outcomes)


async def test_an_outage_answers_503_and_no_write_is_lost_or_doubled() -> None:
    cluster = PostgresCluster.create()
    try:
        await cluster.init()
        await cluster.start()
        admin = await asyncpg.connect(cluster.dsn)
        try:
            await admin.execute("CREATE DATABASE outreach")
        finally:
            await admin.close()
        await migrate(cluster.url)
        token = await _seed(cluster.url)
        async with (
            AppServer(cluster.url) as server,
            httpx.AsyncClient(base_url=server.base_url, timeout=20) as http,
        ):
            assert server.process is not None
            pid = server.process.pid
            traffic = Traffic(http, token)
            tasks = [asyncio.create_task(traffic.writer(n)) for n in range(WRITERS)]
            tasks += [asyncio.create_task(traffic.reader(n)) for n in range(READERS)]
            await asyncio.sleep(BEFORE)
            stopping = traffic.clock()
            await cluster.stop()
            down_from = traffic.clock()
            await asyncio.sleep(OUTAGE)
            down_until = traffic.clock()
            await cluster.start()
            back = traffic.clock()
            for _ in range(300):  # until writes go through again (at most 15 s)
                if traffic.written(back):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            traffic.stopped.set()
            await asyncio.gather(*tasks)
            first_pass = list(traffic.outcomes)

            # Every write whose answer was not a 201 is sent again with its key.
            unanswered = sorted(
                {o.key for o in first_pass if o.key is not None}
                - {o.key for o in first_pass if o.key is not None and o.status == 201}
            )
            retries: list[Outcome] = []
            for start in range(0, len(unanswered), WRITERS):
                batch = unanswered[start : start + WRITERS]
                retries += await asyncio.gather(
                    *(traffic.send("POST", "/api/events", key) for key in batch)
                )
            health = await http.get("/healthz")
            assert server.running
            assert server.process.pid == pid

            log = server.output()
        conn = await asyncpg.connect(cluster.url.replace("postgres://", "postgresql://", 1))
        try:
            rows = await conn.fetch("SELECT title->>'sl' AS title FROM event")
        finally:
            await conn.close()
    finally:
        await cluster.destroy()

    # No HTTP answer missing, no 500, during the outage only 503s with Retry-After and JSON.
    assert [o for o in traffic.outcomes if o.status is None] == []
    assert {o.status for o in traffic.outcomes} <= {200, 201, 503}, log
    outage = [o for o in first_pass if o.sent >= down_from and o.received <= down_until]
    unavailable = [o for o in traffic.outcomes if o.status == 503]
    assert len(outage) >= 50
    assert {o.status for o in outage} == {503}
    assert {(o.retry_after, o.content_type) for o in unavailable} == {("5", "application/json")}
    assert all(isinstance(o.body, dict) for o in unavailable)
    assert {o.path for o in outage} >= {"/api/events", "/healthz", *READS}
    # Writes were acknowledged before the stop and after the start, refused in between.
    acknowledged = {o.key for o in first_pass if o.status == 201}
    assert any(o.status == 201 and o.received < stopping for o in first_pass)
    assert traffic.written(back)
    assert health.status_code == 200
    # Every retry is answered 201: stored now, or replayed if it had been stored unseen.
    assert unanswered
    assert [o.status for o in retries] == [201] * len(unanswered)
    # Each write stored once: 0 acknowledged lost, 0 duplicates, none missing.
    stored = Counter(row["title"] for row in rows)
    duplicates = {title: n for title, n in stored.items() if n > 1}
    lost = {f"Izpad {key}" for key in acknowledged} - set(stored)
    assert duplicates == {}
    assert lost == set()
    assert set(stored) == {f"Izpad {key}" for key in traffic.bodies}
    recovered = min(o.received for o in first_pass if o.sent >= back and o.status == 201) - back
    print(
        f"\noutage: {len(first_pass)} requests ({len(traffic.bodies)} writes), {len(outage)}"
        f" while the server was down ({OUTAGE:g} s), all 503 with Retry-After and JSON;"
        f" {len(unavailable)} answers 503 in all, 0 without an answer; {len(unanswered)} writes"
        f" sent again, {sum(o.replayed for o in retries)} of them replayed (stored unseen);"
        f" {len(rows)} events stored, {len(lost)} lost, {len(duplicates)} duplicated;"
        f" first write stored {recovered:.2f} s after the server was back"
    )


async def test_a_locked_sqlite_database_answers_503_and_the_retry_is_done_once(
    db: str, client: httpx.AsyncClient
) -> None:
    if db.startswith("postgres"):
        pytest.skip("SQLite's write lock; PostgreSQL's outage is the cluster test above")
    library = await make_library("mkl", timezone="Europe/Ljubljana")
    token = await make_token_user("ana@mkl.si", [(RoleName.EDITOR, library)])
    auth = {"Authorization": f"Bearer {token}"}
    keyed = {**auth, "Idempotency-Key": "locked-1"}
    assert (await client.get("/api/events", headers=auth)).status_code == 200  # token in use
    connection = get_connection("default")
    # Another process writes (say, a long import) for longer than we wait for the lock.
    holder = sqlite3.connect(db.removeprefix("sqlite://").split("?", 1)[0], isolation_level=None)
    await connection.execute_query("PRAGMA busy_timeout = 50")
    try:
        holder.execute("BEGIN IMMEDIATE")
        refused = [
            await client.post("/api/events", json=_event("locked-1"), headers=keyed),
            await client.post("/api/events", json=_event("plain"), headers=auth),
        ]
        read = await client.get("/api/events", params={"library": "mkl"}, headers=auth)
    finally:
        holder.rollback()
        holder.close()
        await connection.execute_query("PRAGMA busy_timeout = 5000")
    for response in refused:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"].startswith("service unavailable: the database cannot")
    assert read.status_code == 200  # readers do not wait for the writer (WAL)
    assert await Event.all().count() == 0
    done = await client.post("/api/events", json=_event("locked-1"), headers=keyed)
    again = await client.post("/api/events", json=_event("locked-1"), headers=keyed)
    assert (done.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert await Event.all().count() == 1
