"""JSON API for bookmobiles: vehicles, routes and stops, emissions, better stop orders,
open-data timetables in and out, and the stops nearest to a place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as Endpoint
from tortoise.transactions import in_transaction

from outreach import publicity, sql
from outreach.bookmobile import emissions as emissions_module
from outreach.bookmobile.distance import RoutingClient, haversine_km
from outreach.bookmobile.jobs import (
    ImportJob,
    OptimiseJob,
    import_off_loop,
    import_once_off_loop,
    solve_off_loop,
)
from outreach.bookmobile.open_data import export_rows, to_csv
from outreach.bookmobile.optimise import StopWindow, route_km
from outreach.bookmobile.public_page import Visit
from outreach.bookmobile.schemas import (
    MAX_TOLERANCE,
    STOP_FIELDS,
    CancelledRun,
    CancelRunIn,
    EmissionsOut,
    EmissionsQuery,
    ImportOut,
    ImportQuery,
    LibraryFilter,
    NearestOut,
    NearestQuery,
    NewRoute,
    NewVehicle,
    OptimiseIn,
    OptimiseOut,
    RouteChange,
    RouteList,
    RouteOut,
    RouteWritten,
    StopList,
    StopsIn,
    VehicleChange,
    VehicleList,
    VehicleOut,
)
from outreach.bookmobile.timetable import (
    ApprovalNeeded,
    TimetableError,
    VehicleBusy,
    add_route,
    cancel_run,
    change_route,
    change_stops,
    checked_stops,
    driving_warnings,
    minutes_to_time,
    parse_date,
    parse_route,
    resolve_depot,
    stored_fields,
    time_to_minutes,
)
from outreach.bookmobile.vehicles import save_vehicle
from outreach.i18n import gettext as _
from outreach.idempotent import KeyInUse, KeyReused
from outreach.models import (
    Event,
    EventStatus,
    Library,
    Occurrence,
    Route,
    Stop,
    Vehicle,
    Visibility,
)
from outreach.scheduling import service as scheduling_service
from outreach.scheduling.recurrence import to_local, zone
from outreach.web import idempotency, long_work
from outreach.web.auth import (
    EDITORS,
    READERS,
    authenticate,
    has_library_role,
    may_approve,
    require_library_role,
)
from outreach.web.boundary import declare, read_json, read_optional_json, read_query
from outreach.web.errors import ApiError, DomainError, Invalid, NotFound
from outreach.workers import WorkerPool, WorkersBusy, WorkTimedOut

MAX_BODY = 2_000_000
NEXT_VISITS = 3
__all__ = ["MAX_TOLERANCE"]  # the staff pages' optimisation form takes the API's bound


# -- helpers -------------------------------------------------------------------------------


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise Invalid({"library": f"no library {slug!r}"})
    return library


async def _route(request: Request) -> Route:
    route = await Route.get_or_none(id=request.path_params["id"])
    if route is None:
        raise NotFound("route")
    return route


async def _is_staff(request: Request, library_id: int) -> bool:
    """Whether the caller holds a role in the library (private routes and stops are theirs
    to see)."""
    user = await authenticate(request)
    return user is not None and await has_library_role(user, library_id, READERS)


async def _readable_route(request: Request) -> tuple[Route, bool]:
    """The route of the path and whether the caller is its library's staff; 404 for a
    route that is not public (:mod:`outreach.publicity`) unless they are."""
    route = await _route(request)
    staff = await _is_staff(request, route.library_id)  # type: ignore[attr-defined]
    if not staff and not await Route.filter(publicity.routes(), id=route.id).exists():
        raise NotFound("route")
    return route, staff


def routing_client(request: Request) -> RoutingClient | None:
    """The routing service of the settings; tests inject a transport on the app's state."""
    url = request.app.state.settings.routing_url
    if not url:
        return None
    transport = getattr(request.app.state, "routing_transport", None)
    timeout = getattr(request.app.state, "routing_timeout", 5.0)
    return RoutingClient(url, transport=transport, timeout=timeout)


