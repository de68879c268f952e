"""Materialised occurrences: rules, exdates, overrides, all-day spans and bookmobile stops."""

from __future__ import annotations

import datetime as dt

from outreach.models import EventKind, EventStatus, Fuel, Occurrence, OccurrenceOverride, Vehicle
from outreach.models.bookmobile import Route, Stop
from outreach.scheduling.occurrences import extend_horizon, rebuild_occurrences

from .conftest import World, make_event


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


async def rows(
    event_id: int,
) -> list[tuple[dt.datetime, dt.datetime, dt.datetime, bool, int | None]]:
    return [
        (o.original_start, o.starts_at, o.ends_at, o.cancelled, o.room_id)  # type: ignore[attr-defined]
        for o in await Occurrence.filter(event_id=event_id).order_by("original_start")
    ]


async def test_weekly_series_with_exdate_and_overrides(world: World) -> None:
    # Tuesdays 17:00-18:00 in Ljubljana from 6 October 2026, across the autumn change.
    event = await make_event(
        world.ljubljana,
        starts_at=utc(2026, 10, 6, 15),
        ends_at=utc(2026, 10, 6, 16),
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=["2026-10-13T17:00:00"],
        branch=world.branch,
        room=world.room,
    )
    now = dt.datetime.now(dt.UTC)
    # 20 October moves to 18:00 in the hall; 3 November is cancelled.
    await OccurrenceOverride.create(
        event=event,
        original_start=utc(2026, 10, 20, 15),
        starts_at=utc(2026, 10, 20, 16),
        ends_at=utc(2026, 10, 20, 17),
        room=world.hall,
        updated_at=now,
    )
    await OccurrenceOverride.create(
        event=event, original_start=utc(2026, 11, 3, 16), cancelled=True, updated_at=now
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 1, 1)) == 4
    assert await rows(event.id) == [
        (utc(2026, 10, 6, 15), utc(2026, 10, 6, 15), utc(2026, 10, 6, 16), False, world.room.id),
        (utc(2026, 10, 20, 15), utc(2026, 10, 20, 16), utc(2026, 10, 20, 17), False, world.hall.id),
        # After 25 October 17:00 CET is 16:00 UTC.
        (utc(2026, 10, 27, 16), utc(2026, 10, 27, 16), utc(2026, 10, 27, 17), False, world.room.id),
        (utc(2026, 11, 3, 16), utc(2026, 11, 3, 16), utc(2026, 11, 3, 17), True, world.room.id),
    ]
    occurrence = await Occurrence.get(event_id=event.id, original_start=utc(2026, 10, 20, 15))
    assert occurrence.library_id == world.ljubljana.id  # type: ignore[attr-defined]
    assert occurrence.branch_id == world.branch.id  # type: ignore[attr-defined]


async def test_rebuild_replaces_previous_rows(world: World) -> None:
    event = await make_event(
        world.ljubljana,
        starts_at=utc(2026, 12, 1, 9),
        ends_at=utc(2026, 12, 1, 10),
        rrule="FREQ=DAILY;COUNT=3",
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 1, 1)) == 3
    event.rrule = "FREQ=DAILY;COUNT=2"
    await event.save()
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 1, 1)) == 2
    assert await Occurrence.filter(event_id=event.id).count() == 2


async def test_open_ended_rule_stops_at_the_horizon(world: World) -> None:
    event = await make_event(
        world.helsinki,
        starts_at=utc(2026, 12, 1, 8),
        ends_at=utc(2026, 12, 1, 9),
        rrule="FREQ=WEEKLY",
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2026, 12, 29, 8)) == 5


async def test_default_horizon_is_about_three_years(world: World) -> None:
    # A day of the month every month has: a monthly rule on the 29th to 31st skips the
    # months without that day (RFC 5545), which would make the count depend on today.
    tomorrow = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    start = tomorrow.replace(day=min(tomorrow.day, 28))
    event = await make_event(
        world.ljubljana,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        rrule="FREQ=MONTHLY",
    )
    # 3 × 366 days from now: 36 monthly instances, give or take the one at the edge.
    assert await rebuild_occurrences(event) in (36, 37)


async def test_all_day_exhibition_runs_weeks_across_dst(world: World) -> None:
    # 20 October to 15 November 2026 inclusive: local midnight to local midnight.
    event = await make_event(
        world.ljubljana,
        kind=EventKind.EXHIBITION,
        all_day=True,
        starts_at=utc(2026, 10, 19, 22),
        ends_at=utc(2026, 11, 15, 23),
        branch=world.branch,
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 6, 1)) == 1
    assert await rows(event.id) == [
        (utc(2026, 10, 19, 22), utc(2026, 10, 19, 22), utc(2026, 11, 15, 23), False, None)
    ]


