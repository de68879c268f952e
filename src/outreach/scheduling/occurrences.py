"""Materialising an event's occurrences: rule, exdates, overrides and bookmobile stops.

The rule stays the source of truth; the ``occurrence`` table is rebuilt from it whenever
an event changes, so that conflict checks, feeds and reports are indexed range queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

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
    instances = expand(event, horizon_end=horizon)
    route = await Route.filter(event_id=event.id).using_db(using_db).first()
    planned: list[tuple[Instance, Stop | None]]
    vehicle_id: int | None = None
    if route is not None:
        stops = await Stop.filter(route_id=route.id).using_db(using_db).order_by("position")
        planned = list(_stop_visits(instances, route, stops, zone(event.timezone)))
        vehicle_id = route.vehicle_id  # type: ignore[attr-defined]
    else:
        planned = [(instance, None) for instance in instances]

    overrides = {
        o.original_start.astimezone(UTC): o
        for o in await OccurrenceOverride.filter(event_id=event.id).using_db(using_db)
    }
    override_rooms = {o.room_id for o in overrides.values() if o.room_id is not None}  # type: ignore[attr-defined]
    room_branch: dict[int, int] = {}
    if override_rooms:
        for room in await Room.filter(id__in=override_rooms).using_db(using_db):
            room_branch[room.id] = room.branch_id  # type: ignore[attr-defined]

    event_cancelled = event.status == EventStatus.CANCELLED
    rows: list[Occurrence] = []
    for instance, stop in planned:
        starts_at, ends_at = instance.starts_at, instance.ends_at
        room_id: int | None = event.room_id  # type: ignore[attr-defined]
        branch_id: int | None = event.branch_id  # type: ignore[attr-defined]
        cancelled = event_cancelled
        override = overrides.get(instance.original_start)
        if override is not None:
            cancelled = cancelled or override.cancelled
            if override.starts_at is not None and override.ends_at is not None:
                starts_at, ends_at = override.starts_at, override.ends_at
            if override.room_id is not None:  # type: ignore[attr-defined]
                room_id = override.room_id  # type: ignore[attr-defined]
                branch_id = room_branch.get(room_id, branch_id)
        rows.append(
            Occurrence(
                event_id=event.id,
                library_id=event.library_id,  # type: ignore[attr-defined]
                original_start=instance.original_start,
                starts_at=starts_at,
                ends_at=ends_at,
                cancelled=cancelled,
                branch_id=branch_id,
                room_id=room_id,
                vehicle_id=vehicle_id,
                stop_id=stop.id if stop is not None else None,
            )
        )
    await Occurrence.filter(event_id=event.id).using_db(using_db).delete()
    if rows:
        await Occurrence.bulk_create(rows, batch_size=500, using_db=using_db)
    return len(rows)


async def extend_horizon(horizon_end: dt.datetime | None = None) -> int:
    """Rebuild every recurring event up to the horizon (run it daily, e.g. from cron).

    Each event is rebuilt in its own transaction, so the table is never locked for long.
    Returns the number of events rebuilt.
    """
    horizon = horizon_end or default_horizon_end()
    rebuilt = 0
    for event in await Event.filter(rrule__isnull=False).exclude(status=EventStatus.CANCELLED):
        async with in_transaction("default") as conn:
            await rebuild_occurrences(event, using_db=conn, horizon_end=horizon)
        rebuilt += 1
    if rebuilt:
        await bump_data_version()
    return rebuilt
