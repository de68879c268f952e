"""Generated programmes around every daylight-saving change of 2026–2028: every reader
reads the feed as ``GET /api/occurrences`` lists it, to the second.

Each example builds a programme through the API (POST /api/events, PATCH of single
occurrences) in Europe/Ljubljana, Europe/Skopje and Europe/Helsinki, fetches the network
feed once and reads it once with each of the four readers of :mod:`tests.feeds.readers`.
The series start before a change and run across it: clock times around the skipped or
repeated hour, starts or ends inside it, daily, weekly and monthly rules (the last Sunday,
when the EU changes, and the last Friday), COUNT and UNTIL; some have the change's
occurrence, or the one after it, moved, re-roomed or cancelled. All-day and multi-day
events span the changes. A failure lists, per reader, what it read differently (local
times and UTC) and what libical rejects in the feed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.feeds.selection import Window, today
from outreach.models import AuditEntry, Event, Network, RoleName, Room
from tests.factories import make_branch, make_library, make_token_user
from tests.feeds.conftest import BASE_URL, feeds_settings
from tests.feeds.readers import (
    JS_DIR,
    READERS,
    Reader,
    api_instances,
    disagreements,
    libical,
    libical_problems,
    uid_of,
    zones,
)

UTC = dt.UTC
LIBRARIES = {
    "Europe/Ljubljana": "ljubljana",
    "Europe/Skopje": "skopje",
    "Europe/Helsinki": "helsinki",
}
YEARS = (2026, 2027, 2028)
# The feed window read: from the start of 2026 to past the last instance generated here
# (the last change is in October 2028; monthly series run at most three months on).
WINDOW_END = dt.datetime(2029, 7, 1, tzinfo=UTC)
ROOMS = 6  # one per event of a programme, so that re-rooming never conflicts


@dataclass(frozen=True)
class Transition:
    """A daylight-saving change: its instant, and the local hour skipped or repeated."""

    zone: str
    at: dt.datetime  # UTC
    spring: bool
    hour: dt.datetime  # naive local wall-clock time at which the gap or overlap begins

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def __repr__(self) -> str:
        return f"Transition({self.zone}, {self.at:%Y-%m-%d %H:%MZ})"


def _transitions(zone: str, year: int) -> list[Transition]:
    """The zone's offset changes in ``year``, found hour by hour (not from our code)."""
    tz = ZoneInfo(zone)
    found: list[Transition] = []
    moment = dt.datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + dt.timedelta(hours=1)
        before, after = moment.astimezone(tz).utcoffset(), following.astimezone(tz).utcoffset()
        assert before is not None
        assert after is not None
        if before != after:
            hour = (following + min(before, after)).replace(tzinfo=None)
            found.append(Transition(zone, following, after > before, hour))
        moment = following
    assert [t.spring for t in found] == [True, False], (zone, year, found)
    return found


TRANSITIONS = [t for zone in LIBRARIES for year in YEARS for t in _transitions(zone, year)]


def test_the_transitions_are_the_eu_changes() -> None:
    """The last Sundays of March and October at 01:00 UTC, 18 of them."""
    assert len(TRANSITIONS) == 18
    for t in TRANSITIONS:
        assert (t.at.hour, t.at.weekday()) == (1, 6)
        assert t.at.month in (3, 10)
        assert t.at.day + 7 > calendar.monthrange(t.at.year, t.at.month)[1]
        assert t.hour.hour == (3 if t.zone == "Europe/Helsinki" else 2)


@dataclass(frozen=True)
class Change:
    """A change to one occurrence, named by its position in the series (0: the first)."""

    index: int
    action: Literal["move", "room", "cancel"]
    start: dt.datetime | None = None  # local wall-clock times, for a move
    end: dt.datetime | None = None


