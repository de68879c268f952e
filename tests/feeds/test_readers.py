"""Independent readers agree with the service on every occurrence, as UTC instants.

The feeds are parsed by the four readers of :mod:`tests.feeds.readers`
(``recurring-ical-events``, Mozilla's ``ical.js``, a naive ``dateutil`` client and
libical), and what each expands must equal the materialised ``occurrence`` table for
the same filter: across both 2026 daylight-saving changes in Ljubljana and Helsinki,
moved and cancelled occurrences, and all-day events.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from tortoise.expressions import Q

from outreach.feeds.selection import Window, today
from tests.feeds.conftest import HELSINKI, LJUBLJANA, Programme, feeds_settings, local
from tests.feeds.readers import (
    READERS,
    api_instances,
    libical_problems,
    service_instances,
    uid_of,
    zones,
)

UTC = dt.UTC

# (path, query, libraries whose occurrences the feed covers, extra occurrence filter)
CASES: list[tuple[str, dict[str, str], tuple[str, ...], Q | None]] = [
    ("/feeds/ljubljana.ics", {}, ("ljubljana",), None),
    ("/feeds/helsinki.ics", {"lang": "sv"}, ("helsinki",), None),
    ("/feeds/skopje.ics", {}, ("skopje",), None),
    ("/feeds/networks/alpe-adria.ics", {}, ("ljubljana", "helsinki", "skopje"), None),
    ("/feeds/ljubljana.ics", {"goal": "A1"}, ("ljubljana",), Q(event__tags__goal__code="A1")),
    (
        "/feeds/ljubljana.ics",
        {"audience": "0-5", "lang": "en"},
        ("ljubljana",),
        Q(event__audiences__audience="0-5"),
    ),
    (
        "/feeds/networks/alpe-adria.ics",
        {"kind": "reading"},
        ("ljubljana", "helsinki", "skopje"),
        Q(event__kind="reading"),
    ),
]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(("path", "query", "libraries", "extra"), CASES)
async def test_readers_agree_with_the_service(
    programme: Programme,
    feeds_client: httpx.AsyncClient,
    reader: str,
    path: str,
    query: dict[str, str],
    libraries: tuple[str, ...],
    extra: Q | None,
) -> None:
    window = Window.for_day(feeds_settings(), today())
    response = await feeds_client.get(path, params=query)
    assert response.status_code == 200
    expected = await service_instances(libraries, extra, window)
    tzs = await zones()
    assert expected, "a case that expects nothing proves nothing"
    private = {programme.private_stop.id}
    assert await api_instances(feeds_client, libraries, query, window, private) == expected
    assert READERS[reader](response.content, window, tzs) == expected


FEEDS = sorted({(path, tuple(query.items())) for path, query, _, _ in CASES})


@pytest.mark.parametrize(
    ("path", "query"), FEEDS, ids=[f"{p}?{'&'.join('='.join(q) for q in qs)}" for p, qs in FEEDS]
)
async def test_libical_accepts_the_feeds(
    programme: Programme,
    feeds_client: httpx.AsyncClient,
    path: str,
    query: tuple[tuple[str, str], ...],
) -> None:
    """No X-LIC-ERROR from libical's parser or its restriction check (Evolution, KDE)."""
    response = await feeds_client.get(path, params=dict(query))
    assert response.status_code == 200
    assert libical_problems(response.content) == []


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_daylight_saving_changes_of_2026(
    programme: Programme, feeds_client: httpx.AsyncClient, reader: str
) -> None:
    """The exact instants every reader computes around the spring gap and autumn overlap."""
    window = Window.for_day(feeds_settings(), today())
    body = (await feeds_client.get("/feeds/networks/alpe-adria.ics")).content
    tzs = await zones()
    storytime = uid_of(programme.events["storytime"].id)
    spring = uid_of(programme.events["night_spring"].id)
    autumn = uid_of(programme.events["night_autumn"].id)
    found = READERS[reader](body, window, tzs)
    starts = {
        uid: sorted(s for u, s, _ in found if u == uid) for uid in (storytime, spring, autumn)
    }
    # 10:00 stays 10:00 in Ljubljana on both sides of 29 March and 25 October.
    assert starts[storytime][2:5] == [
        local(LJUBLJANA, 2026, 3, 17, 10),
        local(LJUBLJANA, 2026, 3, 24, 10),
        local(LJUBLJANA, 2026, 4, 1, 16),  # the moved one (its original: 31 March)
    ]
    assert local(LJUBLJANA, 2026, 3, 24, 10) == dt.datetime(2026, 3, 24, 9, tzinfo=UTC)
    assert local(LJUBLJANA, 2026, 4, 14, 10) == dt.datetime(2026, 4, 14, 8, tzinfo=UTC)
    assert local(LJUBLJANA, 2026, 4, 14, 10) in starts[storytime]
    assert local(LJUBLJANA, 2026, 4, 7, 10) not in starts[storytime]  # exdate
    assert dt.datetime(2026, 10, 20, 8, tzinfo=UTC) in starts[storytime]
    assert dt.datetime(2026, 10, 27, 9, tzinfo=UTC) not in starts[storytime]  # cancelled
    assert dt.datetime(2026, 11, 3, 9, tzinfo=UTC) in starts[storytime]
    # Helsinki: 03:30 on 29 March does not exist; it is read with the offset before
    # the gap (RFC 5545), i.e. 04:30 EEST. 03:30 on 25 October happens twice: the first.
    assert starts[spring] == [
        dt.datetime(2026, 3, 27, 1, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]
    assert starts[autumn] == [
        dt.datetime(2026, 10, 18, 0, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 1, 30, tzinfo=UTC),
    ]
    assert local(HELSINKI, 2026, 3, 29, 3, 30) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
