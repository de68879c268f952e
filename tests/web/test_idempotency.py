"""Idempotency-Key over real HTTP on a real database: a retried write gets the first
answer and stores nothing twice; a key is one user's, for one request."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import (
    AuditEntry,
    Event,
    IdempotentAnswer,
    Library,
    RoleName,
    Room,
    StaffUser,
)
from outreach.settings import Settings
from outreach.web.idempotency import slot
from tests.factories import make_branch, make_library, make_room, make_token_user, make_user

KEY = "4a2c6f0e-retry-me"
HEADER_PROBLEM = {
    "Idempotency-Key": "was used in the last 24 hours with another method, path or body;"
    " send a new key for a new request"
}


@dataclass
class Desk:
    """A library with a room, two editors with API tokens."""

    library: Library
    room: Room
    tokens: dict[str, str]

    def headers(self, who: str = "editor", key: str | None = KEY) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers


@pytest_asyncio.fixture
async def desk(db: str) -> Desk:
    library = await make_library("mkl", timezone="Europe/Ljubljana")
    room = await make_room(await make_branch(library))
    tokens = {
        "editor": await make_token_user("ana@mkl.si", [(RoleName.EDITOR, library)]),
        "second": await make_token_user("bor@mkl.si", [(RoleName.EDITOR, library)]),
    }
    return Desk(library, room, tokens)


def event(title: str = "Delavnica", **changes: Any) -> dict[str, Any]:
    """A one-off workshop on 1 December 2026, 17:00-18:00 local time, in no room."""
    return {
        "library": "mkl",
        "kind": "workshop",
        "title": {"sl": title},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
        "status": "published",
        **changes,
    }


async def test_a_retried_write_gets_the_first_answer_and_is_stored_once(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    first = await client.post("/api/events", json=event(), headers=desk.headers())
    again = await client.post("/api/events", json=event(), headers=desk.headers())
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.content == first.content
    assert await Event.all().count() == 1
    assert await AuditEntry.filter(action="create").count() == 1
    # Kept: digests and the answer the client already has; neither the key nor its user.
    kept = await IdempotentAnswer.get()
    editor = await StaffUser.get(email="ana@mkl.si")
    assert kept.key == slot(editor.id, KEY)
    assert re.fullmatch("[0-9a-f]{64}", kept.request)
    assert (kept.status, bytes(kept.body)) == (201, first.content)
    assert kept.headers == [["content-type", "application/json"]]


async def test_the_same_key_for_another_request_is_refused(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    first = await client.post("/api/events", json=event(), headers=desk.headers())
    assert first.status_code == 201
    changed = await client.post("/api/events", json=event("Druga"), headers=desk.headers())
    elsewhere = await client.patch(
        f"/api/events/{first.json()['id']}", json={"capacity": 12}, headers=desk.headers()
    )
    for refused in (changed, elsewhere):
        assert refused.status_code == 422
        assert refused.json() == {
            "error": "this Idempotency-Key was sent with a different request",
            "fields": HEADER_PROBLEM,
        }
    assert await Event.all().count() == 1
    assert (await Event.get()).capacity is None


async def test_a_key_is_its_users_own(desk: Desk, client: httpx.AsyncClient) -> None:
    mine = await client.post("/api/events", json=event(), headers=desk.headers("editor"))
    theirs = await client.post("/api/events", json=event(), headers=desk.headers("second"))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert await Event.all().count() == 2
    assert await IdempotentAnswer.all().count() == 2


async def test_a_refused_write_keeps_no_answer_so_the_corrected_one_runs(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    invalid = await client.post(
        "/api/events", json=event(end="2026-12-01T16:00:00"), headers=desk.headers()
    )
    assert invalid.status_code == 422
    assert invalid.json() == {"error": "invalid input", "fields": {"end": "must be after start"}}
    assert await IdempotentAnswer.all().count() == 0
    corrected = await client.post("/api/events", json=event(), headers=desk.headers())
    assert corrected.status_code == 201
    assert await Event.all().count() == 1


async def test_a_double_booking_with_a_key_rolls_everything_back(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    taken = await client.post(
        "/api/events", json=event(room=desk.room.id), headers=desk.headers(key=None)
    )
    assert taken.status_code == 201
    clash = await client.post(
        "/api/events", json=event("Druga", room=desk.room.id), headers=desk.headers()
    )
    assert clash.status_code == 409
    assert [c["resource"] for c in clash.json()["conflicts"]] == ["room"]
    assert await Event.all().count() == 1
    assert await IdempotentAnswer.all().count() == 0
    assert await AuditEntry.filter(action="create").count() == 1


async def test_malformed_keys_are_refused_naming_the_header(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    problem = {
        "error": "bad request",
        "fields": {"Idempotency-Key": "must be sent once, as 1 to 255 visible ASCII characters"},
    }
    auth = desk.headers(key=None)
    for key in ("", "two words", "x" * 256):
        response = await client.post(
            "/api/events", json=event(), headers={**auth, "Idempotency-Key": key}
        )
        assert (response.status_code, response.json()) == (400, problem), key
    twice = await client.post(
        "/api/events",
        json=event(),
        headers=[*auth.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert (twice.status_code, twice.json()) == (400, problem)
    assert await Event.all().count() == 0


async def test_a_key_without_a_sign_in_changes_nothing(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    response = await client.post("/api/events", json=event(), headers={"Idempotency-Key": KEY})
    assert (response.status_code, response.json()) == (401, {"error": "authentication required"})
    assert await IdempotentAnswer.all().count() == 0


async def test_answers_expire_after_a_day(desk: Desk, client: httpx.AsyncClient) -> None:
    now = dt.datetime.now(dt.UTC)
    # Someone else's answer from two days ago, to be swept by the next keyed write.
    await IdempotentAnswer.create(
        key="0" * 64, request="0" * 64, status=201, body=b"{}", created_at=now - dt.timedelta(2)
    )
    first = await client.post("/api/events", json=event(), headers=desk.headers())
    assert first.status_code == 201
    assert await IdempotentAnswer.filter(key="0" * 64).count() == 0
    await IdempotentAnswer.all().update(created_at=now - dt.timedelta(hours=24, minutes=1))
    # A day later the key is free again, even for another request.
    later = await client.post("/api/events", json=event("Druga"), headers=desk.headers())
    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert await Event.all().count() == 2
    assert [a.status for a in await IdempotentAnswer.all()] == [201]


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite://").split("?", 1)[0]


async def _wait_for_lock_wait(dsn: str) -> None:
    """Until some session of this database waits for a lock (the first request)."""
    watcher = await asyncpg.connect(dsn)
    try:
        for _ in range(200):
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting:
                return
            await asyncio.sleep(0.025)
    finally:
        await watcher.close()
    raise AssertionError("the first request never waited for the row lock")


@pytest_asyncio.fixture
async def second_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another app on the same database: a second process, as far as keys can tell."""
    app: Starlette = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://outreach.example.org") as c:
        yield c


