"""Materialising an event's occurrences: rule, exdates, overrides and bookmobile stops.

The rule stays the source of truth; the ``occurrence`` table is rebuilt from it whenever
an event changes, so that conflict checks, feeds and reports are indexed range queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach import settings as settings_module
from outreach.models import (
    Event,
    EventStatus,
    Occurrence,
    OccurrenceOverride,
    Room,
)
from outreach.models.bookmobile import Route, Stop
from outreach.progress import Progress, silent
from outreach.scheduling.recurrence import (
    UTC,
    Rule,
    RuleError,
    local_starts,
    parse_local,
    parse_rule,
    to_local,
    to_utc,
    zone,
)
from outreach.sql import is_postgres
from outreach.versions import bump_data_version


def default_horizon_end(now: dt.datetime | None = None) -> dt.datetime:
    """Now plus the configured occurrence horizon (``OUTREACH_HORIZON_DAYS``)."""
    days = settings_module.load().occurrence_horizon_days
    return (now or dt.datetime.now(UTC)) + dt.timedelta(days=days)


@dataclass(frozen=True)
class Instance:
    """One instance of a rule before overrides: its original start and end in UTC."""

    original_start: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime
    local_start: dt.datetime


def _excluded(exdates: Iterable[str]) -> tuple[set[dt.datetime], set[dt.date]]:
    """Exact local starts to skip, and whole local days (an exdate given as a bare date)."""
    exact: set[dt.datetime] = set()
    days: set[dt.date] = set()
    for raw in exdates:
        try:
            local = parse_local(raw)
        except RuleError:
            continue  # validated on write; an unreadable legacy value must not stop a rebuild
        if len(raw) == 10:
            days.add(local.date())
        else:
            exact.add(local)
    return exact, days


def event_rule(event: Event) -> tuple[ZoneInfo, Rule | None]:
    """The event's zone and parsed rule."""
    tz = zone(event.timezone)
    rule = parse_rule(event.rrule, tz=tz, all_day=event.all_day) if event.rrule else None
    return tz, rule


def expand(event: Event, *, horizon_end: dt.datetime) -> list[Instance]:
    """The instances of an event up to ``horizon_end`` (UTC), exdates applied."""
    tz, rule = event_rule(event)
    start_local = to_local(event.starts_at, tz)
    exact, days = _excluded(event.exdates or [])
    instances: list[Instance] = []
    if event.all_day:
        # All-day events expand on dates: each instance runs from local midnight of its
        # first day to local midnight after its last, whatever DST does in between.
        first_day = start_local.date()
        span_days = max(1, (to_local(event.ends_at, tz).date() - first_day).days)
        midnight = dt.datetime.combine(first_day, dt.time())
        for local in local_starts(midnight, rule, tz, until_local=to_local(horizon_end, tz)):
            if local in exact or local.date() in days:
                continue
            start = to_utc(local, tz)
            end = to_utc(local + dt.timedelta(days=span_days), tz)
            instances.append(Instance(start, start, end, local))
        return instances
    # RFC 5545: with DTEND every instance lasts the same exact duration.
    duration = event.ends_at - event.starts_at
    for local in local_starts(start_local, rule, tz, until_local=to_local(horizon_end, tz)):
        if local in exact or local.date() in days:
            continue
        start = to_utc(local, tz)
        instances.append(Instance(start, start, start + duration, local))
    return instances


def _stop_visits(
    instances: list[Instance], route: Route, stops: list[Stop], tz: ZoneInfo
) -> list[tuple[Instance, Stop]]:
    """One visit per (run, stop): each run's local date at each stop's arrival time."""
    visits: list[tuple[Instance, Stop]] = []
    for run in instances:
        day = run.local_start.date()
        if day < route.valid_from or (route.valid_until is not None and day > route.valid_until):
            continue
        for stop in stops:
            local = dt.datetime.combine(day, stop.arrival.replace(tzinfo=None))
            start = to_utc(local, tz)
            end = start + dt.timedelta(minutes=stop.minutes_parked)
            visits.append((Instance(start, start, end, local), stop))
    return visits


