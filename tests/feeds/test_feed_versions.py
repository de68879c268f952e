"""Writes through the scheduling service reach every process's feed, with bumped
SEQUENCE and LAST-MODIFIED; writes that change nothing in a feed keep its ETag. Each
process learns of a new version without a query per request: by LISTEN/NOTIFY on
PostgreSQL, by a bounded poll on SQLite, and at once for its own writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time

import asyncpg
import httpx
from starlette.applications import Starlette
from tortoise import connections

from outreach.app import create_app
from outreach.models import DataVersion, Library, RoleName
from outreach.scheduling import service
from outreach.versions import (
    CHANNEL,
    EPOCH,
    LISTENER_NAME,
    POLL_SECONDS,
    PROGRAMME,
    VersionWatch,
    bump_data_version,
    current_data_version,
)
from tests.factories import make_token_user
from tests.feeds.conftest import BASE_URL, LJUBLJANA, build_programme, feeds_settings, local
from tests.servers import AppServer

# Generous: the bound is POLL_SECONDS on SQLite and one notification on PostgreSQL, but a
# loaded test machine may take longer to answer; the loop stops as soon as it is seen.
PATIENCE = 20 * POLL_SECONDS + 10


def storytime_master(body: bytes, event_id: int) -> str:
    text = body.decode().replace("\r\n ", "")
    blocks = re.findall(r"BEGIN:VEVENT\r\n(.*?)END:VEVENT", text, flags=re.S)
    return str(
        next(
            b for b in blocks if f"UID:outreach-event-{event_id}@" in b and "RECURRENCE-ID" not in b
        )
    )


async def test_every_process_follows_the_data_version(db: str, feeds_app: Starlette) -> None:
    programme = await build_programme()
    event_id = programme.events["storytime"].id
    # A second app stands for a second process: its own cache, the same database.
    other_app = create_app(feeds_settings(database_url=db), manage_database=False)
    path = "/feeds/ljubljana.ics"

    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=feeds_app), base_url=BASE_URL) as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other_app), base_url=BASE_URL) as two,
    ):
        first = await one.get(path)
        assert (await two.get(path)).content == first.content
        master = storytime_master(first.content, event_id)
        assert "SEQUENCE:6\r\n" in master
        assert "LAST-MODIFIED:20260205T083000Z\r\n" in master

        # A write that cannot change this feed moves the version but not the bytes.
        before = await current_data_version()
        await bump_data_version()
        assert (await current_data_version())[0] == before[0] + 1
        same = await two.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert same.status_code == 304

        written_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        await service.change_occurrence(
            event_id, local(LJUBLJANA, 2026, 3, 17, 10), {"cancelled": True}, user=None
        )
        for client in (one, two):
            changed = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert changed.status_code == 200
            assert changed.headers["etag"] != first.headers["etag"]
            master = storytime_master(changed.content, event_id)
            assert (
                "EXDATE;TZID=Europe/Ljubljana:20260317T100000,20260407T100000,"
                "20261027T100000\r\n" in master
            )
            # revision 3 → 4, plus the new override's revision 1: 6 → 8.
            assert "SEQUENCE:8\r\n" in master
            stamp = re.search(r"LAST-MODIFIED:(\d{8}T\d{6})Z", master)
            assert stamp is not None
            modified = dt.datetime.strptime(stamp.group(1) + "+0000", "%Y%m%dT%H%M%S%z")
            assert modified >= written_at

        await service.update_event(
            event_id, {"title": {"sl": "Pravljična ura", "en": "Storytime"}}, user=None
        )
        master = storytime_master((await two.get(path)).content, event_id)
        assert "SUMMARY:Pravljična ura\r\n" in master
        assert "SEQUENCE:9\r\n" in master

        await service.cancel_event(event_id, user=None)
        body = (await one.get(path)).content
        master = storytime_master(body, event_id)
        assert "STATUS:CANCELLED\r\n" in master
        assert "SEQUENCE:10\r\n" in master
        moved = re.search(r"RECURRENCE-ID.*?END:VEVENT", body.decode().replace("\r\n ", ""), re.S)
        assert moved is not None
        assert "STATUS:CANCELLED" in moved.group(0)


async def test_data_version_counts_writes_and_their_time(db: str) -> None:
    assert await current_data_version() == (0, EPOCH)
    await bump_data_version()
    await bump_data_version()
    row = await DataVersion.get(scope=PROGRAMME)
    assert await current_data_version() == (2, row.changed_at)
    assert row.changed_at.tzinfo is not None


async def _other_process_bumps(db: str) -> None:
    """What a write in another process does to the version: its own connection, its own
    transaction, and on PostgreSQL the NOTIFY of that transaction."""
    if db.startswith("postgres"):
        connection = await asyncpg.connect(db.replace("postgres://", "postgresql://", 1))
        try:
            async with connection.transaction():
                await connection.execute(
                    "UPDATE data_version SET version = version + 1 WHERE scope = $1", PROGRAMME
                )
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, PROGRAMME)
        finally:
            await connection.close()
    else:
        await connections.get("default").execute_query(
            "UPDATE data_version SET version = version + 1 WHERE scope = ?", [PROGRAMME]
        )


async def test_a_process_reads_the_version_only_when_it_may_have_changed(db: str) -> None:
    await bump_data_version()
    # An hour's poll on SQLite: nothing but its own writes moves this watch. No window of
    # reads after a write (its writes here commit before it reads), so that what moves it
    # below is only what is tested.
    watch = VersionWatch(db, poll_seconds=3600, after_write_seconds=0)
    await watch.start()
    try:
        assert watch.listening == db.startswith("postgres")
        first = await watch.current()
        assert first == await current_data_version()
        reads = watch.reads
        for _ in range(50):
            assert await watch.current() == first
        assert watch.reads == reads  # warm: no query

        # This process's own write is seen at once.
        await bump_data_version()
        assert (await watch.current())[0] == first[0] + 1

        if db.startswith("postgres"):
            # Another process's write: heard by NOTIFY when its transaction commits.
            await _other_process_bumps(db)
            deadline = time.monotonic() + PATIENCE
            while (await watch.current())[0] != first[0] + 2:
                assert time.monotonic() < deadline, "the NOTIFY was not heard"
                await asyncio.sleep(0.01)

            # The listening connection is cut: the watch reads on every request until it
            # listens again, then hears the next write.
            admin = await asyncpg.connect(db.replace("postgres://", "postgresql://", 1))
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = $1 AND datname = current_database()",
                    LISTENER_NAME,
                )
            finally:
                await admin.close()
            deadline = time.monotonic() + PATIENCE
            while watch.listening:
                assert time.monotonic() < deadline, "the lost connection was not noticed"
                await asyncio.sleep(0.01)
            while not watch.listening:
                assert time.monotonic() < deadline, "the listener did not reconnect"
                await asyncio.sleep(0.01)
            await _other_process_bumps(db)
            while (await watch.current())[0] != first[0] + 3:
                assert time.monotonic() < deadline, "the NOTIFY after reconnecting was lost"
                await asyncio.sleep(0.01)
        else:
            # Another process's write is not seen before the poll says so, nor read.
            reads = watch.reads
            await _other_process_bumps(db)
            assert (await watch.current())[0] == first[0] + 1
            assert watch.reads == reads
            await bump_data_version()
            assert (await watch.current())[0] == first[0] + 3
    finally:
        await watch.stop()
    assert not watch.listening


async def test_a_write_through_one_process_reaches_the_others_feed(db: str) -> None:
    """Two app processes (uvicorn) on one database: an API write through the first is in
    the second's feed within the bound, and in the first's at once."""
    programme = await build_programme()
    event_id = programme.events["storytime"].id
    library = await Library.get(slug="ljubljana")
    token = await make_token_user("editor@example.org", [(RoleName.EDITOR, library)])
    env = {"BASE_URL": BASE_URL, "OUTREACH_FEED_DAYS_BACK": str(feeds_settings().feed_days_back)}
    path = "/feeds/ljubljana.ics"
    async with (
        AppServer(db, **env) as one,
        AppServer(db, **env) as two,
        httpx.AsyncClient(base_url=one.base_url, timeout=30) as first,
        httpx.AsyncClient(base_url=two.base_url, timeout=30) as second,
    ):
        before = await second.get(path)
        assert before.status_code == 200
        assert (await first.get(path)).content == before.content
        etag = before.headers["etag"]
        assert (await second.get(path, headers={"If-None-Match": etag})).status_code == 304

        changed = await first.patch(
            f"/api/events/{event_id}",
            json={"title": {"sl": "Pravljična ura za vse", "en": "Storytime for all"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
        # The writer sees its own write at once.
        mine = await first.get(path, headers={"If-None-Match": etag})
        assert mine.status_code == 200
        assert "SUMMARY:Pravljična ura za vse\r\n" in storytime_master(mine.content, event_id)

        deadline = time.monotonic() + PATIENCE
        while True:
            theirs = await second.get(path, headers={"If-None-Match": etag})
            if theirs.status_code == 200:
                break
            assert theirs.status_code == 304
            assert time.monotonic() < deadline, "the other process never saw the write"
            await asyncio.sleep(0.02)
        assert theirs.content == mine.content
        assert theirs.headers["etag"] == mine.headers["etag"]