def _timetable_error(exc: TimetableError, error: str = "invalid input") -> DomainError:
    """A timetable that cannot be saved: 409 if its vehicle is booked then, as for rooms
    and staff; otherwise 422 naming the fields. ``codes`` gives the problems that have one
    (``timetable.Problem``: ``overlap``, ``vehicle_busy``…), for a client to match instead
    of the words."""
    codes = {name: found.code.value for name, found in exc.found.items()}
    extra: dict[str, object] = {"codes": codes} if codes else {}
    if isinstance(exc, VehicleBusy):
        return ApiError(
            409, "conflict", fields=exc.fields, extra={"conflicts": exc.conflicts, **extra}
        )
    if isinstance(exc, ApprovalNeeded):
        return ApiError(
            409, "a director must make or approve this change", fields=exc.fields, extra=extra
        )
    if codes:
        return ApiError(422, error, fields=exc.fields, extra=extra)
    return Invalid(exc.fields, error)


def _hhmm(value: dt.time) -> str:
    return f"{value:%H:%M}"


def stop_json(stop: Stop, library: Library) -> dict[str, Any]:
    departure = minutes_to_time(time_to_minutes(stop.arrival) + stop.minutes_parked)
    body: dict[str, Any] = {
        "id": stop.id,
        "position": stop.position,
        "name": stop.name,
        "community": stop.community,
        "address": stop.address,
        "postcode": stop.postcode,
        "lat": stop.lat,
        "lon": stop.lon,
        "arrival": _hhmm(stop.arrival),
        "departure": _hhmm(departure),
        "minutes_parked": stop.minutes_parked,
        "visibility": stop.visibility.value,
    }
    if stop.visibility == Visibility.PUBLIC:
        body["feed"] = f"/feeds/{library.slug}/stops/{stop.id}.ics"
    return body


def vehicle_json(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "id": vehicle.id,
        "slug": vehicle.slug,
        "name": vehicle.name,
        "registration": vehicle.registration,
        "fuel": vehicle.fuel.value,
        "kg_co2e_per_km": vehicle.kg_co2e_per_km,
        "emission_factor_source": vehicle.emission_factor_source,
        "average_speed_kmh": vehicle.average_speed_kmh,
    }


async def route_json(route: Route, *, staff: bool) -> dict[str, Any]:
    (answer,) = await route_answers([route], staff_in={route.library_id} if staff else set())  # type: ignore[attr-defined]
    return answer


async def route_answers(routes: Sequence[Route], *, staff_in: set[int]) -> list[dict[str, Any]]:
    """The answers for ``routes``, private stops only for those of libraries in
    ``staff_in``: their libraries, events, vehicles and stops are each read at once."""
    if not routes:
        return []
    libraries = {
        lib.id: lib
        for lib in await Library.filter(id__in={r.library_id for r in routes})  # type: ignore[attr-defined]
    }
    events = {e.id: e for e in await Event.filter(id__in=[r.event_id for r in routes])}  # type: ignore[attr-defined]
    vehicles = {v.id: v for v in await Vehicle.filter(id__in={r.vehicle_id for r in routes})}  # type: ignore[attr-defined]
    stops_of: dict[int, list[Stop]] = {route.id: [] for route in routes}
    for stop in await Stop.filter(route_id__in=list(stops_of)).order_by("route_id", "position"):
        stops_of[stop.route_id].append(stop)  # type: ignore[attr-defined]
    answers = []
    for route in routes:
        library = libraries[route.library_id]  # type: ignore[attr-defined]
        event = events[route.event_id]  # type: ignore[attr-defined]
        stops = stops_of[route.id]
        if library.id not in staff_in:
            stops = [s for s in stops if s.visibility == Visibility.PUBLIC]
        tz = zone(library.timezone)
        answers.append(
            {
                "id": route.id,
                "library": library.slug,
                "code": route.code,
                "name": route.name,
                "vehicle": vehicle_json(vehicles[route.vehicle_id]),  # type: ignore[attr-defined]
                "depot": route.depot_id,  # type: ignore[attr-defined]
                "event": event.id,
                "rrule": event.rrule,
                "weekday": to_local(event.starts_at, tz).strftime("%A"),
                "valid_from": route.valid_from.isoformat(),
                "valid_until": route.valid_until.isoformat() if route.valid_until else None,
                "detour_factor": route.detour_factor,
                "status": event.status.value,
                "revision": event.revision,
                "feed": f"/feeds/{library.slug}/routes/{route.id}.ics",
                "stops": [stop_json(s, library) for s in stops],
            }
        )
    return answers