# One occurrence row, in the order of OCCURRENCE_COLUMNS.
OccurrenceRow = tuple[
    int,  # event_id
    int,  # library_id
    dt.datetime,  # original_start
    dt.datetime,  # starts_at
    dt.datetime,  # ends_at
    bool,  # cancelled
    int | None,  # branch_id
    int | None,  # room_id
    int | None,  # vehicle_id
    int | None,  # stop_id
]
OCCURRENCE_COLUMNS = (
    "event_id",
    "library_id",
    "original_start",
    "starts_at",
    "ends_at",
    "cancelled",
    "branch_id",
    "room_id",
    "vehicle_id",
    "stop_id",
)


@dataclass(frozen=True)
class Materialised:
    """What an event's occurrences are made of, read from the database or already in hand
    (an import that has just written a route knows its stops and overrides)."""

    event: Event
    route: Route | None
    stops: list[Stop]
    overrides: list[OccurrenceOverride]
    room_branch: dict[int, int]


def occurrence_rows(source: Materialised, *, horizon_end: dt.datetime) -> list[OccurrenceRow]:
    """The occurrence rows of one event up to ``horizon_end``: its rule expanded, a route's
    runs spread over its stops, overrides applied. Pure: nothing is read or written."""
    event = source.event
    instances = expand(event, horizon_end=horizon_end)
    planned: list[tuple[Instance, Stop | None]]
    vehicle_id: int | None = None
    if source.route is not None:
        planned = list(_stop_visits(instances, source.route, source.stops, zone(event.timezone)))
        vehicle_id = source.route.vehicle_id  # type: ignore[attr-defined]
    else:
        planned = [(instance, None) for instance in instances]
    overrides = {o.original_start.astimezone(UTC): o for o in source.overrides}
    event_cancelled = event.status == EventStatus.CANCELLED
    event_id: int = event.id
    library_id: int = event.library_id  # type: ignore[attr-defined]
    event_room: int | None = event.room_id  # type: ignore[attr-defined]
    event_branch: int | None = event.branch_id  # type: ignore[attr-defined]
    rows: list[OccurrenceRow] = []
    for instance, stop in planned:
        starts_at, ends_at = instance.starts_at, instance.ends_at
        room_id, branch_id = event_room, event_branch
        cancelled = event_cancelled
        override = overrides.get(instance.original_start) if overrides else None
        if override is not None:
            cancelled = cancelled or override.cancelled
            if override.starts_at is not None and override.ends_at is not None:
                starts_at, ends_at = override.starts_at, override.ends_at
            if override.room_id is not None:  # type: ignore[attr-defined]
                room_id = override.room_id  # type: ignore[attr-defined]
                branch_id = source.room_branch.get(room_id, branch_id)
        rows.append(
            (
                event_id,
                library_id,
                instance.original_start,
                starts_at,
                ends_at,
                cancelled,
                branch_id,
                room_id,
                vehicle_id,
                stop.id if stop is not None else None,
            )
        )
    return rows


async def load_materialised(event: Event, using_db: BaseDBAsyncClient | None) -> Materialised:
    """An event's route, stops, overrides and the branches of rooms its overrides name."""
    route = await Route.filter(event_id=event.id).using_db(using_db).first()
    stops: list[Stop] = []
    if route is not None:
        stops = await Stop.filter(route_id=route.id).using_db(using_db).order_by("position")
    overrides = await OccurrenceOverride.filter(event_id=event.id).using_db(using_db)
    override_rooms = {o.room_id for o in overrides if o.room_id is not None}  # type: ignore[attr-defined]
    room_branch: dict[int, int] = {}
    if override_rooms:
        for room in await Room.filter(id__in=override_rooms).using_db(using_db):
            room_branch[room.id] = room.branch_id  # type: ignore[attr-defined]
    return Materialised(event, route, stops, list(overrides), room_branch)


