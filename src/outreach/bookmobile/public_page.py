"""What the public bookmobile page of a library shows: its running public routes, their
public stops and each stop's next visits, read in a fixed number of queries.

The page used to read three rows per route and run one query per stop; under 50
concurrent clients its queries queued behind each other on the one SQLite connection (or
the PostgreSQL pool). Now it is six queries whatever the size of the timetable (the
sixth: the coming runs cancelled, which the schedule in words names), and the web layer
keeps the rendered page, per language, until the data version changes or the first visit
it shows ends (:attr:`Timetable.changes_at`), whichever comes first.

A stop's own page (:func:`stop_timetable`) shows more of its visits and the schedule of its
route.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outreach import publicity
from outreach.db import instant
from outreach.models import (
    Event,
    EventStatus,
    Library,
    Occurrence,
    OccurrenceOverride,
    Route,
    Stop,
    Vehicle,
)
from outreach.scheduling.payload import MAX_DURATION
from outreach.scheduling.recurrence import to_local, zone
from outreach.sql import dialect, fetch_rows

NEXT_VISITS = 3
# A stop's own page lists this many of its coming visits.
STOP_PAGE_VISITS = 10

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
    # Local days of the coming runs cancelled (a holiday, a breakdown), soonest first.
    cancelled: list[dt.date]


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
    cancelled = await cancelled_runs(library, [route.event_id for route in routes], now=now)  # type: ignore[attr-defined]
    shown: list[RouteTimetable] = []
    ends: list[dt.datetime] = []
    for route in routes:
        stops = []
        for stop in stops_of[route.id]:
            coming = visits.get(stop.id, [])
            ends += [visit.ends_at for visit in coming]
            stops.append(StopTimetable(stop, coming))
        shown.append(
            RouteTimetable(
                route, route.event, route.vehicle, stops, cancelled.get(route.event.id, [])
            )
        )
    return Timetable(shown, min(ends, default=None))


async def cancelled_runs(
    library: Library, event_ids: list[int], *, now: dt.datetime
) -> dict[int, list[dt.date]]:
    """The local days of each route event's coming cancelled runs, in one query.

    A run is cancelled by cancelling its visits (``cancel_run``): an override per stop,
    all on one local day, so the days are what a patron is told."""
    if not event_ids:
        return {}
    tz = zone(library.timezone)
    today = to_local(now, tz).date()
    found: dict[int, set[dt.date]] = {}
    # A day before ``now`` in UTC is before the start of today in any zone.
    for event_id, start in await OccurrenceOverride.filter(
        event_id__in=event_ids, cancelled=True, original_start__gte=now - dt.timedelta(days=1)
    ).values_list("event_id", "original_start"):
        day = to_local(instant(start), tz).date()
        if day >= today:
            found.setdefault(int(event_id), set()).add(day)
    return {event_id: sorted(days) for event_id, days in found.items()}


@dataclass(frozen=True)
class StopPage:
    """A public stop, its route and the route's schedule, and its coming visits."""

    stop: Stop
    route: Route
    event: Event
    vehicle: Vehicle
    visits: list[Visit]
    cancelled: list[dt.date]


async def stop_timetable(
    library: Library, stop_id: int, *, now: dt.datetime | None = None
) -> StopPage | None:
    """A public stop of one of the library's running public routes, or None."""
    now = now or dt.datetime.now(dt.UTC)
    stop = await Stop.get_or_none(
        publicity.stops(),
        id=stop_id,
        route__library_id=library.id,
        route__event__status=EventStatus.PUBLISHED,
    ).prefetch_related("route__event", "route__vehicle")
    if stop is None:
        return None
    route = stop.route
    rows = (
        await Occurrence.filter(stop_id=stop.id, starts_at__gt=now - MAX_DURATION, ends_at__gt=now)
        .order_by("starts_at", "id")
        .limit(STOP_PAGE_VISITS)
        .values_list("starts_at", "ends_at", "cancelled")
    )
    visits = [Visit(instant(start), instant(end), bool(off)) for start, end, off in rows]
    cancelled = await cancelled_runs(library, [route.event.id], now=now)
    return StopPage(
        stop, route, route.event, route.vehicle, visits, cancelled.get(route.event.id, [])
    )


async def has_bookmobile(library: Library) -> bool:
    """Whether the library runs a public bookmobile route (its pages link the bookmobile)."""
    return await Route.filter(
        publicity.routes(), library_id=library.id, event__status=EventStatus.PUBLISHED
    ).exists()
