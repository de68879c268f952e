"""What the public bookmobile page of a library shows: its running public routes, their
public stops and each stop's next visits, read in a fixed number of queries.

The page used to read three rows per route and run one query per stop; under 50
concurrent clients its queries queued behind each other on the one SQLite connection (or
the PostgreSQL pool). Now it is five queries whatever the size of the timetable, and the
web layer keeps the rendered page until the data version changes or the first visit it
shows ends (:attr:`Timetable.changes_at`), whichever comes first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outreach import publicity
from outreach.db import instant
from outreach.models import Event, EventStatus, Library, Route, Stop, Vehicle
from outreach.scheduling.payload import MAX_DURATION
from outreach.sql import dialect, fetch_rows

NEXT_VISITS = 3

# Each stop's next visits: those not over yet, soonest first. A visit that is not over
# started at most MAX_DURATION ago, which bounds each stop's index range (stop_id,
# starts_at) from below, and the LIMIT ends it at the last visit shown. PostgreSQL runs
# the per-stop query as a LATERAL join (its plan for the IN form below scanned every
# occurrence once per stop: 57 s for 1,000 stops); SQLite, which has no LATERAL, runs the
# correlated IN form as the same index range per stop.
_COMING = """
        WHERE n.stop_id = s.id AND n.starts_at > :earliest AND n.ends_at > :now
        ORDER BY n.starts_at, n.id
        LIMIT :visits
"""
_NEXT_VISITS = {
    "postgres": f"""
    SELECT s.id, o.starts_at, o.ends_at, o.cancelled
    FROM route r
    JOIN stop s ON s.route_id = r.id
    CROSS JOIN LATERAL (
        SELECT n.id, n.starts_at, n.ends_at, n.cancelled FROM occurrence n {_COMING}
    ) o
    WHERE r.library_id = :library
    ORDER BY s.id, o.starts_at, o.id
""",
    "sqlite": f"""
    SELECT o.stop_id, o.starts_at, o.ends_at, o.cancelled
    FROM route r
    JOIN stop s ON s.route_id = r.id
    JOIN occurrence o ON o.id IN (SELECT n.id FROM occurrence n {_COMING})
    WHERE r.library_id = :library
    ORDER BY o.stop_id, o.starts_at, o.id
""",
}


@dataclass(frozen=True)
class Visit:
    """One coming visit of a stop (UTC instants); a cancelled one is shown struck out."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    cancelled: bool


@dataclass(frozen=True)
class StopTimetable:
    stop: Stop
    visits: list[Visit]


@dataclass(frozen=True)
class RouteTimetable:
    route: Route
    event: Event
    vehicle: Vehicle
    stops: list[StopTimetable]


@dataclass(frozen=True)
class Timetable:
    """The page's content, and the instant it stops being true by itself: when the first
    visit shown ends (then another is next). ``None``: only a change of data changes it."""

    routes: list[RouteTimetable]
    changes_at: dt.datetime | None


async def next_visits(
    library: Library, *, now: dt.datetime, limit: int = NEXT_VISITS
) -> dict[int, list[Visit]]:
    """The next ``limit`` visits of every stop of the library's routes, in one query."""
    rows = await fetch_rows(
        _NEXT_VISITS[dialect()],
        {
            "library": library.id,
            "now": now,
            "earliest": now - MAX_DURATION,
            "visits": limit,
        },
    )
    found: dict[int, list[Visit]] = {}
    for stop_id, starts_at, ends_at, cancelled in rows:
        found.setdefault(int(stop_id), []).append(
            Visit(instant(starts_at), instant(ends_at), bool(cancelled))
        )
    return found


async def public_timetable(library: Library, *, now: dt.datetime | None = None) -> Timetable:
    """The running public routes of ``library`` (cancelled ones are left off: nothing of
    them is coming), by code, with their public stops in order and their next visits."""
    now = now or dt.datetime.now(dt.UTC)
    routes = (
        await Route.filter(
            publicity.routes(), library_id=library.id, event__status=EventStatus.PUBLISHED
        )
        .order_by("code")
        .prefetch_related("event", "vehicle")
    )
    stops_of: dict[int, list[Stop]] = {route.id: [] for route in routes}
    if routes:
        for stop in await Stop.filter(publicity.stops(), route_id__in=list(stops_of)).order_by(
            "route_id", "position"
        ):
            stops_of[stop.route_id].append(stop)  # type: ignore[attr-defined]
    visits = await next_visits(library, now=now) if routes else {}
    shown: list[RouteTimetable] = []
    ends: list[dt.datetime] = []
    for route in routes:
        stops = []
        for stop in stops_of[route.id]:
            coming = visits.get(stop.id, [])
            ends += [visit.ends_at for visit in coming]
            stops.append(StopTimetable(stop, coming))
        shown.append(RouteTimetable(route, route.event, route.vehicle, stops))
    return Timetable(shown, min(ends, default=None))