def _sqlite_instant(value: dt.datetime) -> str:
    # Tortoise's spelling of an instant on SQLite (UTC, a space before the time), which
    # the raw range queries of conflicts, feeds and reports compare as text.
    return value.astimezone(UTC).isoformat(sep=" ")


INSERT_CHUNK = 20_000


async def insert_occurrences(
    rows: Sequence[OccurrenceRow],
    using_db: BaseDBAsyncClient | None,
    *,
    progress: Progress = silent,
) -> None:
    """Write occurrence rows in a few statements, without building a model per row.

    A timetable of thousands of stops materialises hundreds of thousands of visits; as
    Tortoise models their construction and conversion alone took most of a 25 s import.
    PostgreSQL gets them by COPY, SQLite by one prepared INSERT run for every row, in
    chunks so that a long write can report how far it is. Call in a transaction.
    """
    if not rows:
        return
    conn = using_db or connections.get("default")
    postgres = is_postgres(conn)
    placeholders = ", ".join("?" * len(OCCURRENCE_COLUMNS))
    insert = f"INSERT INTO occurrence ({', '.join(OCCURRENCE_COLUMNS)}) VALUES ({placeholders})"
    texts: dict[dt.datetime, str] = {}

    def text(value: dt.datetime) -> str:
        found = texts.get(value)
        if found is None:
            found = texts[value] = _sqlite_instant(value)
        return found

    async with conn.acquire_connection() as raw:
        for first in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[first : first + INSERT_CHUNK]
            if postgres:
                await raw.copy_records_to_table(
                    "occurrence", records=chunk, columns=list(OCCURRENCE_COLUMNS)
                )
            else:
                await raw.executemany(
                    insert,
                    [
                        (e, lib, text(o), text(s), text(end), int(c), b, r, v, st)
                        for e, lib, o, s, end, c, b, r, v, st in chunk
                    ],
                )
            progress("writing visits", first + len(chunk), len(rows))


async def rebuild_occurrences(
    event: Event,
    *,
    using_db: BaseDBAsyncClient | None = None,
    horizon_end: dt.datetime | None = None,
) -> int:
    """Delete and re-materialise the occurrences of one event; return how many rows exist.

    Overrides (keyed by original start in UTC) move, re-room or cancel single
    occurrences; a cancelled event keeps its occurrences, all cancelled. For a bookmobile
    route's event every run yields one occurrence per stop, at the stop's local arrival
    time for its minutes parked, with ``stop`` and ``vehicle`` set; the route's
    ``valid_from``/``valid_until`` bound the runs.
    """
    horizon = horizon_end or default_horizon_end()
    if using_db is None:
        # The old rows and the new are swapped in one transaction, whoever calls.
        async with in_transaction("default") as conn:
            return await rebuild_occurrences(event, using_db=conn, horizon_end=horizon)
    rows = occurrence_rows(await load_materialised(event, using_db), horizon_end=horizon)
    await Occurrence.filter(event_id=event.id).using_db(using_db).delete()
    await insert_occurrences(rows, using_db)
    return len(rows)


async def extend_horizon(
    horizon_end: dt.datetime | None = None, *, progress: Progress = silent
) -> int:
    """Rebuild every recurring event up to the horizon (run it daily, e.g. from cron).

    Each event is rebuilt in its own transaction, so the table is never locked for long.
    Returns the number of events rebuilt.
    """
    horizon = horizon_end or default_horizon_end()
    rebuilt = 0
    events = await Event.filter(rrule__isnull=False).exclude(status=EventStatus.CANCELLED)
    for event in events:
        async with in_transaction("default") as conn:
            await rebuild_occurrences(event, using_db=conn, horizon_end=horizon)
        rebuilt += 1
        progress("rebuilding events", rebuilt, len(events))
    if rebuilt:
        await bump_data_version()
    return rebuilt