async def test_a_duplicate_while_the_first_still_runs_is_a_409_to_retry(
    desk: Desk, db: str, client: httpx.AsyncClient, second_app: httpx.AsyncClient
) -> None:
    created = await client.post("/api/events", json=event(), headers=desk.headers(key=None))
    event_id = created.json()["id"]
    url, change = f"/api/events/{event_id}", {"capacity": 20}
    in_progress = {
        "error": "a request with this Idempotency-Key is still running; try again shortly",
        "fields": {"Idempotency-Key": "is in use by a request that has not finished"},
    }
    postgres = db.startswith("postgres")
    # Hold the first request up: PostgreSQL at the event's row lock, SQLite at its write lock.
    holder: Any
    if postgres:
        dsn = db.replace("postgres://", "postgresql://", 1)
        holder = await asyncpg.connect(dsn)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT id FROM event WHERE id = $1 FOR UPDATE", event_id)
    else:
        holder = sqlite3.connect(_sqlite_path(db), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    try:
        first = asyncio.create_task(client.patch(url, json=change, headers=desk.headers()))
        if postgres:
            await _wait_for_lock_wait(dsn)
        else:
            await asyncio.sleep(0.3)
        assert not first.done()
        duplicates = [await client.patch(url, json=change, headers=desk.headers())]
        if postgres:
            # Another process knows it from the transaction's advisory lock on the key.
            duplicates.append(await second_app.patch(url, json=change, headers=desk.headers()))
        for duplicate in duplicates:
            assert duplicate.status_code == 409
            assert duplicate.headers["retry-after"] == "1"
            assert duplicate.json() == in_progress
        assert not first.done()
    finally:
        if postgres:
            await transaction.rollback()
            await holder.close()
        else:
            holder.rollback()
            holder.close()
    answer = await first
    assert answer.status_code == 200, answer.text
    retried = await second_app.patch(url, json=change, headers=desk.headers())
    assert retried.status_code == 200
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.content == answer.content
    stored = await Event.get(id=event_id)
    assert (stored.capacity, stored.revision) == (20, 2)
    assert await AuditEntry.filter(action="update").count() == 1


async def test_staff_form_writes_are_kept_and_replayed_too(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    password = "correct horse battery"
    await make_user("urednica@mkl.si", password=password, roles=[(RoleName.EDITOR, desk.library)])
    created = await client.post("/api/events", json=event(), headers=desk.headers(key=None))
    event_id = created.json()["id"]
    login = await client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    signed_in = await client.post(
        "/staff/login",
        data={"email": "urednica@mkl.si", "password": password, "csrf_token": token.group(1)},
        headers={"Idempotency-Key": "login-is-never-kept"},
    )
    assert signed_in.status_code == 303
    page = await client.get(f"/staff/events/{event_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    # Confirmed at once: the first submission without "confirm" only asks.
    form = {"csrf_token": token.group(1), "confirm": "yes"}
    headers = {"Idempotency-Key": "cancel-1"}
    first = await client.post(f"/staff/events/{event_id}/cancel", data=form, headers=headers)
    again = await client.post(f"/staff/events/{event_id}/cancel", data=form, headers=headers)
    assert (first.status_code, again.status_code) == (303, 303)
    assert again.headers["location"] == first.headers["location"] == f"/staff/events/{event_id}"
    assert again.headers["idempotent-replayed"] == "true"
    assert [a.status for a in await IdempotentAnswer.all()] == [303]
    assert await AuditEntry.filter(action="cancel").count() == 1