@dataclass(frozen=True)
class Spec:
    """One event as the API is asked for it: local times (dates for all-day events, the
    last day inclusive) in ``zone``."""

    zone: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    rrule: str | None = None
    change: Change | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)

    def body(self) -> dict[str, Any]:
        return {
            "library": LIBRARIES[self.zone],
            "kind": "reading",
            "title": {"en": "Reading night"},
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": self.all_day,
            "rrule": self.rrule,
            "status": "published",
        }


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _month(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def wall(text: str) -> dt.datetime:
    """A naive local wall-clock time, as the API takes it: ``wall("2027-03-28T02:30")``."""
    return dt.datetime.fromisoformat(text)


def _utc(local: dt.datetime, zone: str) -> dt.datetime:
    """RFC 5545's instant of a local time: the offset before a gap, the first of an overlap."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _real(local: dt.datetime, zone: str) -> dt.datetime:
    """A local time that exists: one in the spring gap (which the API refuses, 422) moves
    to the wall-clock time of the same instant, just after the gap."""
    return _utc(local, zone).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


quarter_hours = st.integers(min_value=-16, max_value=12).map(lambda q: dt.timedelta(minutes=15 * q))
durations = st.integers(min_value=1, max_value=16).map(lambda q: dt.timedelta(minutes=15 * q))


@st.composite
def series(draw: st.DrawFn) -> Spec:
    """A timed series whose instance on the change's day (the anchor) starts near the
    skipped or repeated hour, starting one to three instances before it."""
    t = draw(st.sampled_from(TRANSITIONS))
    rule = draw(st.sampled_from(["DAILY", "WEEKLY", "WEEKLY;BYDAY", "-1SU", "-1FR"]))
    duration = draw(durations)
    before = draw(st.integers(min_value=1, max_value=3))
    after = draw(st.integers(min_value=0, max_value=3))
    if rule in ("-1SU", "-1FR"):
        weekday = 6 if rule == "-1SU" else 4
        # On the Sunday itself (a monthly last-Sunday rule cannot move to the Saturday).
        offset = draw(
            st.integers(min_value=-4 * t.hour.hour, max_value=12).map(
                lambda q: dt.timedelta(minutes=15 * q)
            )
        )
        clock = (t.hour + offset).time()

        def nth(months: int) -> dt.datetime:
            year, month = _month(t.hour.date(), months)
            return dt.datetime.combine(_last_weekday(year, month, weekday), clock)

        starts = [nth(n) for n in range(-before, after + 1)]
        text = f"FREQ=MONTHLY;BYDAY=-1{rule[-2:]}"
    else:
        anchor = t.hour + draw(quarter_hours)
        step = dt.timedelta(days=1 if rule == "DAILY" else 7)
        starts = [anchor + n * step for n in range(-before, after + 1)]
        text = f"FREQ={rule.split(';')[0]}"
        if rule.endswith("BYDAY"):
            text += ";BYDAY=" + ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[anchor.weekday()]
    first, last = starts[0], starts[-1]
    bound = draw(st.sampled_from(["count", "until-date", "until-exact", "until-later"]))
    if bound == "count":
        text += f";COUNT={before + 1 + after}"
    elif bound == "until-date":
        text += f";UNTIL={last:%Y%m%d}"
    else:
        until = _utc(last, t.zone) + dt.timedelta(hours=0 if bound == "until-exact" else 5)
        text += f";UNTIL={until:%Y%m%dT%H%M%SZ}"
    change = None
    if draw(st.booleans()):
        index = before + draw(st.integers(min_value=0, max_value=min(after, 1)))
        action = draw(st.sampled_from(["move", "room", "cancel"]))
        if action == "move":
            # To 11:00 on the change's day, or near its hour on that day or the next.
            moved = draw(
                st.one_of(
                    st.just(dt.datetime.combine(t.hour.date(), dt.time(11))),
                    st.builds(
                        lambda days, offset: t.hour + dt.timedelta(days=days) + offset,
                        st.integers(min_value=0, max_value=1),
                        quarter_hours,
                    ),
                )
            )
            moved, length = _real(moved, t.zone), draw(durations)
            taken = {(_utc(x, t.zone), _utc(x, t.zone) + duration) for x in starts}

            def instants(start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
                # As the API takes the move: two local wall-clock times, the end after
                # ``length`` on the wall clock (a move across the change lasts an hour
                # more or less than ``length``).
                return _utc(start, t.zone), _utc(_real(start + length, t.zone), t.zone)

            if instants(moved) in taken:
                # Onto another instance's very instants: two occurrences that a comparison
                # of sets of (uid, start, end) would count as one, and that the readers
                # report as one instance read twice.
                moved = _real(moved + dt.timedelta(minutes=15), t.zone)
            assert instants(moved) not in taken
            change = Change(index, "move", moved, _real(moved + length, t.zone))
        else:
            change = Change(index, "room" if action == "room" else "cancel")
    return Spec(t.zone, first, first + duration, text, change)


@st.composite
def all_day(draw: st.DrawFn) -> Spec:
    """Days spanning a change, once or weekly, the change's instance maybe cancelled."""
    t = draw(st.sampled_from(TRANSITIONS))
    first = t.hour.date() - dt.timedelta(days=draw(st.integers(min_value=0, max_value=3)))
    last = t.hour.date() + dt.timedelta(days=draw(st.integers(min_value=0, max_value=2)))
    weeks = draw(st.integers(min_value=0, max_value=2))
    if not weeks:
        return Spec(t.zone, first, last)
    # The series starts a week or two before the days across the change.
    start = first - dt.timedelta(weeks=weeks)
    change = Change(weeks, "cancel") if draw(st.booleans()) else None
    return Spec(
        t.zone,
        start,
        start + (last - first),
        f"FREQ=WEEKLY;COUNT={weeks + 1 + draw(st.integers(min_value=0, max_value=1))}",
        change,
    )


@st.composite
def multi_day(draw: st.DrawFn) -> Spec:
    """A timed event over several days whose start or end is near the change's hour."""
    t = draw(st.sampled_from(TRANSITIONS))
    start = t.hour - dt.timedelta(days=draw(st.integers(min_value=1, max_value=2)))
    start += draw(quarter_hours)
    end = t.hour + dt.timedelta(days=draw(st.integers(min_value=0, max_value=1)))
    end = _real(end + draw(quarter_hours), t.zone)
    rule = draw(st.sampled_from([None, "FREQ=WEEKLY;COUNT=2"]))
    return Spec(t.zone, start, end, rule)


programmes = st.lists(
    st.one_of(series(), series(), series(), all_day(), multi_day()), min_size=2, max_size=5
)

SKOPJE_WEEKLY = Spec(
    "Europe/Skopje",
    wall("2027-03-14T02:30"),
    wall("2027-03-14T03:30"),
    "FREQ=WEEKLY;COUNT=4",
)
REPORTED = {
    # The tester's cases: weekly 02:30 in Skopje, 28 March 2027 moved to 11:00 or cancelled.
    "skopje-moved": [
        replace(
            SKOPJE_WEEKLY,
            change=Change(2, "move", wall("2027-03-28T11:00"), wall("2027-03-28T12:00")),
        )
    ],
    "skopje-cancelled": [replace(SKOPJE_WEEKLY, change=Change(2, "cancel"))],
    # Weekly 02:30–03:30 in Helsinki: the end falls in the repeated hour (03:00–04:00) on
    # 25 October 2026 and 31 October 2027.
    "helsinki-overlap": [
        Spec(
            "Europe/Helsinki",
            wall("2026-10-18T02:30"),
            wall("2026-10-18T03:30"),
            "FREQ=WEEKLY;UNTIL=20271107",
        )
    ],
    # A start in the gap, and the day after it, which libical moves as well (daily), and
    # the weekly and monthly forms of the same.
    "gap-and-after": [
        Spec(
            "Europe/Ljubljana",
            wall("2027-03-27T02:30"),
            wall("2027-03-27T03:15"),
            "FREQ=DAILY;COUNT=4",
        ),
        Spec(
            "Europe/Helsinki",
            wall("2028-03-12T03:30"),
            wall("2028-03-12T04:30"),
            "FREQ=WEEKLY;COUNT=4",
        ),
        Spec(
            "Europe/Skopje",
            wall("2028-01-30T02:00"),
            wall("2028-01-30T02:45"),
            "FREQ=MONTHLY;BYDAY=-1SU;COUNT=4",
        ),
    ],
    # Found by this test (December 2026). Weekly over two days whose first instance spans
    # the spring change: the master says DURATION:PT24H, which libical adds to the wall
    # clock (23 hours that day) and applies to every later instance, an hour short.
    # libical meets 02:00 on 28 March while finding the last Friday of March, and reads
    # that month's and the next month's instances an hour late; one instance is moved
    # across the change.
    "last-friday": [
        Spec(
            "Europe/Ljubljana",
            wall("2027-01-29T02:00"),
            wall("2027-01-29T02:15"),
            "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270430T050000Z",
            Change(3, "move", wall("2027-03-27T22:15"), wall("2027-03-28T01:00")),
        )
    ],
    # Daily 00:45–03:30 in Ljubljana, so the spring-forward day's instance ends after
    # the change (pinned with an override): that instance moved to a longer slot on its
    # own day, or the next day's instance moved onto the change's day across the gap, a
    # quarter of an hour after the pinned one. (The generator once moved it onto the pinned
    # instance's very instants, 00:45–04:30, which a set of instants counts once: a defect
    # of this test, not of the feed.)
    "daily-moved-on-the-change": [
        Spec(
            "Europe/Ljubljana",
            wall("2028-03-24T00:45"),
            wall("2028-03-24T03:30"),
            "FREQ=DAILY;UNTIL=20280329T034500Z",
            Change(2, "move", wall("2028-03-26T00:45"), wall("2028-03-26T05:30")),
        ),
        Spec(
            "Europe/Ljubljana",
            wall("2028-03-25T00:45"),
            wall("2028-03-25T03:30"),
            "FREQ=DAILY;UNTIL=20280328T224500Z",
            Change(2, "move", wall("2028-03-26T01:00"), wall("2028-03-26T04:45")),
        ),
    ],
    "multi-day-weekly": [
        Spec(
            "Europe/Ljubljana",
            wall("2026-03-28T03:15"),
            wall("2026-03-29T04:15"),
            "FREQ=WEEKLY;COUNT=2",
        )
    ],
}


class Setup:
    """The three libraries' rooms, an editor's token and a client, for all examples."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        window: Window,
        auth: dict[str, str],
        rooms: dict[str, list[int]],
    ) -> None:
        self.client = client
        self.window = window
        self.auth = auth
        self.rooms = rooms  # library slug → room ids

    def __repr__(self) -> str:
        # Hypothesis prints the arguments of a failing example: the programme is what counts.
        return f"Setup(window={self.window.start:%Y-%m-%d}..{self.window.end:%Y-%m-%d})"


@pytest.fixture
def dst_app(db: str) -> Starlette:
    days_ahead = max((WINDOW_END.date() - today()).days, 1)
    return create_app(
        feeds_settings(database_url=db, feed_days_ahead=days_ahead), manage_database=False
    )


@pytest_asyncio.fixture
async def setup(db: str, dst_app: Starlette) -> AsyncIterator[Setup]:
    network = await Network.create(slug="dst", name={"en": "DST"}, default_language="en")
    libraries = []
    rooms: dict[str, list[int]] = {}
    for zone, slug in LIBRARIES.items():
        library = await make_library(slug, timezone=zone, language="en", network=network)
        branch = await make_branch(library, "main", opening_hours={})
        rooms[slug] = [
            (await Room.create(branch=branch, slug=f"r{i}", name=f"Room {i}", capacity=10)).id
            for i in range(ROOMS)
        ]
        libraries.append(library)
    token = await make_token_user("editor@dst.example", [(RoleName.EDITOR, x) for x in libraries])
    transport = httpx.ASGITransport(app=dst_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        window = Window.for_day(dst_app.state.settings, today())
        assert window.start <= dt.datetime(2026, 1, 1, tzinfo=UTC)
        assert window.end >= WINDOW_END
        yield Setup(client, window, {"Authorization": f"Bearer {token}"}, rooms)


def available_readers() -> dict[str, Reader]:
    """The readers installed here; a missing one is reported as a skip by the tests of
    test_reader_calibration.py, which prove each reader on a calendar known by heart."""
    found = dict(READERS)
    if shutil.which("node") is None or not (JS_DIR / "node_modules" / "ical.js").is_dir():
        del found["ical.js"]
    if libical() is None:
        del found["libical"]
    return found


async def _occurrence_starts(setup: Setup, event_id: int, spec: Spec) -> list[str]:
    """The event's original starts in UTC, as the API lists them, in order."""
    library = LIBRARIES[spec.zone]
    first = (
        spec.start
        if isinstance(spec.start, dt.datetime)
        else dt.datetime.combine(spec.start, dt.time())
    )
    start = _utc(first, spec.zone) - dt.timedelta(days=1)
    found: list[str] = []
    offset = 0
    while True:
        response = await setup.client.get(
            "/api/occurrences",
            params={
                "library": library,
                "from": start.isoformat(),
                "to": (start + dt.timedelta(days=366)).isoformat(),
                "offset": str(offset),
            },
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found += [o["original_start"] for o in page["occurrences"] if o["event"] == event_id]
        offset += len(page["occurrences"])
        if page["next"] is None:
            return sorted(found)


async def build(setup: Setup, programme: list[Spec]) -> dict[str, Spec]:
    """Create the programme through the API; the specs by the uid of their series."""
    await Event.all().delete()  # the database cascades to occurrences and overrides
    await AuditEntry.all().delete()
    made: dict[str, Spec] = {}
    for position, spec in enumerate(programme):
        response = await setup.client.post("/api/events", json=spec.body(), headers=setup.auth)
        assert response.status_code == 201, (spec, response.text)
        event_id = response.json()["id"]
        made[uid_of(event_id)] = spec
        if spec.change is None:
            continue
        originals = await _occurrence_starts(setup, event_id, spec)
        assert len(originals) > spec.change.index, (spec, originals)
        body: dict[str, Any]
        if spec.change.action == "cancel":
            body = {"cancelled": True}
        elif spec.change.action == "room":
            body = {"room": setup.rooms[LIBRARIES[spec.zone]][position]}
        else:
            assert spec.change.start is not None
            assert spec.change.end is not None
            body = {"start": spec.change.start.isoformat(), "end": spec.change.end.isoformat()}
        response = await setup.client.patch(
            f"/api/events/{event_id}/occurrences/{originals[spec.change.index]}",
            json=body,
            headers=setup.auth,
        )
        assert response.status_code == 200, (spec, body, response.text)
    return made


def report(made: dict[str, Spec], failures: dict[str, list[str]], problems: list[str]) -> str:
    lines = ["The readers do not read the feed as GET /api/occurrences lists it."]
    for uid, spec in made.items():
        lines.append(f"  {uid}: {spec}")
    for name, found in failures.items():
        lines.append(f"{name}:")
        lines += found
    if problems:
        lines.append("libical rejects the feed:")
        lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # An example costs 0.2–0.3 s (a programme, a feed, four readers): shrinking a failure
    # would take minutes, and the report already names every instance read wrong.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(programme=programmes)
@example(programme=REPORTED["skopje-moved"])
@example(programme=REPORTED["skopje-cancelled"])
@example(programme=REPORTED["helsinki-overlap"])
@example(programme=REPORTED["gap-and-after"])
@example(programme=REPORTED["multi-day-weekly"])
@example(programme=REPORTED["last-friday"])
@example(programme=REPORTED["daily-moved-on-the-change"])
async def test_readers_agree_with_the_api_across_the_changes(
    setup: Setup, programme: list[Spec]
) -> None:
    made = await build(setup, programme)
    response = await setup.client.get("/feeds/networks/dst.ics")
    assert response.status_code == 200
    expected = await api_instances(setup.client, tuple(LIBRARIES.values()), {}, setup.window, set())
    assert {uid for uid, _, _ in expected} == set(made), "every event has an occurrence"
    tzs = await zones()
    failures: dict[str, list[str]] = {}
    for name, reader in available_readers().items():
        try:
            found = reader(response.content, setup.window, tzs)
        except AssertionError as exc:
            # Two overrides of one instance, an instance read twice: said, and the other
            # readers still heard.
            failures[name] = [f"  cannot read the feed: {exc}".split("\n")[0]]
            continue
        if found != expected:
            failures[name] = disagreements(expected, found, tzs)
    problems = libical_problems(response.content) if libical() is not None else []
    assert (failures, problems) == ({}, []), report(made, failures, problems)