# -- vehicles ------------------------------------------------------------------------------


@declare(query=LibraryFilter, answer=VehicleList)
async def list_vehicles(request: Request) -> JSONResponse:
    """Vehicles of a library (``?library=``), or of every library."""
    wanted = read_query(request, LibraryFilter)
    query = Vehicle.all().order_by("library_id", "slug")
    if wanted.library is not None:
        query = query.filter(library_id=(await _library(wanted.library)).id)
    return JSONResponse({"vehicles": [vehicle_json(v) for v in await query]})


@declare(answer=VehicleOut)
async def get_vehicle(request: Request) -> JSONResponse:
    vehicle = await Vehicle.get_or_none(id=request.path_params["id"])
    if vehicle is None:
        raise NotFound("vehicle")
    return JSONResponse(vehicle_json(vehicle))


@declare(body=NewVehicle, answer=VehicleOut, status=201)
async def create_vehicle(request: Request) -> JSONResponse:
    """A vehicle with its emission factor: a factor on file by slug, or a figure and source."""
    new = await read_json(request, NewVehicle, max_body=MAX_BODY)
    library = await _library(new.library)
    user = await require_library_role(request, library.id, EDITORS)
    vehicle = await save_vehicle(library, user, new)
    return JSONResponse(vehicle_json(vehicle), status_code=201)


@declare(body=VehicleChange, answer=VehicleOut)
async def patch_vehicle(request: Request) -> JSONResponse:
    """Change a vehicle: name, registration, speed, or its emission factor and source."""
    vehicle = await Vehicle.get_or_none(id=request.path_params["id"])
    if vehicle is None:
        raise NotFound("vehicle")
    user = await require_library_role(request, vehicle.library_id, EDITORS)  # type: ignore[attr-defined]
    body = (await read_json(request, VehicleChange, max_body=MAX_BODY)).model_dump(
        exclude_unset=True
    )
    current = vehicle_json(vehicle)
    del current["id"]
    if "emission_factor" in body:
        for name in ("fuel", "kg_co2e_per_km", "emission_factor_source"):
            current.pop(name)
    library = await Library.get(id=vehicle.library_id)  # type: ignore[attr-defined]
    await save_vehicle(library, user, {**current, **body}, vehicle=vehicle, changes=body)
    return JSONResponse(vehicle_json(vehicle))


# -- routes --------------------------------------------------------------------------------


@declare(query=LibraryFilter, answer=RouteList)
async def list_routes(request: Request) -> JSONResponse:
    """Routes of a library (``?library=``), or of every library; private stops only for staff."""
    wanted = read_query(request, LibraryFilter)
    query = Route.all().order_by("library_id", "code")
    if wanted.library is not None:
        query = query.filter(library_id=(await _library(wanted.library)).id)
    routes = await query
    public = {route.id for route in await query.filter(publicity.routes())}
    staff_in = {
        library_id
        for library_id in {r.library_id for r in routes}  # type: ignore[attr-defined]
        if await _is_staff(request, library_id)
    }
    shown = [r for r in routes if r.library_id in staff_in or r.id in public]  # type: ignore[attr-defined]
    return JSONResponse({"routes": await route_answers(shown, staff_in=staff_in)})


@declare(answer=RouteOut)
async def get_route(request: Request) -> JSONResponse:
    route, staff = await _readable_route(request)
    return JSONResponse(await route_json(route, staff=staff))


@declare(answer=StopList)
async def get_stops(request: Request) -> JSONResponse:
    route, staff = await _readable_route(request)
    body = await route_json(route, staff=staff)
    return JSONResponse({"route": route.id, "stops": body["stops"]})


@declare(body=NewRoute, answer=RouteWritten, status=201)
async def post_route(request: Request) -> JSONResponse:
    """Create a route with its stops; its visits become occurrences at once."""
    new = await read_json(request, NewRoute, max_body=MAX_BODY)
    library = await _library(new.library)
    user = await require_library_role(request, library.id, EDITORS)
    try:
        data = await parse_route(library, new)
        route = await add_route(
            library,
            data,
            user=user,
            approver=await may_approve(user, library.id),
            base_url=request.app.state.settings.base_url,
        )
    except TimetableError as exc:
        raise _timetable_error(exc) from None
    answer = await route_json(route, staff=True)
    answer["warnings"] = driving_warnings(
        data.stops, speed_kmh=data.vehicle.average_speed_kmh, detour_factor=data.detour_factor
    )
    return JSONResponse(answer, status_code=201)


