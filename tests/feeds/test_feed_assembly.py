"""Feeds assembled from cached VEVENT bytes are the feeds icalendar writes in one piece,
byte for byte, before and after edits; an edit writes only the series it changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from starlette.applications import Starlette

from outreach.feeds.build import build_feed, vevents
from outreach.feeds.filters import library_scope, network_scope, parse_filter
from outreach.feeds.selection import made, today
from outreach.models import (
    Audience,
    Branch,
    EventAudience,
    EventLanguage,
    Goal,
    Room,
    StrategyValue,
)
from outreach.scheduling import service
from tests.feeds.conftest import BASE_URL, LJUBLJANA, build_programme, feeds_settings, local

QUERIES: list[dict[str, list[str]]] = [
    {},
    {"lang": ["en"]},
    {"goal": ["A1"]},
    {"kind": ["storytime"]},
    {"audience": ["0-5"], "lang": ["sl"]},
]


async def _both(db: str) -> list[tuple[bytes, bytes]]:
    """(assembled, written in one piece) for the library's feeds and the network's."""
    settings = feeds_settings(database_url=db)
    day = today()
    found = []
    scopes = [await library_scope("ljubljana"), await library_scope("helsinki")]
    scopes.append(await network_scope("alpe-adria"))
    for scope in scopes:
        for params in QUERIES if scope.slug == "ljubljana" else [{}]:
            filt = await parse_filter(scope, params)
            assembled = await build_feed(scope, filt, settings, day=day)
            fresh = await build_feed(scope, filt, settings, day=day, fresh=True)
            found.append((assembled, fresh))
    return found


def _well_formed(body: bytes) -> None:
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    assert all(b"\n" not in line and len(line) <= 75 for line in lines)
    assert body.count(b"BEGIN:VEVENT") == body.count(b"END:VEVENT")


async def test_assembled_feeds_are_the_fresh_ones_across_edits(db: str) -> None:
    programme = await build_programme()
    vevents.clear()
    for assembled, fresh in await _both(db):
        assert assembled == fresh
        _well_formed(assembled)
    # Every series is now cached: the same feeds again write nothing.
    written = vevents.written
    for assembled, fresh in await _both(db):
        assert assembled == fresh
    assert vevents.written == written

    storytime = programme.events["storytime"].id
    await service.update_event(
        storytime,
        {"title": {"sl": "Pravljična ura ob čaju", "en": "Storytime, with tea"}},
        user=None,
    )
    await service.change_occurrence(
        storytime, local(LJUBLJANA, 2026, 3, 24, 10), {"note": "Danes v veliki dvorani"}, user=None
    )
    before = vevents.written
    pairs = await _both(db)
    for assembled, fresh in pairs:
        assert assembled == fresh
        _well_formed(assembled)
    assert any("Pravljična ura ob čaju".encode() in a for a, _ in pairs)
    # Only the edited series is written anew, once in each language it is asked in: the
    # feeds' default (no lang), lang=en and lang=sl; everything else is copied.
    assert vevents.written - before == 3


async def test_a_new_filter_of_known_series_writes_nothing(db: str, feeds_app: Starlette) -> None:
    await build_programme()
    vevents.clear()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=feeds_app), base_url=BASE_URL
    ) as client:
        full = await client.get("/feeds/ljubljana.ics")
        assert full.status_code == 200
        written = vevents.written
        assert written > 0
        narrow = await client.get("/feeds/ljubljana.ics?kind=storytime")
        assert narrow.status_code == 200
        assert vevents.written == written
        scope = await library_scope("ljubljana")
        filt = await parse_filter(scope, {"kind": ["storytime"]})
        fresh = await build_feed(
            scope, filt, feeds_settings(database_url=feeds_app.state.settings.database_url),
            day=today(), fresh=True,
        )  # fmt: skip
        assert narrow.content == fresh


async def test_demo_feeds_assembled_are_the_fresh_ones(demo_rw: str) -> None:
    """Macedonian, Slovenian and Finnish text, folded across multi-byte characters."""
    settings = feeds_settings(database_url=demo_rw)
    vevents.clear()
    folded = 0
    for slug in ("skopje", "maribor", "kranj", "rovaniemi"):
        scope = await library_scope(slug)
        for params in ({}, {"lang": ["en"]}):
            filt = await parse_filter(scope, params)
            assembled = await build_feed(scope, filt, settings, day=today())
            assert assembled == await build_feed(scope, filt, settings, day=today(), fresh=True)
            _well_formed(assembled)
            folded += assembled.count(b"\r\n ")
    assert folded > 0


async def test_series_kept_by_their_rows_follow_every_renamed_thing(db: str) -> None:
    """A process keeps each event's series by the rows they are made from
    (``feeds.selection.made``): a branch, room, goal or value renamed, or an audience or
    language added, without the event's own row changing, still reaches the feed, which
    is then the very feed a process that kept nothing writes."""
    programme = await build_programme()
    settings = feeds_settings(database_url=db)
    scope = await library_scope("ljubljana")
    filt = await parse_filter(scope, {})
    await build_feed(scope, filt, settings, day=today())  # every series kept
    storytime = programme.events["storytime"]
    changes: list[tuple[Callable[[], Awaitable[object]], bytes | None]] = [
        (
            lambda: Branch.filter(id=programme.branch.id).update(
                name="Knjižnica Otona Župančiča (Center)"
            ),
            "Knjižnica Otona Župančiča (Center)".encode(),
        ),
        (
            lambda: Room.filter(id=programme.room.id).update(name="Velika pravljična soba"),
            "Velika pravljična soba".encode(),
        ),
        (
            lambda: Goal.filter(id=programme.goal.id).update(
                name={"sl": "Bralna pismenost za vse"}
            ),
            b"Bralna pismenost za vse",
        ),
        (
            lambda: StrategyValue.filter(id=programme.value.id).update(
                name={"sl": "Ustvarjalnost zdaj"}
            ),
            b"Ustvarjalnost zdaj",
        ),
        (lambda: EventAudience.create(event=storytime, audience=Audience.SENIORS), None),
    ]
    # An event's languages only select it (``language=`` filters): the feed stays the same.
    languages = EventLanguage.create
    before = await build_feed(scope, filt, settings, day=today())
    for change, expected in changes:
        await change()
        kept = await build_feed(scope, filt, settings, day=today())
        made.clear()
        vevents.clear()
        assert kept == await build_feed(scope, filt, settings, day=today())
        assert kept != before, change
        if expected is not None:
            assert expected in kept
            assert expected not in before
        before = kept
    await languages(event=storytime, language="it")
    assert await build_feed(scope, filt, settings, day=today()) == before
    made.clear()
    assert await build_feed(scope, filt, settings, day=today()) == before
