"""Independent readers agree with the service on every occurrence, as UTC instants.

The feeds are parsed by ``recurring-ical-events`` (Python) and by Mozilla's ``ical.js``
(Thunderbird's parser, run with Node.js), and what they expand must equal the
materialised ``occurrence`` table for the same filter: across both 2026 daylight-saving
changes in Ljubljana and Helsinki, moved and cancelled occurrences, and all-day events.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import recurring_ical_events
from tortoise.expressions import Q

from outreach.feeds.selection import Window, today
from outreach.models import Event, EventStatus, Occurrence, Visibility
from tests.feeds.conftest import HELSINKI, LJUBLJANA, Programme, feeds_settings, local

UTC = dt.UTC
JS_DIR = Path(__file__).parent / "js"
Instance = tuple[str, dt.datetime, dt.datetime]

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


def _uid(event_id: int, stop_id: int | None) -> str:
    stop = f"-stop-{stop_id}" if stop_id is not None else ""
    return f"outreach-event-{event_id}{stop}@outreach.example.org"


async def service_instances(
    libraries: tuple[str, ...], extra: Q | None, window: Window
) -> set[Instance]:
    """What the service materialised: public, published, not cancelled, in the window."""
    query = Occurrence.filter(
        library__slug__in=libraries,
        cancelled=False,
        starts_at__lt=window.end,
        ends_at__gt=window.start,
        event__status=EventStatus.PUBLISHED,
        event__visibility=Visibility.PUBLIC,
    ).filter(Q(stop_id=None) | Q(stop__visibility=Visibility.PUBLIC))
    if extra is not None:
        query = query.filter(extra)
    rows = await query.values_list("event_id", "stop_id", "starts_at", "ends_at")
    return {(_uid(e, s), start.astimezone(UTC), end.astimezone(UTC)) for e, s, start, end in rows}


async def api_instances(
    client: httpx.AsyncClient,
    libraries: tuple[str, ...],
    query: dict[str, str],
    window: Window,
    private_stops: set[int],
) -> set[Instance]:
    """What ``GET /api/occurrences`` lists for the same filter, not cancelled.

    The API has no network or language filter and answers at most 366 days at a time,
    so a network is asked library by library and the window in slices.
    """
    found: set[Instance] = set()
    filters = {k: v for k, v in query.items() if k != "lang"}
    for library in libraries:
        start = window.start
        while start < window.end:
            end = min(start + dt.timedelta(days=366), window.end)
            offset = 0
            while True:
                params = {
                    **filters,
                    "library": library,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "offset": str(offset),
                }
                response = await client.get("/api/occurrences", params=params)
                assert response.status_code == 200, response.text
                page = response.json()
                for item in page["occurrences"]:
                    # The API lists visits to private bookmobile stops to anyone (reported
                    # to the scheduling engineer); feeds never show them.
                    if item["cancelled"] or item["stop"] in private_stops:
                        continue
                    found.add(
                        (
                            _uid(item["event"], item["stop"]),
                            dt.datetime.fromisoformat(item["start"]).astimezone(UTC),
                            dt.datetime.fromisoformat(item["end"]).astimezone(UTC),
                        )
                    )
                offset += len(page["occurrences"])
                if page["next"] is None:
                    break
            start = end
    return found


async def zones() -> dict[str, ZoneInfo]:
    """The zone of every series, to place all-day dates on the time line."""
    found: dict[str, ZoneInfo] = {}
    for event_id, name in await Event.all().values_list("id", "timezone"):
        found[f"outreach-event-{event_id}"] = ZoneInfo(name)
    return found


def _instant(value: dt.date | dt.datetime | str, uid: str, tzs: dict[str, ZoneInfo]) -> dt.datetime:
    if isinstance(value, str):
        if len(value) == 10:
            value = dt.date.fromisoformat(value)
        else:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time in {uid}"
        return value.astimezone(UTC)
    tz = tzs[re.sub(r"(-stop-\d+)?@.*$", "", uid)]
    return dt.datetime.combine(value, dt.time(), tzinfo=tz).astimezone(UTC)


def _overlapping(found: list[Instance], window: Window) -> set[Instance]:
    kept = {i for i in found if i[1] < window.end and i[2] > window.start}
    assert len(kept) == len([i for i in found if i[1] < window.end and i[2] > window.start])
    return kept


def python_reader(body: bytes, window: Window, tzs: dict[str, ZoneInfo]) -> set[Instance]:
    calendar = icalendar.Calendar.from_ical(body)
    found: list[Instance] = []
    for component in recurring_ical_events.of(calendar).between(window.start, window.end):
        if str(component.get("STATUS", "")) == "CANCELLED":
            continue
        uid = str(component["UID"])
        start = _instant(component["DTSTART"].dt, uid, tzs)
        end = _instant(component["DTEND"].dt, uid, tzs)
        found.append((uid, start, end))
    return _overlapping(found, window)


def node_reader(body: bytes, window: Window, tzs: dict[str, ZoneInfo]) -> set[Instance]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the ical.js reader cannot run")
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        pytest.skip(f"ical.js is not installed: run `npm ci --prefix {JS_DIR}`")
    # Instances moved into the window may have started out after its end.
    until = (window.end + dt.timedelta(days=366)).isoformat()
    result = subprocess.run(
        [node, str(JS_DIR / "expand.mjs"), until],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    found: list[Instance] = []
    for item in json.loads(result.stdout):
        if item["status"] == "CANCELLED":
            continue
        uid = item["uid"]
        found.append((uid, _instant(item["start"], uid, tzs), _instant(item["end"], uid, tzs)))
    return _overlapping(found, window)


@pytest.mark.parametrize(("path", "query", "libraries", "extra"), CASES)
async def test_readers_agree_with_the_service(
    programme: Programme,
    feeds_client: httpx.AsyncClient,
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
    assert python_reader(response.content, window, tzs) == expected
    assert node_reader(response.content, window, tzs) == expected


async def test_daylight_saving_changes_of_2026(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    """The exact instants both readers compute around the spring gap and autumn overlap."""
    window = Window.for_day(feeds_settings(), today())
    body = (await feeds_client.get("/feeds/networks/alpe-adria.ics")).content
    tzs = await zones()
    storytime = _uid(programme.events["storytime"].id, None)
    spring = _uid(programme.events["night_spring"].id, None)
    autumn = _uid(programme.events["night_autumn"].id, None)
    for reader in (python_reader, node_reader):
        found = reader(body, window, tzs)
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