@declare(body=RouteChange, answer=RouteOut)
async def patch_route(request: Request) -> JSONResponse:
    """Change a route's code, name, vehicle, depot, rule, validity or detour factor.

    Stops change with ``PUT /api/routes/{id}/stops``; cancelled visits are kept.
    """
    route = await _route(request)
    user = await require_library_role(request, route.library_id, EDITORS)  # type: ignore[attr-defined]
    change = await read_json(request, RouteChange, max_body=MAX_BODY)
    library = await Library.get(id=route.library_id)  # type: ignore[attr-defined]
    merged = {**await stored_fields(route), **change.model_dump(mode="json", exclude_unset=True)}
    try:
        data = await parse_route(library, merged)
        await change_route(route, data, user=user, approver=await may_approve(user, library.id))
    except TimetableError as exc:
        raise _timetable_error(exc) from None
    return JSONResponse(await route_json(route, staff=True))


@declare(answer=RouteOut)
async def delete_route(request: Request) -> JSONResponse:
    """Cancel a route: nothing is lost, every visit stays, cancelled, and feeds say so."""
    route = await _route(request)
    user = await require_library_role(request, route.library_id, EDITORS)  # type: ignore[attr-defined]
    await scheduling_service.cancel_event(route.event_id, user=user)  # type: ignore[attr-defined]
    return JSONResponse(await route_json(route, staff=True))


@declare(body=StopsIn, answer=RouteWritten)
async def put_stops(request: Request) -> JSONResponse:
    """Replace a route's stops (their order and times); stops given by ``id`` keep it."""
    route = await _route(request)
    user = await require_library_role(request, route.library_id, EDITORS)  # type: ignore[attr-defined]
    declared = await read_json(request, StopsIn, max_body=MAX_BODY)
    vehicle = await Vehicle.get(id=route.vehicle_id)  # type: ignore[attr-defined]
    try:
        stops = checked_stops(declared.stops)
        await change_stops(
            route,
            stops,
            user=user,
            approver=await may_approve(user, route.library_id),  # type: ignore[attr-defined]
        )
    except TimetableError as exc:
        raise _timetable_error(exc) from None
    answer = await route_json(route, staff=True)
    answer["warnings"] = driving_warnings(
        stops, speed_kmh=vehicle.average_speed_kmh, detour_factor=route.detour_factor
    )
    return JSONResponse(answer)


@declare(body=CancelRunIn, body_required=False, answer=CancelledRun)
async def post_cancel_run(request: Request) -> JSONResponse:
    """Cancel one run (every stop visit of one day): a holiday, a breakdown."""
    route = await _route(request)
    user = await require_library_role(request, route.library_id, EDITORS)  # type: ignore[attr-defined]
    try:
        day = parse_date(request.path_params["date"])
    except ValueError as exc:
        raise Invalid({"date": str(exc)}) from None
    note = (await read_optional_json(request, CancelRunIn)).note
    try:
        async with in_transaction("default") as conn:
            cancelled = await cancel_run(route, day, using_db=conn, note=note, user=user)
    except TimetableError as exc:
        raise _timetable_error(exc) from None
    return JSONResponse({"route": route.id, "date": day.isoformat(), "visits_cancelled": cancelled})


# -- emissions and optimisation ------------------------------------------------------------


@declare(query=EmissionsQuery, answer=EmissionsOut)
async def get_emissions(request: Request) -> JSONResponse:
    """Runs, km and kg CO2e for local days ``from``…``to`` (default: the last 365 days)."""
    days = read_query(request, EmissionsQuery)
    route = await _route(request)
    await require_library_role(request, route.library_id, READERS)  # type: ignore[attr-defined]
    library = await Library.get(id=route.library_id)  # type: ignore[attr-defined]
    tz = zone(library.timezone)
    today = dt.datetime.now(tz).date()
    last = days.to or today
    first = days.from_ or last - dt.timedelta(days=364)
    if last < first:
        raise Invalid({"to": "must not be before from"})
    if (last - first).days > 10 * 366:
        raise Invalid({"to": "a period is at most ten years"})
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    result = await emissions_module.route_emissions(
        route, start, end, client=routing_client(request)
    )
    return JSONResponse({"from": first.isoformat(), "to": last.isoformat(), **result.as_dict()})


