"""Routes and their ordered stops: validation, saving, and the checks a timetable must pass.

A route is scheduled by the rule of the bookmobile event it owns: the event starts at the
first stop's arrival on the first day and ends when the last stop's visit ends; each run
then materialises one occurrence per stop (``rebuild_occurrences``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dateutil.rrule import rrulestr
from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach import i18n
from outreach.bookmobile.distance import haversine_km
from outreach.bookmobile.schemas import RouteFields, StopIn, StopsIn
from outreach.db import instant
from outreach.errors import Code, Invalid
from outreach.i18n import gettext as _
from outreach.models import (
    AuditEntry,
    Branch,
    Event,
    EventKind,
    EventStatus,
    Library,
    Occurrence,
    OccurrenceOverride,
    Route,
    StaffUser,
    Stop,
    Vehicle,
    Visibility,
)
from outreach.progress import Progress, silent
from outreach.scheduling import approval, review, service
from outreach.scheduling.conflicts import VEHICLE, lock_resources
from outreach.scheduling.occurrences import (
    Materialised,
    OccurrenceRow,
    default_horizon_end,
    expand,
    insert_occurrences,
    occurrence_rows,
    rebuild_occurrences,
)
from outreach.scheduling.recurrence import RuleError, parse_rule, to_local, to_utc, zone
from outreach.schemas import MAX_ID, text_problem, validate
from outreach.versions import bump_data_version

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")
M = TypeVar("M", bound=BaseModel)


# What is wrong with a timetable beyond a field's own value, as a form recognises it: a
# form matches these codes, never a message's words (which are in the reader's language).
Problem = Code


@dataclass(frozen=True)
class Found:
    """One problem: its code, its words in the reader's language, and the values a form
    that words it its own way needs (a stop's name, times as ``HH:MM``)."""

    code: Problem
    message: str
    values: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class TimetableError(Exception):
    """Input that cannot be saved, with the fields at fault (``{"stops[2].lat": "..."}``):
    ``fields`` holds each one's words, ``found`` the problems that carry a code."""

    def __init__(self, problems: Mapping[str, str | Found]) -> None:
        fields = {name: str(problem) for name, problem in problems.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.problems: dict[str, str | Found] = dict(problems)
        self.found = {name: p for name, p in problems.items() if isinstance(p, Found)}


class VehicleBusy(TimetableError):
    """A double booking: the vehicle is on another route then (a conflict, like a room or
    a staff member booked twice, not invalid input). ``conflicts`` says where it is."""

    def __init__(
        self, problems: Mapping[str, str | Found], conflicts: list[dict[str, Any]]
    ) -> None:
        super().__init__(problems)
        self.conflicts = conflicts


class ApprovalNeeded(TimetableError):
    """An editor's change to a published route where the library's directors approve every
    change: refused (a conflict with the library's rule, not invalid input), because a
    route's change rewrites its stops and every visit, which an approval request of event
    fields cannot hold; a director makes the change, or the editor asks one to."""


def check_change_allowed(library: Library, event: Event, *, approver: bool) -> None:
    """Refuse a non-approver's change to a published route where every change waits."""
    if not approver and approval.holds_changes(library, event.status):
        raise ApprovalNeeded(
            {
                "approval": Found(
                    Problem.APPROVAL_NEEDED,
                    _(
                        "In this library a director makes or approves every change to a"
                        " published route: ask a director to make this change."
                    ),
                )
            }
        )


@dataclass(frozen=True)
class StopInput:
    """A validated stop, in route order."""

    name: str
    lat: float
    lon: float
    arrival: dt.time
    minutes_parked: int
    community: str = ""
    address: str = ""
    postcode: str = ""
    visibility: Visibility = Visibility.PUBLIC
    # The stop this input updates, so that its id (and its feed's address) survive.
    id: int | None = None

    @property
    def departure(self) -> dt.time:
        return minutes_to_time(time_to_minutes(self.arrival) + self.minutes_parked)


@dataclass(frozen=True)
class RouteInput:
    """A validated route with its stops (vehicle and depot already resolved)."""

    code: str
    name: str
    vehicle: Vehicle
    depot: Branch
    rrule: str
    valid_from: dt.date
    valid_until: dt.date | None
    detour_factor: float
    stops: list[StopInput]
    # Local dates without a visit, per stop index (exceptions of the open data format).
    stop_exceptions: dict[int, list[dt.date]] = field(default_factory=dict)


def time_to_minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def minutes_to_time(minutes: int) -> dt.time:
    """A time of day; 24:00 (a visit ending at midnight) is read as 23:59."""
    minutes = min(minutes, 24 * 60 - 1)
    return dt.time(minutes // 60, minutes % 60)


def parse_time(raw: object) -> dt.time:
    """``HH:MM`` (or ``HH:MM:00``) as a time, else ValueError with a message."""
    if not isinstance(raw, str) or not (match := _TIME.match(raw.strip())):
        raise ValueError(_("must be a time of day such as %(example)s", example="09:45"))
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_date(raw: object) -> dt.date:
    if isinstance(raw, str) and len(raw.strip()) == 10:
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ValueError(_("must be a date such as %(example)s", example="2026-01-13"))


def check_stop_order(stops: Sequence[StopInput]) -> list[tuple[int, str, Found]]:
    """(stop index, field, problem) for visits that overlap the next one or run past
    midnight."""
    problems: list[tuple[int, str, Found]] = []
    for i, stop in enumerate(stops):
        end = time_to_minutes(stop.arrival) + stop.minutes_parked
        if end > 24 * 60:
            problems.append(
                (
                    i,
                    "minutes_parked",
                    Found(Problem.PAST_MIDNIGHT, _("the visit must end by midnight")),
                )
            )
        if i + 1 < len(stops):
            nxt = stops[i + 1]
            if end > time_to_minutes(nxt.arrival):
                values = {
                    "arrival": f"{nxt.arrival:%H:%M}",
                    "stop": stop.name,
                    "end": f"{minutes_to_time(end):%H:%M}",
                }
                message = _(
                    "arrives at %(arrival)s, before the visit to %(stop)s ends at %(end)s",
                    **values,
                )
                problems.append((i + 1, "arrival", Found(Problem.OVERLAP, message, values)))
    return problems


def _order_errors(stops: Sequence[StopInput]) -> dict[str, str | Found]:
    return {f"stops[{i}].{name}": problem for i, name, problem in check_stop_order(stops)}


def driving_warnings(
    stops: Sequence[StopInput], *, speed_kmh: float, detour_factor: float
) -> list[str]:
    """Stops reached sooner than the vehicle could drive there (a warning, not an error).

    Real timetables sometimes leave no driving time at all between neighbouring stops.
    """
    warnings: list[str] = []
    for a, b in itertools.pairwise(stops):
        km = detour_factor * haversine_km((a.lat, a.lon), (b.lat, b.lon))
        needed = km / speed_kmh * 60
        available = time_to_minutes(b.arrival) - time_to_minutes(a.arrival) - a.minutes_parked
        if needed > available + 0.5:
            warnings.append(
                _(
                    "%(from)s → %(to)s: %(km)s km need about %(needed)s min at %(speed)s km/h,"
                    " the timetable leaves %(available)s min",
                    **{
                        "from": a.name,
                        "to": b.name,
                        "km": i18n.format_decimal(km, "0.0"),
                        "needed": i18n.format_number(math.ceil(needed)),
                        "speed": i18n.format_decimal(speed_kmh, "0.##"),
                        "available": i18n.format_number(available),
                    },
                )
            )
    return warnings


async def resolve_vehicle(library: Library, raw: object, using_db: Any = None) -> Vehicle:
    """The vehicle named by id or slug, refused if it belongs to another library."""
    return await _library_row(
        Vehicle,
        library,
        raw,
        using_db,
        required=_("is required (a vehicle id or slug)"),
        wrong=_("must be a vehicle id or slug"),
        unknown=_("no such vehicle"),
    )


async def resolve_depot(library: Library, raw: object, using_db: Any = None) -> Branch:
    """The depot branch named by id or slug, refused if it belongs to another library."""
    return await _library_row(
        Branch,
        library,
        raw,
        using_db,
        required=_("is required (a branch id or slug)"),
        wrong=_("must be a branch id or slug"),
        unknown=_("no such branch"),
    )


Owned = TypeVar("Owned", Vehicle, Branch)


async def _library_row(
    model: type[Owned],
    library: Library,
    raw: object,
    using_db: Any,
    *,
    required: str,
    wrong: str,
    unknown: str,
) -> Owned:
    """The ``model`` row named by its id or by its slug in ``library``: ValueError, in the
    words given, where there is none, and where it belongs to another library."""
    if isinstance(raw, bool) or raw is None or raw == "":
        raise ValueError(required)
    if isinstance(raw, int):
        row = await model.get_or_none(id=raw, using_db=using_db) if 1 <= raw <= MAX_ID else None
    elif isinstance(raw, str):
        row = (
            await model.get_or_none(library_id=library.id, slug=raw, using_db=using_db)
            if len(raw) <= 64 and text_problem(raw) is None
            else None
        )
    else:
        raise ValueError(wrong)
    if row is None:
        raise ValueError(unknown)
    if row.library_id != library.id:  # type: ignore[attr-defined]
        raise ValueError(_("belongs to another library"))
    return row


def check_rule(library: Library, rrule: object) -> str:
    """The normalised rule text, or ValueError."""
    if not isinstance(rrule, str):
        raise ValueError(
            _("must be a rule such as %(example)s", example="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")
        )
    try:
        return parse_rule(rrule, tz=zone(library.timezone), all_day=False).text
    except RuleError as exc:
        raise ValueError(str(exc)) from None


async def parse_route(
    library: Library, raw: Mapping[str, Any] | RouteFields, *, using_db: Any = None
) -> RouteInput:
    """A route from its declared fields (JSON-like input is validated as
    :class:`RouteFields` first), or :class:`TimetableError` naming every field at fault:
    here what needs the database or the library's zone (the vehicle and depot, the rule,
    visits that overlap, a first run on a day of the rule)."""
    fields = raw if isinstance(raw, RouteFields) else _validated(RouteFields, raw)
    errors: dict[str, str | Found] = {}
    values: dict[str, Any] = {}
    try:
        values["rrule"] = check_rule(library, fields.rrule)
    except ValueError as exc:
        errors["rrule"] = str(exc)
    for name, resolve in (("vehicle", resolve_vehicle), ("depot", resolve_depot)):
        try:
            values[name] = await resolve(library, getattr(fields, name), using_db)
        except ValueError as exc:
            errors[name] = str(exc)
    stops = [stop_input(stop) for stop in fields.stops]
    errors.update(_order_errors(stops))
    if fields.valid_until is not None and fields.valid_until < fields.valid_from:
        errors["valid_until"] = Found(Problem.ENDS_BEFORE_START, _("must not be before valid_from"))
    if "rrule" in values and not first_run_matches(values["rrule"], fields.valid_from):
        errors["valid_from"] = Found(
            Problem.OFF_RULE,
            _(
                "is a %(weekday)s, not a day of the rule %(rule)s: the first run must be one",
                weekday=i18n.format_date(fields.valid_from, "EEEE"),
                rule=values["rrule"],
            ),
        )
    if errors:
        raise TimetableError(errors)
    return RouteInput(
        code=fields.code,
        name=fields.name,
        valid_from=fields.valid_from,
        valid_until=fields.valid_until,
        detour_factor=fields.detour_factor,
        stops=stops,
        **values,
    )


def _validated(model: type[M], raw: Mapping[str, Any]) -> M:
    try:
        return validate(model, dict(raw))
    except Invalid as exc:
        raise TimetableError(exc.fields) from None


def stop_input(stop: StopIn) -> StopInput:
    """A declared stop as the timetable saves it."""
    return StopInput(
        name=stop.name,
        lat=stop.lat,
        lon=stop.lon,
        arrival=stop.arrival,
        minutes_parked=stop.minutes_parked,
        community=stop.community,
        address=stop.address,
        postcode=stop.postcode,
        visibility=Visibility(stop.visibility),
        id=stop.id,
    )


async def stored_fields(route: Route) -> dict[str, Any]:
    """The route's timetable as :class:`RouteFields` input: a change is laid over it and
    the whole checked again."""
    depot_id = route.depot_id  # type: ignore[attr-defined]
    stops = await Stop.filter(route_id=route.id).order_by("position")
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    return {
        "code": route.code,
        "name": route.name,
        "vehicle": route.vehicle_id,  # type: ignore[attr-defined]
        "depot": depot_id,
        "rrule": event.rrule,
        "valid_from": route.valid_from.isoformat(),
        "valid_until": route.valid_until.isoformat() if route.valid_until else None,
        "detour_factor": route.detour_factor,
        "stops": [stop_fields(stop) for stop in stops],
    }


def stop_fields(stop: Stop) -> dict[str, Any]:
    """A saved stop as :class:`StopIn` input, its id kept: a change is laid over it."""
    return {
        "id": stop.id,
        "name": stop.name,
        "community": stop.community,
        "address": stop.address,
        "postcode": stop.postcode,
        "lat": stop.lat,
        "lon": stop.lon,
        "arrival": f"{stop.arrival:%H:%M}",
        "minutes_parked": stop.minutes_parked,
        "visibility": stop.visibility.value,
    }


def first_run_matches(rrule: str, day: dt.date) -> bool:
    """Whether ``day`` is a day the rule gives when it starts then (RFC 5545 would count a
    DTSTART off the rule as an extra first instance, which a timetable never means)."""
    start = dt.datetime.combine(day, dt.time())
    without_until = ";".join(p for p in rrule.split(";") if not p.startswith(("UNTIL=", "COUNT=")))
    first = next(iter(rrulestr(without_until, dtstart=start)), None)  # type: ignore[call-overload]
    return first == start


def parse_stops(raw: object, errors: dict[str, str | Found]) -> list[StopInput]:
    """Stops in route order from a JSON list (validated as :class:`StopsIn`); problems
    go to ``errors``, named as the API names them (``stops[2].lat``)."""
    try:
        declared = validate(StopsIn, {"stops": raw})
    except Invalid as exc:
        errors.update(exc.fields)
        return []
    stops = [stop_input(stop) for stop in declared.stops]
    errors.update(_order_errors(stops))
    return stops


def checked_stops(stops: Sequence[StopIn]) -> list[StopInput]:
    """Declared stops as the timetable saves them; :class:`TimetableError` for visits
    that overlap or run past midnight."""
    saved = [stop_input(stop) for stop in stops]
    errors = _order_errors(saved)
    if errors:
        raise TimetableError(errors)
    return saved


def _run_bounds(
    library: Library, day: dt.date, stops: Sequence[StopInput]
) -> tuple[dt.datetime, dt.datetime]:
    tz = zone(library.timezone)
    first = dt.datetime.combine(day, stops[0].arrival)
    last = dt.datetime.combine(day, stops[-1].arrival) + dt.timedelta(
        minutes=stops[-1].minutes_parked
    )
    return to_utc(first, tz), to_utc(last, tz)


async def _save_stops(
    route: Route, stops: Sequence[StopInput], using_db: BaseDBAsyncClient
) -> list[Stop]:
    """Make the route's stops these, in this order, keeping the ids of stops given by id."""
    existing = {s.id: s for s in await Stop.filter(route_id=route.id).using_db(using_db)}
    wanted = {stop.id for stop in stops if stop.id is not None}
    problems: dict[str, str | Found] = {}
    given: set[int] = set()
    for index, stop in enumerate(stops):
        if stop.id is None:
            continue
        if stop.id not in existing:
            problems[f"stops[{index}].id"] = Found(
                Problem.FOREIGN_STOP, _("is not a stop of this route")
            )
        elif stop.id in given:
            problems[f"stops[{index}].id"] = Found(
                Problem.STOP_TWICE, _("is the same stop as an earlier one: a stop is given twice")
            )
        given.add(stop.id)
    if problems:
        raise TimetableError(problems)
    gone = [stop_id for stop_id in existing if stop_id not in wanted]
    if gone:
        await Stop.filter(id__in=gone).using_db(using_db).delete()
    # Positions are unique per route: park the kept stops out of the way first.
    for stop_id in wanted:
        await Stop.filter(id=stop_id).using_db(using_db).update(position=-stop_id)
    saved = []
    for position, stop in enumerate(stops, start=1):
        values = {
            "position": position,
            "name": stop.name,
            "community": stop.community,
            "address": stop.address,
            "postcode": stop.postcode,
            "lat": stop.lat,
            "lon": stop.lon,
            "arrival": stop.arrival,
            "minutes_parked": stop.minutes_parked,
            "visibility": stop.visibility,
        }
        if stop.id is not None:
            row = existing[stop.id]
            row.update_from_dict(values)
            await row.save(using_db=using_db)
        else:
            row = await Stop.create(route=route, using_db=using_db, **values)
        saved.append(row)
    return saved


async def _audit(
    using_db: BaseDBAsyncClient,
    user: StaffUser | None,
    library: Library,
    action: str,
    route: Route,
    changes: dict[str, Any],
) -> None:
    await AuditEntry.record(
        using_db,
        user=user,
        library_id=library.id,
        action=action,
        entity="route",
        entity_id=route.id,
        changes=changes,
    )


async def create_route(
    library: Library,
    data: RouteInput,
    *,
    using_db: BaseDBAsyncClient,
    user: StaffUser | None = None,
    check_vehicle: bool = True,
    approver: bool = True,
    base_url: str = "",
) -> Route:
    """Save a new route, its event and stops, and materialise its stop visits.

    Call inside a transaction; a clash of the vehicle with another route raises
    :class:`TimetableError` so that the caller rolls everything back. A caller saving
    many routes uses :func:`create_routes` and checks each vehicle once at the end.
    ``approver`` and ``base_url`` as for :func:`create_routes`.
    """
    (route,) = await create_routes(
        library, [data], using_db=using_db, user=user, approver=approver, base_url=base_url
    )
    if check_vehicle:
        await check_vehicle_free(data.vehicle.id, using_db=using_db, route=route)
    return route


async def add_route(
    library: Library,
    data: RouteInput,
    *,
    user: StaffUser | None,
    approver: bool,
    base_url: str,
) -> Route:
    """An editor's new route (API or staff form): in one transaction, its vehicle locked
    (as every scheduling writer locks its resources) before :func:`create_route` checks
    that vehicle is free, so two routes written at once cannot both take it."""
    async with in_transaction("default") as conn:
        await lock_resources(conn, [(VEHICLE, data.vehicle.id)])
        return await create_route(
            library, data, using_db=conn, user=user, approver=approver, base_url=base_url
        )


def planned_visits(
    library: Library,
    rrule: str,
    valid_from: dt.date,
    valid_until: dt.date | None,
    stops: Sequence[StopInput],
    *,
    horizon_end: dt.datetime,
) -> int:
    """How many stop visits (occurrence rows) a route materialises up to ``horizon_end``,
    counted before anything is written: its runs within its validity times its stops."""
    if not stops:
        return 0
    starts_at, ends_at = _run_bounds(library, valid_from, stops)
    event = Event(
        starts_at=starts_at, ends_at=ends_at, timezone=library.timezone, rrule=rrule, exdates=[]
    )
    runs = [
        run
        for run in expand(event, horizon_end=horizon_end)
        if valid_from <= run.local_start.date()
        and (valid_until is None or run.local_start.date() <= valid_until)
    ]
    return len(runs) * len(stops)


async def create_routes(
    library: Library,
    datas: Sequence[RouteInput],
    *,
    using_db: BaseDBAsyncClient,
    user: StaffUser | None = None,
    horizon_end: dt.datetime | None = None,
    progress: Progress = silent,
    approver: bool = True,
    base_url: str = "",
) -> list[Route]:
    """Save new routes with their events, stops and stop exceptions, and materialise every
    visit, in a few statements for the lot (call in a transaction; vehicles unchecked).

    As for events (``outreach.scheduling.approval``): where the library asks for approval
    and ``user`` is no approver (a director or admin of it), each new route is a draft
    submitted for approval, its directors told by mail with links under ``base_url``, and
    nothing of it is public until a director approves it.

    An import of thousands of stops used to save them one statement at a time and rebuild
    each route's visits on its own; here stops, exceptions and visits are each written in
    one batch, and the visits are computed from what was just saved, without reading it
    back.
    """
    codes = [data.code for data in datas]
    taken = await Route.filter(library_id=library.id, code__in=codes).using_db(using_db)
    if taken:
        raise TimetableError({"code": _code_taken(min(str(route.code) for route in taken))})
    tz = zone(library.timezone)
    now = dt.datetime.now(dt.UTC)
    horizon = horizon_end or default_horizon_end()
    held = not approver and approval.asks_approval(library)
    status = EventStatus.DRAFT if held else EventStatus.PUBLISHED
    created: list[tuple[RouteInput, Event, Route]] = []
    for done, data in enumerate(datas, start=1):
        starts_at, ends_at = _run_bounds(library, data.valid_from, data.stops)
        event = await Event.create(
            library=library,
            kind=EventKind.BOOKMOBILE,
            title={library.default_language: data.name},
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=library.timezone,
            rrule=data.rrule,
            branch=data.depot,
            status=status,
            approval=approval.state_when_published(library, status),
            updated_at=now,
            created_by=user,
            using_db=using_db,
        )
        route = await Route.create(
            library=library,
            vehicle=data.vehicle,
            depot=data.depot,
            event=event,
            code=data.code,
            name=data.name,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            detour_factor=data.detour_factor,
            using_db=using_db,
        )
        created.append((data, event, route))
        progress("saving routes", done, len(datas))
    stops_of = await _insert_stops([(route, data.stops) for data, _, route in created], using_db)
    overrides: list[OccurrenceOverride] = []
    rows: list[OccurrenceRow] = []
    for data, event, route in created:
        stops = stops_of[route.id]
        mine = [
            OccurrenceOverride(
                event=event,
                original_start=to_utc(dt.datetime.combine(day, stops[index].arrival), tz),
                cancelled=True,
                note="no visit",
                updated_at=now,
            )
            for index, days in sorted(data.stop_exceptions.items())
            for day in days
        ]
        overrides += mine
        rows += occurrence_rows(Materialised(event, route, stops, mine, {}), horizon_end=horizon)
    if overrides:
        await OccurrenceOverride.bulk_create(overrides, batch_size=1000, using_db=using_db)
    await insert_occurrences(rows, using_db, progress=progress)
    await bump_data_version(using_db=using_db)
    for data, event, route in created:
        await _audit(using_db, user, library, "create", route, {"code": data.code})
        if held:
            await review.submit_in(using_db, event, user=user, base_url=base_url)
    return [route for _, _, route in created]


def _code_taken(code: str) -> Found:
    return Found(
        Problem.CODE_TAKEN,
        _("route %(code)s already exists in this library", code=code),
        {"code": code},
    )


async def _insert_stops(
    routes: Sequence[tuple[Route, Sequence[StopInput]]], using_db: BaseDBAsyncClient
) -> dict[int, list[Stop]]:
    """The stops of new routes, inserted in one batch and read back with their ids."""
    rows = [
        Stop(
            route=route,
            position=position,
            name=stop.name,
            community=stop.community,
            address=stop.address,
            postcode=stop.postcode,
            lat=stop.lat,
            lon=stop.lon,
            arrival=stop.arrival,
            minutes_parked=stop.minutes_parked,
            visibility=stop.visibility,
        )
        for route, stops in routes
        for position, stop in enumerate(stops, start=1)
    ]
    await Stop.bulk_create(rows, batch_size=1000, using_db=using_db)
    saved: dict[int, list[Stop]] = {route.id: [] for route, _ in routes}
    ids = list(saved)
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        for stop in await (
            Stop.filter(route_id__in=chunk).using_db(using_db).order_by("route_id", "position")
        ):
            saved[stop.route_id].append(stop)  # type: ignore[attr-defined]
    return saved


async def change_route(
    route: Route, data: RouteInput, *, user: StaffUser | None, approver: bool
) -> Route:
    """An editor's change of a route (API or staff form): in one transaction, its event row
    locked first and then the vehicles it leaves and takes (the order every scheduling
    writer keeps), its overrides kept."""
    old_vehicle: int = route.vehicle_id  # type: ignore[attr-defined]
    async with in_transaction("default") as conn:
        await service.lock_event(conn, route.event_id)  # type: ignore[attr-defined]
        await lock_resources(conn, [(VEHICLE, old_vehicle), (VEHICLE, data.vehicle.id)])
        return await update_route(
            route, data, using_db=conn, user=user, keep_overrides=True, approver=approver
        )


async def update_route(
    route: Route,
    data: RouteInput,
    *,
    using_db: BaseDBAsyncClient,
    user: StaffUser | None = None,
    check_vehicle: bool = True,
    keep_overrides: bool = False,
    approver: bool = True,
) -> Route:
    """Make a route what ``data`` says; call in a transaction.

    Stops given without an id are matched to existing ones by name, community and address,
    in order, so that their ids and feed addresses survive. An import replaces every
    override with the exceptions it gives; an edit (``keep_overrides``) keeps them. A
    non-``approver``'s change is refused where it would wait (:func:`check_change_allowed`).
    """
    library = await Library.get(id=route.library_id, using_db=using_db)  # type: ignore[attr-defined]
    event = await Event.get(id=route.event_id, using_db=using_db)  # type: ignore[attr-defined]
    check_change_allowed(library, event, approver=approver)
    existing = await Stop.filter(route_id=route.id).using_db(using_db).order_by("position")
    unmatched = list(existing)
    stops: list[StopInput] = []
    for stop in data.stops:
        if stop.id is not None:
            stops.append(stop)
            unmatched = [s for s in unmatched if s.id != stop.id]
            continue
        match = next(
            (
                s
                for s in unmatched
                if (s.name, s.community, s.address) == (stop.name, stop.community, stop.address)
            ),
            None,
        )
        if match is not None:
            unmatched.remove(match)
        stops.append(dataclasses.replace(stop, id=match.id if match else None))
    if (
        data.code != route.code
        and await Route.filter(library_id=library.id, code=data.code).using_db(using_db).exists()
    ):
        raise TimetableError({"code": _code_taken(data.code)})
    route.code = data.code
    route.name = data.name
    route.vehicle = data.vehicle
    route.depot = data.depot
    route.valid_from = data.valid_from
    route.valid_until = data.valid_until
    route.detour_factor = data.detour_factor
    await route.save(using_db=using_db)
    event.rrule = data.rrule
    event.title = {**event.title, library.default_language: data.name}
    event.branch = data.depot
    event.starts_at, event.ends_at = _run_bounds(library, data.valid_from, stops)
    event.revision += 1
    event.updated_at = dt.datetime.now(dt.UTC)
    if not keep_overrides:
        event.exdates = []
        await OccurrenceOverride.filter(event_id=event.id).using_db(using_db).delete()
    await event.save(using_db=using_db)
    saved = await _save_stops(route, stops, using_db)
    if not keep_overrides:
        await _cancel_stop_exceptions(event, saved, data, library, using_db)
    await rebuild_occurrences(event, using_db=using_db)
    if check_vehicle:
        await check_vehicle_free(data.vehicle.id, using_db=using_db, route=route)
    await bump_data_version(using_db=using_db)
    await _audit(using_db, user, library, "update", route, {"code": data.code})
    return route


async def _cancel_stop_exceptions(
    event: Event,
    stops: Sequence[Stop],
    data: RouteInput,
    library: Library,
    using_db: BaseDBAsyncClient,
) -> None:
    """Cancelled overrides for the dates a stop is not visited (keyed by the visit's start)."""
    tz = zone(library.timezone)
    now = dt.datetime.now(dt.UTC)
    for index, days in data.stop_exceptions.items():
        stop = stops[index]
        for day in days:
            await OccurrenceOverride.create(
                event=event,
                original_start=to_utc(dt.datetime.combine(day, stop.arrival), tz),
                cancelled=True,
                note="no visit",
                updated_at=now,
                using_db=using_db,
            )


async def check_vehicle_free(
    vehicle_id: int, *, using_db: BaseDBAsyncClient, route: Route | None = None
) -> None:
    """Refuse a timetable in which one vehicle is on two routes at once.

    The scheduling conflict check compares single visits; a bookmobile is also busy while
    it drives between its stops, so here a run spans from its first visit to the end of
    its last, and two runs of one vehicle on different routes must not overlap (which
    includes every overlap of two visits). All runs of the vehicle are swept once, sorted
    by start. ``route`` is the route being written, named last in the message.
    """
    runs = await _vehicle_runs(vehicle_id, using_db)
    ordered = sorted(runs)
    busy: tuple[dt.datetime, dt.datetime, int] | None = None
    for start, end, event_id in ordered:
        if busy is not None and start < busy[1] and event_id != busy[2]:
            await _clash(vehicle_id, busy, (start, end, event_id), route, using_db)
        if busy is None or end > busy[1]:
            busy = (start, end, event_id)


def _run_query(postgres: bool) -> str:
    # Runs are day trips: a run is one route's visits of one (UTC) day. Grouping in SQL
    # keeps a vehicle's check one small result even with years of stored visits.
    if postgres:
        day, param = "CAST(starts_at AT TIME ZONE 'UTC' AS DATE)", "$1"
    else:
        day, param = "substr(starts_at, 1, 10)", "?"
    return f"""
        SELECT event_id, MIN(starts_at) AS first_start, MAX(ends_at) AS last_end
        FROM occurrence
        WHERE vehicle_id = {param} AND NOT cancelled
        GROUP BY event_id, {day}
    """


async def _vehicle_runs(
    vehicle_id: int, using_db: BaseDBAsyncClient
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """(start, end, event id) of every run of the vehicle that is not wholly cancelled."""
    postgres = using_db.capabilities.dialect == "postgres"
    rows = await using_db.execute_query_dict(_run_query(postgres), [vehicle_id])
    return [
        (instant(row["first_start"]), instant(row["last_end"]), int(row["event_id"]))
        for row in rows
    ]


async def _clash(
    vehicle_id: int,
    a: tuple[dt.datetime, dt.datetime, int],
    b: tuple[dt.datetime, dt.datetime, int],
    route: Route | None,
    using_db: BaseDBAsyncClient,
) -> None:
    routes = {
        r.event_id: r  # type: ignore[attr-defined]
        for r in await Route.filter(event_id__in=[a[2], b[2]]).using_db(using_db)
    }
    if route is not None and route.event_id == a[2]:  # type: ignore[attr-defined]
        a, b = b, a
    busy, needing = routes.get(a[2]), routes.get(b[2])
    codes = {a[2]: busy.code if busy else "?", b[2]: needing.code if needing else "?"}
    # The times in words are the library's own, as every time a person reads.
    owner = (
        await Library.get(id=busy.library_id, using_db=using_db)  # type: ignore[attr-defined]
        if busy is not None
        else None
    )
    tz = zone(owner.timezone if owner is not None else "UTC")
    start, end = a[0].astimezone(tz), a[1].astimezone(tz)
    raise VehicleBusy(
        {
            "vehicle": Found(
                Problem.VEHICLE_BUSY,
                _(
                    "the vehicle is on route %(route)s on %(day)s, %(hours)s, when route"
                    " %(other)s needs it",
                    route=codes[a[2]],
                    day=i18n.format_date(start.date(), "full"),
                    hours=i18n.format_interval(start, end, "Hm"),
                    other=codes[b[2]],
                ),
                {"route": codes[a[2]], "other": codes[b[2]]},
            )
        },
        [
            {
                "event": a[2],
                "route": busy.code if busy else None,
                "start": a[0].astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "end": a[1].astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "resource": "vehicle",
                "resource_id": vehicle_id,
            }
        ],
    )


async def change_stops(
    route: Route, stops: Sequence[StopInput], *, user: StaffUser | None, approver: bool
) -> list[Stop]:
    """An editor's new stops of a route (API, staff stops form, an applied proposal): in one
    transaction, its event row locked first and then its vehicle (the order every
    scheduling writer keeps), then :func:`replace_stops`."""
    async with in_transaction("default") as conn:
        await service.lock_event(conn, route.event_id)  # type: ignore[attr-defined]
        await lock_resources(conn, [(VEHICLE, route.vehicle_id)])  # type: ignore[attr-defined]
        return await replace_stops(route, stops, using_db=conn, user=user, approver=approver)


async def replace_stops(
    route: Route,
    stops: Sequence[StopInput],
    *,
    using_db: BaseDBAsyncClient,
    user: StaffUser | None = None,
    approver: bool = True,
) -> list[Stop]:
    """Replace a route's stops (a new order or new times), move its event, rebuild visits.

    Overrides are keyed by a visit's original start, so those of a stop whose arrival
    changes move with it; runs cancelled at every stop stay cancelled at new stops too.
    A non-``approver``'s change is refused where it would wait (:func:`check_change_allowed`).
    """
    library = await Library.get(id=route.library_id).using_db(using_db)  # type: ignore[attr-defined]
    event = await Event.get(id=route.event_id).using_db(using_db)  # type: ignore[attr-defined]
    check_change_allowed(library, event, approver=approver)
    tz = zone(library.timezone)
    old_stops = await Stop.filter(route_id=route.id).using_db(using_db)
    old_arrival = {stop.id: stop.arrival for stop in old_stops}
    overrides = await OccurrenceOverride.filter(event_id=event.id).using_db(using_db)
    by_stop: dict[int, list[OccurrenceOverride]] = {}
    arrival_stop = {(stop.arrival.hour, stop.arrival.minute): stop.id for stop in old_stops}
    cancelled_days: dict[dt.date, int] = {}
    for override in overrides:
        local = to_local(override.original_start, tz)
        stop_id = arrival_stop.get((local.hour, local.minute))
        if stop_id is not None:
            by_stop.setdefault(stop_id, []).append(override)
            if override.cancelled:
                cancelled_days[local.date()] = cancelled_days.get(local.date(), 0) + 1
    whole_runs = {day for day, n in cancelled_days.items() if old_stops and n >= len(old_stops)}
    await OccurrenceOverride.filter(event_id=event.id).using_db(using_db).delete()

    first_day = to_local(event.starts_at, tz).date()
    event.starts_at, event.ends_at = _run_bounds(library, first_day, stops)
    event.revision += 1
    event.updated_at = dt.datetime.now(dt.UTC)
    await event.save(using_db=using_db)
    saved = await _save_stops(route, stops, using_db)
    kept: set[tuple[int, dt.date]] = set()
    for stop in saved:
        for override in by_stop.get(stop.id, []) if stop.id in old_arrival else []:
            day = to_local(override.original_start, tz).date()
            kept.add((stop.id, day))
            await OccurrenceOverride.create(
                event=event,
                original_start=to_utc(dt.datetime.combine(day, stop.arrival), tz),
                cancelled=override.cancelled,
                starts_at=override.starts_at,
                ends_at=override.ends_at,
                note=override.note,
                revision=override.revision + 1,
                updated_at=event.updated_at,
                using_db=using_db,
            )
        for day in sorted(whole_runs):
            if (stop.id, day) not in kept:
                await OccurrenceOverride.create(
                    event=event,
                    original_start=to_utc(dt.datetime.combine(day, stop.arrival), tz),
                    cancelled=True,
                    note="run cancelled",
                    updated_at=event.updated_at,
                    using_db=using_db,
                )
    await rebuild_occurrences(event, using_db=using_db)
    await check_vehicle_free(route.vehicle_id, using_db=using_db, route=route)  # type: ignore[attr-defined]
    await bump_data_version(using_db=using_db)
    await _audit(
        using_db, user, library, "replace_stops", route, {"stops": [s.name for s in stops]}
    )
    return saved


async def cancel_run(
    route: Route,
    day: dt.date,
    *,
    using_db: BaseDBAsyncClient,
    note: str = "",
    user: StaffUser | None = None,
) -> int:
    """Cancel every stop visit of the run on local date ``day`` (a holiday, a breakdown).

    Returns the number of visits cancelled; :class:`TimetableError` if no run that day.
    An editor cancels without a director's approval even where every change waits for
    one: cancelling only takes visits away from the public, and the patrons waiting at a
    stop must know at once (see :func:`outreach.scheduling.service.cancel_event`).
    """
    library = await Library.get(id=route.library_id).using_db(using_db)  # type: ignore[attr-defined]
    event = await Event.get(id=route.event_id).using_db(using_db)  # type: ignore[attr-defined]
    tz = zone(library.timezone)
    stops = await Stop.filter(route_id=route.id).using_db(using_db).order_by("position")
    starts = [to_utc(dt.datetime.combine(day, stop.arrival), tz) for stop in stops]
    planned = (
        await Occurrence.filter(event_id=event.id, original_start__in=starts)
        .using_db(using_db)
        .count()
    )
    if not planned:
        raise TimetableError(
            {
                "date": Found(
                    Problem.NO_RUN,
                    _(
                        "route %(code)s has no run on %(day)s",
                        code=route.code,
                        day=i18n.format_date(day, "full"),
                    ),
                )
            }
        )
    now = dt.datetime.now(dt.UTC)
    for start in starts:
        override = await OccurrenceOverride.get_or_none(
            event_id=event.id, original_start=start, using_db=using_db
        )
        if override is None:
            await OccurrenceOverride.create(
                event=event,
                original_start=start,
                cancelled=True,
                note=note,
                updated_at=now,
                using_db=using_db,
            )
        else:
            override.cancelled = True
            override.note = note or override.note
            override.revision += 1
            override.updated_at = now
            await override.save(using_db=using_db)
    event.revision += 1
    event.updated_at = now
    await event.save(using_db=using_db)
    await rebuild_occurrences(event, using_db=using_db)
    await bump_data_version(using_db=using_db)
    await _audit(using_db, user, library, "cancel_run", route, {"date": day.isoformat()})
    return len(starts)
