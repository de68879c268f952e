"""Writes through the scheduling service reach every process's feed, with bumped
SEQUENCE and LAST-MODIFIED; writes that change nothing in a feed keep its ETag."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import DataVersion
from outreach.scheduling import service
from outreach.versions import EPOCH, PROGRAMME, bump_data_version, current_data_version
from tests.feeds.conftest import BASE_URL, LJUBLJANA, build_programme, feeds_settings, local


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