async def runs_in_next_year(route: Route) -> int:
    """How many runs with at least one visit are planned in the coming 365 days."""
    library = await Library.get(id=route.library_id)  # type: ignore[attr-defined]
    tz = zone(library.timezone)
    now = dt.datetime.now(dt.UTC)
    starts = await Occurrence.filter(
        event_id=route.event_id,  # type: ignore[attr-defined]
        cancelled=False,
        starts_at__gte=now,
        starts_at__lt=now + dt.timedelta(days=365),
    ).values_list("starts_at", flat=True)
    return len({to_local(s, tz).date() for s in starts})  # type: ignore[arg-type]


@declare(body=OptimiseIn, body_required=False, answer=OptimiseOut, idempotent=False)
async def post_optimise(request: Request) -> JSONResponse:
    """Propose the shortest stop order keeping each stop within ``tolerance_minutes`` of its
    arrival. Nothing changes: staff apply the proposal with ``PUT /api/routes/{id}/stops``."""
    route = await _route(request)
    await require_library_role(request, route.library_id, READERS)  # type: ignore[attr-defined]
    asked = await read_optional_json(request, OptimiseIn)
    try:
        proposal = await optimise_route(
            route,
            tolerance=asked.tolerance_minutes,
            time_limit=asked.time_limit_seconds,
            client=routing_client(request),
            pool=long_work.workers(request),
        )
    except (WorkersBusy, WorkTimedOut) as exc:
        return long_work.unavailable(exc)
    return JSONResponse(proposal)


async def optimise_route(
    route: Route,
    *,
    tolerance: int,
    time_limit: float,
    client: RoutingClient | None,
    pool: WorkerPool,
) -> dict[str, Any]:
    """The optimiser's proposal for a route, with km and CO2e saved a year; changes nothing.

    The solver runs in a worker process of ``pool``: :class:`WorkersBusy` when none is
    free, :class:`WorkTimedOut` when it overran its limit."""
    library = await Library.get(id=route.library_id)  # type: ignore[attr-defined]
    vehicle = await Vehicle.get(id=route.vehicle_id)  # type: ignore[attr-defined]
    stops = await Stop.filter(route_id=route.id).order_by("position")
    matrix = await emissions_module.route_distances(route, stops, client=client)
    windows = [StopWindow(time_to_minutes(s.arrival), s.minutes_parked) for s in stops]
    current = list(range(len(stops)))
    solution = await solve_off_loop(
        pool,
        OptimiseJob(
            windows,
            matrix.matrix,
            speed_kmh=vehicle.average_speed_kmh,
            tolerance=tolerance,
            time_limit=time_limit,
            initial=current,
        ),
    )
    current_km = route_km(current, matrix.matrix)
    runs = await runs_in_next_year(route)
    notes = list(matrix.notes)
    proposal: dict[str, Any] | None = None
    saved_km = 0.0
    plan = solution.plan
    if plan is None:
        notes.append(
            _(
                "no order reaches every stop within %(minutes)s minutes of its arrival at"
                " %(speed)s km/h; try a larger tolerance",
                minutes=tolerance,
                speed=format(vehicle.average_speed_kmh, "g"),
            )
        )
    elif plan.km < current_km - 1e-6:
        saved_km = current_km - plan.km
        proposed = []
        for index, arrival in zip(plan.order, plan.arrivals, strict=True):
            stop = stops[index]
            proposed.append(
                {
                    **stop_json(stop, library),
                    "arrival": _hhmm(minutes_to_time(arrival)),
                    "departure": _hhmm(minutes_to_time(arrival + stop.minutes_parked)),
                    "timetabled_arrival": _hhmm(stop.arrival),
                }
            )
        proposal = {"stops": proposed, "km_per_run": round(plan.km, 2)}
    else:
        notes.append(_("the current order is already the shortest found"))
    apply_body = None
    if proposal is not None:
        apply_body = {"stops": [{k: s[k] for k in STOP_FIELDS} for s in proposal["stops"]]}
    return {
        "route": route.id,
        "tolerance_minutes": tolerance,
        "current": {
            "stops": [stop_json(s, library) for s in stops],
            "km_per_run": round(current_km, 2),
        },
        "proposal": proposal,
        "km_saved_per_run": round(saved_km, 2),
        "runs_per_year": runs,
        "km_saved_per_year": round(saved_km * runs, 1),
        "kg_co2e_saved_per_year": round(saved_km * runs * vehicle.kg_co2e_per_km, 1),
        "solver": {"status": solution.status, "seconds": round(solution.seconds, 3)},
        "distance_source": matrix.source,
        "notes": notes,
        "applied": False,
        "apply": (
            {"method": "PUT", "url": f"/api/routes/{route.id}/stops", "body": apply_body}
            if apply_body
            else None
        ),
    }