async def test_all_day_recurring_expands_on_dates(world: World) -> None:
    # A two-day book sale every first Saturday, in Helsinki (midnight is 22:00 UTC in winter).
    event = await make_event(
        world.helsinki,
        all_day=True,
        starts_at=utc(2027, 2, 5, 22),
        ends_at=utc(2027, 2, 7, 22),
        rrule="FREQ=MONTHLY;BYDAY=1SA;COUNT=3",
        exdates=["2027-03-06"],
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2028, 1, 1)) == 2
    assert await rows(event.id) == [
        (utc(2027, 2, 5, 22), utc(2027, 2, 5, 22), utc(2027, 2, 7, 22), False, None),
        # 3 April is after the spring change: midnight EEST is 21:00 UTC.
        (utc(2027, 4, 2, 21), utc(2027, 4, 2, 21), utc(2027, 4, 4, 21), False, None),
    ]


async def test_cancelled_event_keeps_its_occurrences_cancelled(world: World) -> None:
    event = await make_event(
        world.ljubljana,
        starts_at=utc(2026, 12, 1, 9),
        ends_at=utc(2026, 12, 1, 10),
        rrule="FREQ=DAILY;COUNT=2",
        status=EventStatus.CANCELLED,
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 1, 1)) == 2
    assert [r[3] for r in await rows(event.id)] == [True, True]


async def test_bookmobile_route_has_one_occurrence_per_run_and_stop(world: World) -> None:
    vehicle = await Vehicle.create(
        library=world.helsinki,
        slug="kirjastoauto",
        name="Kirjastoauto",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.9,
        emission_factor_source="test",
    )
    # Every other Tuesday from 6 October 2026; the route is valid from 13 October to 3 November.
    event = await make_event(
        world.helsinki,
        kind=EventKind.BOOKMOBILE,
        starts_at=utc(2026, 10, 6, 6),
        ends_at=utc(2026, 10, 6, 14),
        rrule="FREQ=WEEKLY;INTERVAL=2",
        branch=None,
    )
    route = await Route.create(
        library=world.helsinki,
        vehicle=vehicle,
        depot=await world.branch,
        event=event,
        code="R1",
        name="Route 1",
        valid_from=dt.date(2026, 10, 13),
        valid_until=dt.date(2026, 11, 3),
    )
    first = await Stop.create(
        route=route,
        position=1,
        name="Koulu",
        lat=66.5,
        lon=25.7,
        arrival=dt.time(9, 30),
        minutes_parked=20,
    )
    second = await Stop.create(
        route=route,
        position=2,
        name="Kylä",
        lat=66.6,
        lon=25.8,
        arrival=dt.time(10, 15),
        minutes_parked=45,
    )
    assert await rebuild_occurrences(event, horizon_end=utc(2027, 1, 1)) == 4
    visits = await Occurrence.filter(event_id=event.id).order_by("starts_at")
    assert [(v.starts_at, v.ends_at, v.stop_id, v.vehicle_id) for v in visits] == [  # type: ignore[attr-defined]
        # 20 October (EEST, +3) and 3 November (EET, +2): 09:30 local both times.
        (utc(2026, 10, 20, 6, 30), utc(2026, 10, 20, 6, 50), first.id, vehicle.id),
        (utc(2026, 10, 20, 7, 15), utc(2026, 10, 20, 8, 0), second.id, vehicle.id),
        (utc(2026, 11, 3, 7, 30), utc(2026, 11, 3, 7, 50), first.id, vehicle.id),
        (utc(2026, 11, 3, 8, 15), utc(2026, 11, 3, 9, 0), second.id, vehicle.id),
    ]
    assert [v.original_start for v in visits] == [v.starts_at for v in visits]


async def test_extend_horizon_rebuilds_open_series(world: World) -> None:
    open_ended = await make_event(
        world.ljubljana,
        starts_at=utc(2026, 12, 1, 9),
        ends_at=utc(2026, 12, 1, 10),
        rrule="FREQ=WEEKLY",
    )
    cancelled = await make_event(
        world.ljubljana,
        starts_at=utc(2026, 12, 2, 9),
        ends_at=utc(2026, 12, 2, 10),
        rrule="FREQ=WEEKLY",
        status=EventStatus.CANCELLED,
    )
    for event in (open_ended, cancelled):
        await rebuild_occurrences(event, horizon_end=utc(2026, 12, 31))
    assert await extend_horizon(utc(2027, 1, 31)) == 1
    assert await Occurrence.filter(event_id=open_ended.id).count() == 9
    assert await Occurrence.filter(event_id=cancelled.id).count() == 5
