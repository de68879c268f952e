"""Long work off the event loop: an optimisation and a 4,900-row import run in worker
processes while ``/healthz`` answers at once; a full pool answers 503 with Retry-After;
a file too large for one import is refused before anything is written."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from outreach.bookmobile.jobs import OPTIMISE_MARGIN
from outreach.bookmobile.open_data import MAX_VISITS
from outreach.models import IdempotentAnswer, Occurrence, RoleName, Route, Stop, Vehicle
from outreach.workers import WorkerPool
from tests.bookmobile.conftest import Bookmobiles, route_body, stop
from tests.bookmobile.test_staff_bookmobile import _sign_in, csrf_of
from tests.bookmobile.timetables import PERIOD, large_timetable

# Timing matters here: run with the machine to itself (see `make test`).
pytestmark = pytest.mark.alone

# Twelve villages around Maribor, twenty minutes apart: enough for the solver to search.
VILLAGES = [
    ("Limbuš", 46.5560, 15.5860),
    ("Bresternica", 46.5720, 15.5490),
    ("Selnica ob Dravi", 46.5520, 15.4940),
    ("Ruše", 46.5390, 15.5150),
    ("Bistrica ob Dravi", 46.5530, 15.5530),
    ("Fala", 46.5440, 15.4510),
    ("Lovrenc na Pohorju", 46.5410, 15.3930),
    ("Kamnica", 46.5730, 15.6050),
    ("Rošpoh", 46.5890, 15.6130),
    ("Pekre", 46.5450, 15.5990),
    ("Radvanje", 46.5380, 15.6290),
    ("Hoče", 46.5000, 15.6450),
]


def _village_route() -> dict[str, Any]:
    stops = [
        stop(name, lat, lon, f"{8 + (20 * i) // 60:02d}:{(20 * i) % 60:02d}", 10)
        for i, (name, lat, lon) in enumerate(VILLAGES)
    ]
    return route_body(code="KROG", stops=stops)


@pytest_asyncio.fixture
async def pool(app: Starlette) -> AsyncIterator[WorkerPool]:
    """Two workers and no queue, for this test's app alone."""
    pool = WorkerPool(processes=2, queue=0)
    app.state.workers = pool
    try:
        yield pool
    finally:
        pool.close()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(20_000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def _codes(text: str) -> list[str]:
    return list(dict.fromkeys(row["route"] for row in csv.DictReader(io.StringIO(text))))


async def test_healthz_answers_at_once_while_an_optimisation_and_a_large_import_run(
    bm: Bookmobiles, client: httpx.AsyncClient, pool: WorkerPool
) -> None:
    created = await client.post("/api/routes", json=_village_route(), headers=bm.auth())
    assert created.status_code == 201, created.text
    route_id = created.json()["id"]
    text = large_timetable(4900, since=dt.date(2026, 1, 1), runs=26)
    optimising = asyncio.create_task(
        client.post(
            f"/api/routes/{route_id}/optimise",
            json={"tolerance_minutes": 60, "time_limit_seconds": 4},
            headers=bm.auth(),
        )
    )
    importing = asyncio.create_task(
        client.post(
            "/api/routes/import?library=mb",
            content=text.encode(),
            headers={**bm.auth(), "Content-Type": "text/csv"},
        )
    )
    await until(lambda: pool.running == 2)
    latencies: list[float] = []
    while pool.running == 2 and len(latencies) < 20:
        started = time.perf_counter()
        health = await client.get("/healthz")
        elapsed = time.perf_counter() - started
        if pool.running == 2:  # both were running throughout the request
            assert health.status_code == 200
            latencies.append(elapsed)
        await asyncio.sleep(0.05)
    assert len(latencies) == 20
    assert max(latencies) < 0.1, latencies

    optimised = await optimising
    assert optimised.status_code == 200, optimised.text
    assert optimised.json()["solver"]["status"] == "ok"
    imported = await importing
    assert imported.status_code == 200, imported.text
    body = imported.json()
    copies = math.ceil(4900 / 126)
    assert (body["created"], body["updated"], body["unchanged"], body["stops"]) == (
        _codes(text),
        [],
        [],
        4900,
    )
    assert body["vehicles_created"] == [f"Mobile {k}" for k in range(1, copies + 1)]
    assert await Stop.filter(route__code__not="KROG").count() == 4900
    # Every stop is visited on 26 runs; the village route's visits are its own.
    assert await Occurrence.filter(event__route__code__not="KROG").count() == 4900 * 26


async def test_a_file_that_would_write_too_many_visits_is_refused_before_any_write(
    bm: Bookmobiles, client: httpx.AsyncClient, pool: WorkerPool
) -> None:
    last = dt.date(2026, 12, 31)
    text = large_timetable(4900, until=last)
    first_dates = [dt.date.fromisoformat(r["start"]) for r in csv.DictReader(io.StringIO(text))]
    visits = sum((last - first).days // PERIOD.days + 1 for first in first_dates)
    assert visits > MAX_VISITS
    response = await client.post(
        "/api/routes/import?library=mb",
        content=text.encode(),
        headers={**bm.auth(), "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "the timetable was not imported",
        "fields": {
            "file": (
                f"would create {visits:,} stop visits (every run of its routes, from their"
                f" first dates on), more than the {MAX_VISITS:,} one import may write; import"
                " the routes in several files, or give later start or earlier end dates"
            )
        },
    }
    assert await Route.all().count() == 0
    assert await Vehicle.all().count() == 2  # the fixture's two
    assert await Occurrence.all().count() == 0


async def test_a_full_pool_answers_503_with_retry_after_and_the_reason(
    bm: Bookmobiles, client: httpx.AsyncClient, app: Starlette
) -> None:
    created = await client.post("/api/routes", json=_village_route(), headers=bm.auth())
    route_id = created.json()["id"]
    pool = WorkerPool(processes=1, queue=0)
    app.state.workers = pool
    try:
        running = asyncio.create_task(
            client.post(
                f"/api/routes/{route_id}/optimise",
                json={"time_limit_seconds": 2},
                headers=bm.auth(),
            )
        )
        await until(lambda: pool.running == 1)
        # The running job's limit ends its solver's 2 s and the margin after it started.
        retry_after = math.ceil(2 + OPTIMISE_MARGIN)
        expected = {
            "error": (
                "the server is busy with other long work (optimisations and imports: 1 running,"
                f" 0 waiting); nothing was done, try again in {retry_after} s"
            ),
            "reason": "workers_busy",
            "retry_after": retry_after,
        }
        refused = await client.post(
            f"/api/routes/{route_id}/optimise", json={"time_limit_seconds": 2}, headers=bm.auth()
        )
        assert (refused.status_code, refused.json()) == (503, expected)
        assert refused.headers["retry-after"] == str(retry_after)
        also = await client.post(
            "/api/routes/import?library=mb",
            content=large_timetable(20, since=dt.date(2026, 1, 1)).encode(),
            headers={**bm.auth(), "Content-Type": "text/csv"},
        )
        assert (also.status_code, also.json()) == (503, expected)
        assert also.headers["retry-after"] == str(retry_after)
        assert await Route.all().count() == 1
        assert (await running).status_code == 200
    finally:
        pool.close()


async def test_an_import_sent_with_an_idempotency_key_runs_in_a_worker_and_is_done_once(
    bm: Bookmobiles, client: httpx.AsyncClient, app: Starlette
) -> None:
    # The worker's own transaction takes the key, imports and keeps the answer: with the
    # one worker busy the keyed import is refused like any other, and nothing is kept.
    pool = WorkerPool(processes=1, queue=0)
    app.state.workers = pool
    try:
        created = await client.post("/api/routes", json=_village_route(), headers=bm.auth())
        solving = asyncio.create_task(
            client.post(
                f"/api/routes/{created.json()['id']}/optimise",
                json={"time_limit_seconds": 2},
                headers=bm.auth(),
            )
        )
        await until(lambda: pool.running == 1)
        text = large_timetable(20, since=dt.date(2026, 1, 1)).encode()
        url = "/api/routes/import?library=mb"
        headers = {**bm.auth(), "Content-Type": "text/csv", "Idempotency-Key": "import-20"}
        busy = await client.post(url, content=text, headers=headers)
        assert (busy.status_code, busy.json()["reason"]) == (503, "workers_busy")
        assert await IdempotentAnswer.all().count() == 0
        assert (await solving).status_code == 200
        first = await client.post(url, content=text, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["created"] == ["A1", "B1", "C1"]
        assert "idempotent-replayed" not in first.headers
        again = await client.post(url, content=text, headers=headers)
        assert (again.status_code, again.content) == (200, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == "application/json"
        assert await Route.filter(code__in=["A1", "B1", "C1"]).count() == 3
        other = await client.post(url, content=text + b"\n", headers=headers)
        assert other.status_code == 422
        assert other.json()["fields"] == {
            "Idempotency-Key": "was used in the last 24 hours with another method, path or"
            " body; send a new key for a new request"
        }
    finally:
        pool.close()


async def test_the_staff_pages_say_when_the_workers_are_busy(
    bm: Bookmobiles, client: httpx.AsyncClient, app: Starlette
) -> None:
    created = await client.post("/api/routes", json=_village_route(), headers=bm.auth())
    route_id = created.json()["id"]
    await _sign_in(client, bm, RoleName.EDITOR)
    token = csrf_of((await client.get(f"/staff/bookmobile/routes/{route_id}")).text)
    pool = WorkerPool(processes=1, queue=0)
    app.state.workers = pool
    try:
        running = asyncio.create_task(
            client.post(
                f"/api/routes/{route_id}/optimise",
                json={"time_limit_seconds": 2},
                headers=bm.auth(),
            )
        )
        await until(lambda: pool.running == 1)
        retry_after = math.ceil(2 + OPTIMISE_MARGIN)
        busy = (
            "the server is busy with other long work (optimisations and imports: 1 running,"
            f" 0 waiting); nothing was done, try again in {retry_after} s"
        )
        page = await client.post(
            f"/staff/bookmobile/routes/{route_id}/optimise",
            data={"tolerance_minutes": "30", "csrf_token": token},
        )
        assert (page.status_code, page.headers["retry-after"]) == (503, str(retry_after))
        assert f'<p class="notice error" role="alert">{busy}</p>' in page.text
        imported = await client.post(
            "/staff/bookmobile/import",
            data={"library": "mb", "csrf_token": token},
            files={"file": ("stops.csv", large_timetable(20).encode(), "text/csv")},
        )
        assert imported.status_code == 303
        listing = (await client.get("/staff/bookmobile")).text
        assert f"The timetable was not imported: {busy}." in listing
        assert await Route.all().count() == 1
        assert (await running).status_code == 200
    finally:
        pool.close()