# -- open data -----------------------------------------------------------------------------


@declare(query=ImportQuery, body_media_type="text/csv", answer=ImportOut)
async def post_import(request: Request) -> Response:
    """Import a timetable in the open mobile-library-stops format (``?library=&depot=``).

    The body is the CSV itself (``text/csv``). All or nothing: a rejected file saves nothing.
    """
    wanted = read_query(request, ImportQuery)
    library = await _library(wanted.library)
    user = await require_library_role(request, library.id, EDITORS)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "request too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid({"file": "must be UTF-8 text"}) from None
    depot = None
    if wanted.depot is not None:
        try:
            depot = await resolve_depot(library, wanted.depot)
        except ValueError as exc:
            raise Invalid({"depot": str(exc)}) from None
    settings = request.app.state.settings
    job = ImportJob(
        database_url=settings.database_url,
        library_id=library.id,
        text=text,
        depot_id=depot.id if depot is not None else None,
        user_id=user.id,
        base_url=settings.base_url,
        approver=await may_approve(user, library.id),
    )
    key = idempotency.key_of(request)
    try:
        if key is None:
            result = await import_off_loop(long_work.workers(request), job)
            return JSONResponse(result.as_dict(), status_code=200)
        answer, replayed = await import_once_off_loop(long_work.workers(request), job, key)
    except TimetableError as exc:
        raise _timetable_error(exc, "the timetable was not imported") from None
    except (WorkersBusy, WorkTimedOut) as exc:
        return long_work.unavailable(exc)
    except KeyInUse:
        return idempotency.in_progress()
    except KeyReused:
        return idempotency.reused()
    headers = dict(answer.headers) | ({"Idempotent-Replayed": "true"} if replayed else {})
    return Response(answer.body, status_code=answer.status, headers=headers)


@declare(media_type="text/csv")
async def get_stops_csv(request: Request) -> Response:
    """The route in the open format; private stops only for the library's staff."""
    route, staff = await _readable_route(request)
    rows = await export_rows(
        route, include_private=staff, base_url=request.app.state.settings.base_url
    )
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="route-{route.code}.csv"'},
    )


# -- nearest stops -------------------------------------------------------------------------


_NEXT_VISITS = """
    SELECT id FROM (
        SELECT o.id AS id,
               ROW_NUMBER() OVER (PARTITION BY o.stop_id ORDER BY o.starts_at, o.id) AS n
        FROM occurrence o JOIN event e ON e.id = o.event_id
        WHERE o.stop_id IN ({stops}) AND o.ends_at > :now{published}
    ) ranked
    WHERE n <= :limit
"""


async def next_visits(
    stop_ids: Iterable[int], *, limit: int = NEXT_VISITS, staff: bool = False
) -> dict[int, list[Occurrence]]:
    """The coming visits of each stop (cancelled ones included, flagged), soonest first:
    two queries for any number of stops (the first ``limit`` of each, ranked in SQL).

    Only published routes' visits, unless ``staff``: a reader who may see the route (its
    library's staff) sees the runs of a draft, a route awaiting approval or a cancelled one
    too. The caller picks the stops, by :mod:`outreach.publicity` for a public answer."""
    wanted = list(dict.fromkeys(stop_ids))
    found: dict[int, list[Occurrence]] = {stop_id: [] for stop_id in wanted}
    if not wanted:
        return found
    params: dict[str, object] = {f"s{i}": stop_id for i, stop_id in enumerate(wanted)}
    params |= {"now": dt.datetime.now(dt.UTC), "limit": limit}
    published = ""
    if not staff:
        params["published"] = EventStatus.PUBLISHED.value
        published = " AND e.status = :published"
    stops = ", ".join(f":s{i}" for i in range(len(wanted)))
    query = _NEXT_VISITS.format(stops=stops, published=published)
    ids = [row["id"] for row in await sql.fetch(query, params)]
    for occurrence in await Occurrence.filter(id__in=ids).order_by("starts_at", "id"):
        found[occurrence.stop_id].append(occurrence)  # type: ignore[attr-defined]
    return found


def visit_json(occurrence: Occurrence | Visit, tz: Any) -> dict[str, Any]:
    return {
        "starts_at": occurrence.starts_at.astimezone(dt.UTC).isoformat(),
        "ends_at": occurrence.ends_at.astimezone(dt.UTC).isoformat(),
        # With its offset: a time in the repeated autumn hour names two instants without it.
        "local_start": occurrence.starts_at.astimezone(tz).isoformat(timespec="minutes"),
        "cancelled": occurrence.cancelled,
    }


@declare(query=NearestQuery, answer=NearestOut)
async def nearest_stops(request: Request) -> JSONResponse:
    """Public stops nearest to ``lat``/``lon`` (``limit``, ``library`` optional), with visits."""
    where = read_query(request, NearestQuery)
    lat, lon = where.lat, where.lon
    # Stops of cancelled routes are left out: they have no coming visits.
    query = Stop.filter(publicity.stops(), route__event__status=EventStatus.PUBLISHED)
    if where.library is not None:
        library = await _library(where.library)
        query = query.filter(route__library_id=library.id)
    stops = await query.prefetch_related("route", "route__library")
    ranked = sorted(stops, key=lambda s: (haversine_km((lat, lon), (s.lat, s.lon)), s.id))
    ranked = ranked[: where.limit]
    visits = await next_visits([s.id for s in ranked])
    items = []
    for stop in ranked:
        library = stop.route.library
        tz = zone(library.timezone)
        items.append(
            {
                **stop_json(stop, library),
                "distance_km": round(haversine_km((lat, lon), (stop.lat, stop.lon)), 3),
                "library": library.slug,
                "route": {"id": stop.route.id, "code": stop.route.code, "name": stop.route.name},
                "next_visits": [visit_json(o, tz) for o in visits[stop.id]],
            }
        )
    return JSONResponse({"lat": lat, "lon": lon, "stops": items})


routes: list[BaseRoute] = [
    Endpoint("/api/vehicles", list_vehicles, methods=["GET"]),
    Endpoint("/api/vehicles", create_vehicle, methods=["POST"]),
    Endpoint("/api/vehicles/{id:id}", get_vehicle, methods=["GET"]),
    Endpoint("/api/vehicles/{id:id}", patch_vehicle, methods=["PATCH"]),
    Endpoint("/api/routes", list_routes, methods=["GET"]),
    Endpoint("/api/routes", post_route, methods=["POST"]),
    Endpoint("/api/routes/import", post_import, methods=["POST"]),
    Endpoint("/api/routes/{id:id}", get_route, methods=["GET"]),
    Endpoint("/api/routes/{id:id}", patch_route, methods=["PATCH"]),
    Endpoint("/api/routes/{id:id}", delete_route, methods=["DELETE"]),
    Endpoint("/api/routes/{id:id}/stops", get_stops, methods=["GET"]),
    Endpoint("/api/routes/{id:id}/stops", put_stops, methods=["PUT"]),
    Endpoint("/api/routes/{id:id}/stops.csv", get_stops_csv, methods=["GET"]),
    Endpoint("/api/routes/{id:id}/runs/{date}/cancel", post_cancel_run, methods=["POST"]),
    Endpoint("/api/routes/{id:id}/emissions", get_emissions, methods=["GET"]),
    Endpoint("/api/routes/{id:id}/optimise", post_optimise, methods=["POST"]),
    Endpoint("/api/stops/nearest", nearest_stops, methods=["GET"]),
]
