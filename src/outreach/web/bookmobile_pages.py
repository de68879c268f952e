"""Bookmobile feeds (one per route, one per stop) and the
staff pages for vehicles (create, edit) and routes (stops, cancelled runs, a better stop
order, timetable import).

Feeds reuse the iCalendar machinery of ``outreach.feeds``: a route's feed holds one
recurring VEVENT per public stop, a stop's feed just that one; cancelled visits (a run
cancelled for a holiday or a breakdown) are excluded dates of every stop's series.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as Endpoint
from tortoise.transactions import in_transaction

from outreach import publicity
from outreach.bookmobile.commands import summary
from outreach.bookmobile.emissions import footprint
from outreach.bookmobile.jobs import ImportJob, import_off_loop
from outreach.bookmobile.timetable import (
    TimetableError,
    VehicleBusy,
    cancel_run,
    parse_date,
    parse_stops,
    replace_stops,
)
from outreach.bookmobile.vehicles import save_vehicle
from outreach.feeds import ical
from outreach.feeds.build import BuiltFeed
from outreach.feeds.selection import Window, load_series, today
from outreach.languages import translated
from outreach.models import (
    EmissionFactor,
    Event,
    Fuel,
    Library,
    Route,
    Stop,
    Vehicle,
)
from outreach.scheduling.conflicts import VEHICLE, lock_resources
from outreach.scheduling.recurrence import UTC, zone
from outreach.settings import Settings
from outreach.versions import current_data_version
from outreach.web import auth, long_work, staff
from outreach.web.errors import Invalid, NotFound
from outreach.web.feeds import feed_cache, feed_response
from outreach.web.routes_api import (
    EDITORS,
    MAX_BODY,
    MAX_TOLERANCE,
    READERS,
    next_visits,
    optimise_route,
    routing_client,
    visit_json,
)
from outreach.web.staff_forms import number_or_raw
from outreach.workers import WorkersBusy, WorkTimedOut


async def _public_route(library: Library, route_id: int) -> tuple[Route, Event]:
    """A public route of ``library`` (:mod:`outreach.publicity`; cancelled ones too)."""
    route = await Route.get_or_none(publicity.routes(), id=route_id, library_id=library.id)
    if route is None:
        raise NotFound("route")
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    return route, event


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    return library


async def build_bookmobile_feed(
    library: Library, route: Route, event: Event, stop: Stop | None, settings: Settings
) -> bytes:
    """The feed of a route (every public stop) or of one public stop of it."""
    series = await load_series([event.id])
    if stop is not None:
        series = [s for s in series if s.stop is not None and s.stop.id == stop.id]
    lang = library.default_language
    route_title = translated(event.title, lang) or route.name
    host = ical.host_of(settings.base_url)
    if stop is None:
        name = f"{translated(library.name, lang)} · {route_title}"
        uid = f"outreach-feed-route-{route.id}@{host}"
    else:
        name = f"{translated(library.name, lang)} · {route_title}: {stop.name}"
        uid = f"outreach-feed-stop-{stop.id}@{host}"
    cal = ical.calendar(
        name=name,
        uid=uid,
        description=f"Bookmobile visits of route {route.code}. Subscribe to keep them current.",
    )
    components = [
        component
        for one in series
        for component in ical.series_components(one, lang=None, base_url=settings.base_url)
    ]
    window = Window.for_day(settings, today())
    first = ical.first_day(series, window.start.date())
    return ical.serialise(cal, components, zones=ical.zones_of(series), first=first)


async def _serve(request: Request, *, stop_feed: bool) -> Response:
    library = await _library(request.path_params["library"])
    ident = request.path_params["id"]
    stop: Stop | None = None
    if stop_feed:
        stop = await Stop.get_or_none(publicity.stops(), id=ident)
        if stop is None:
            raise NotFound("stop")
        route_id = stop.route_id  # type: ignore[attr-defined]
    else:
        route_id = ident
    route, event = await _public_route(library, route_id)
    number, changed_at = await current_data_version()
    day = today()
    cache = feed_cache(request)
    key = ("bookmobile", library.slug, "stop" if stop_feed else "route", ident, number, day)
    feed = cache.get(key)
    if feed is None:
        body = await build_bookmobile_feed(library, route, event, stop, request.app.state.settings)
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
        feed = BuiltFeed.of(body, max(changed_at.astimezone(UTC), midnight))
        cache.put(key, feed)
    filename = f"stop-{ident}.ics" if stop_feed else f"route-{ident}.ics"
    return feed_response(request, feed, filename)


async def route_feed(request: Request) -> Response:
    """``/feeds/{library}/routes/{id}.ics``: every public stop of a route."""
    return await _serve(request, stop_feed=False)


async def stop_feed(request: Request) -> Response:
    """``/feeds/{library}/stops/{id}.ics``: the visits of one public stop."""
    return await _serve(request, stop_feed=True)


# -- staff pages ----------------------------------------------------------------------------


async def _staff_route(request: Request) -> tuple[Route, Library]:
    route = await Route.get_or_none(id=request.path_params["id"])
    if route is None:
        raise NotFound("route")
    library = await Library.get(id=route.library_id)  # type: ignore[attr-defined]
    await auth.require_library_role(request, library.id, READERS)
    return route, library


async def staff_routes(request: Request) -> Response:
    """Vehicles and routes of the user's libraries, the last year's footprint, an import form."""
    user = request.state.user
    libraries = []
    now = dt.datetime.now(UTC)
    for access in await staff.libraries_of(user):
        library = access.library
        vehicles = await Vehicle.filter(library_id=library.id).order_by("slug")
        found = await footprint(library.id, now - dt.timedelta(days=365), now)
        libraries.append(
            {
                "access": access,
                "library": library,
                "vehicles": vehicles,
                "routes": found.routes,
                "total": found.total().as_dict(),
                "notes": found.notes(),
            }
        )
    return staff.render(request, "bookmobile/staff_routes.html", {"libraries": libraries})


async def _route_context(route: Route, library: Library) -> dict[str, Any]:
    tz = zone(library.timezone)
    stops = await Stop.filter(route_id=route.id).order_by("position")
    visits = await next_visits([s.id for s in stops], limit=4)
    first = stops[0].id if stops else None
    runs = [visit_json(o, tz) for o in visits.get(first, [])] if first is not None else []
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    vehicle = await Vehicle.get(id=route.vehicle_id)  # type: ignore[attr-defined]
    return {
        "library": library,
        "route": route,
        "event": event,
        "vehicle": vehicle,
        "stops": stops,
        "runs": runs,
        "can_edit": False,
        "proposal": None,
        "errors": {},
    }


async def staff_route(request: Request) -> Response:
    """One route with every stop (private ones too), its next runs and the actions."""
    route, library = await _staff_route(request)
    context = await _route_context(route, library)
    context["can_edit"] = await auth.has_library_role(request.state.user, library.id, EDITORS)
    return staff.render(request, "bookmobile/staff_route.html", context)


async def staff_cancel_run(request: Request) -> Response:
    """Cancel one run (every visit of one day): a holiday, a breakdown."""
    route, library = await _staff_route(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    form = await request.form()
    raw_day, note = str(form.get("date", "")), str(form.get("note", ""))[:500]
    try:
        day = parse_date(raw_day)
        async with in_transaction("default") as conn:
            count = await cancel_run(route, day, using_db=conn, note=note.strip(), user=user)
    except ValueError as exc:
        return await _route_page_with_errors(request, route, library, {"date": str(exc)})
    except TimetableError as exc:
        return await _route_page_with_errors(
            request, route, library, exc.fields, status_code=_refusal_status(exc)
        )
    staff.flash(request, f"Run of {day.isoformat()} cancelled: {count} visits.")
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


async def _route_page_with_errors(
    request: Request,
    route: Route,
    library: Library,
    errors: dict[str, str],
    *,
    status_code: int = 422,
) -> Response:
    context = await _route_context(route, library)
    context["can_edit"] = True
    context["errors"] = errors
    return staff.render(request, "bookmobile/staff_route.html", context, status_code=status_code)


def _refusal_status(exc: TimetableError) -> int:
    """409 for a vehicle booked twice (a conflict, as for rooms and staff), else 422."""
    return 409 if isinstance(exc, VehicleBusy) else 422


async def staff_optimise(request: Request) -> Response:
    """Show the optimiser's proposal beside the timetable; nothing is saved."""
    route, library = await _staff_route(request)
    form = await request.form()
    raw = str(form.get("tolerance_minutes", "30"))
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_TOLERANCE:
        return await _route_page_with_errors(
            request,
            route,
            library,
            {"tolerance_minutes": f"must be a whole number from 0 to {MAX_TOLERANCE}"},
        )
    context = await _route_context(route, library)
    context["can_edit"] = await auth.has_library_role(request.state.user, library.id, EDITORS)
    try:
        context["proposal"] = await optimise_route(
            route,
            tolerance=int(raw),
            time_limit=1.0,
            client=routing_client(request),
            pool=long_work.workers(request),
        )
    except (WorkersBusy, WorkTimedOut) as exc:
        _, problem, retry_after = long_work.refusal(exc)
        page = await _route_page_with_errors(
            request, route, library, {"optimise": problem}, status_code=503
        )
        page.headers["Retry-After"] = str(retry_after)
        return page
    return staff.render(request, "bookmobile/staff_route.html", context)


async def staff_apply(request: Request) -> Response:
    """Apply a proposed order: the stops' ids in order with their new arrivals."""
    route, library = await _staff_route(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    form = await request.form()
    ids = [str(v) for v in form.getlist("stop")]
    arrivals = [str(v) for v in form.getlist("arrival")]
    existing = {s.id: s for s in await Stop.filter(route_id=route.id)}
    if (
        len(ids) != len(arrivals)
        or not all(i.isdigit() and int(i) in existing for i in ids)
        or {int(i) for i in ids} != set(existing)
    ):
        return await _route_page_with_errors(
            request, route, library, {"stops": "the proposal no longer matches the route"}
        )
    raw = []
    for stop_id, arrival in zip(ids, arrivals, strict=True):
        stop = existing[int(stop_id)]
        raw.append(
            {
                "id": stop.id,
                "name": stop.name,
                "community": stop.community,
                "address": stop.address,
                "postcode": stop.postcode,
                "lat": stop.lat,
                "lon": stop.lon,
                "arrival": arrival,
                "minutes_parked": stop.minutes_parked,
                "visibility": stop.visibility.value,
            }
        )
    errors: dict[str, str] = {}
    stops = parse_stops(raw, errors)
    if errors:
        return await _route_page_with_errors(request, route, library, errors)
    try:
        async with in_transaction("default") as conn:
            await lock_resources(conn, [(VEHICLE, route.vehicle_id)])  # type: ignore[attr-defined]
            await replace_stops(route, stops, using_db=conn, user=user)
    except TimetableError as exc:
        return await _route_page_with_errors(
            request, route, library, exc.fields, status_code=_refusal_status(exc)
        )
    staff.flash(request, "The new stop order is saved; every stop's feed keeps its address.")
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


async def staff_import(request: Request) -> Response:
    """Import a timetable file (open mobile-library-stops format) into a library."""
    form = await request.form()
    library = await Library.get_or_none(slug=str(form.get("library", "")))
    if library is None:
        raise NotFound("library")
    user = await auth.require_library_role(request, library.id, EDITORS)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        staff.flash(request, "Choose a CSV file to import.", "error")
        return RedirectResponse("/staff/bookmobile", status_code=303)
    try:
        raw = await upload.read(MAX_BODY + 1)
    finally:
        # Uploads are spooled to temporary files: close them as soon as they are read.
        await form.close()
    settings: Settings = request.app.state.settings
    try:
        text = raw.decode("utf-8")
        if len(raw) > MAX_BODY:
            raise TimetableError({"file": f"must be at most {MAX_BODY} bytes"})
        job = ImportJob(
            database_url=settings.database_url,
            library_id=library.id,
            text=text,
            user_id=user.id,
            base_url=settings.base_url,
        )
        result = await import_off_loop(long_work.workers(request), job)
    except UnicodeDecodeError:
        staff.flash(request, "The file is not UTF-8 text; nothing was imported.", "error")
        return RedirectResponse("/staff/bookmobile", status_code=303)
    except (WorkersBusy, WorkTimedOut) as exc:
        staff.flash(
            request, f"The timetable was not imported: {long_work.refusal(exc)[1]}.", "error"
        )
        return RedirectResponse("/staff/bookmobile", status_code=303)
    except TimetableError as exc:
        for where, problem in exc.fields.items():
            staff.flash(request, f"{where}: {problem}", "error")
        staff.flash(request, "The timetable was not imported: nothing was saved.", "error")
        return RedirectResponse("/staff/bookmobile", status_code=303)
    staff.flash(request, "Imported: " + summary(result).replace("\n", "; "))
    return RedirectResponse("/staff/bookmobile", status_code=303)


# -- staff pages: vehicles -------------------------------------------------------------------

VEHICLE_FORM = (
    "name",
    "slug",
    "registration",
    "fuel",
    "emission_factor",
    "kg_co2e_per_km",
    "emission_factor_source",
    "average_speed_kmh",
)


def _vehicle_payload(entered: dict[str, str]) -> dict[str, Any]:
    """The API's vehicle body from the form: numbers as numbers, a factor on file by slug.

    Text that is no number is passed on as it is, so that the API's checks name it.
    """
    body: dict[str, Any] = {
        "name": entered["name"],
        "slug": entered["slug"],
        "registration": entered["registration"],
        "fuel": entered["fuel"],
        "average_speed_kmh": number_or_raw(entered["average_speed_kmh"], float),
    }
    if entered["emission_factor"]:
        body["emission_factor"] = entered["emission_factor"]
    else:
        body["kg_co2e_per_km"] = number_or_raw(entered["kg_co2e_per_km"], float)
        body["emission_factor_source"] = entered["emission_factor_source"]
    return body


async def _entered(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, "")).strip()[:1000] for name in VEHICLE_FORM}


async def _vehicle_page(
    request: Request,
    library: Library,
    vehicle: Vehicle | None,
    entered: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    factors = await EmissionFactor.all().order_by("fuel", "slug")
    context = {
        "library": library,
        "vehicle": vehicle,
        "form": entered,
        "errors": errors or {},
        "others": {k: v for k, v in (errors or {}).items() if k not in VEHICLE_FORM},
        "factors": factors,
        "fuels": [fuel.value for fuel in Fuel],
    }
    status_code = 422 if errors else 200
    return staff.render(request, "bookmobile/staff_vehicle.html", context, status_code=status_code)


async def staff_new_vehicle(request: Request) -> Response:
    """A new vehicle of a library: a factor on file, or an own figure with its source."""
    if request.method == "GET":
        entered = dict.fromkeys(VEHICLE_FORM, "") | {"average_speed_kmh": "40"}
        library = await _library(request.query_params.get("library", ""))
    else:
        entered = await _entered(request)
        library = await _library(str((await request.form()).get("library", "")))
    user = await auth.require_library_role(request, library.id, EDITORS)
    if request.method == "GET":
        return await _vehicle_page(request, library, None, entered)
    try:
        # The API's own checks, so that the form and the API refuse the same things.
        vehicle = await save_vehicle(library, user, _vehicle_payload(entered))
    except Invalid as exc:
        return await _vehicle_page(request, library, None, entered, exc.fields)
    staff.flash(request, f"Vehicle {vehicle.name} added.")
    return RedirectResponse("/staff/bookmobile", status_code=303)


def _vehicle_form(vehicle: Vehicle, factors: list[EmissionFactor]) -> dict[str, str]:
    """The form filled from a vehicle; the factor on file it uses, if its figures match one."""
    on_file = next(
        (
            f.slug
            for f in factors
            if (f.fuel, f.kg_co2e_per_km, f.source)
            == (vehicle.fuel, vehicle.kg_co2e_per_km, vehicle.emission_factor_source)
        ),
        "",
    )
    return {
        "name": vehicle.name,
        "slug": vehicle.slug,
        "registration": vehicle.registration,
        "fuel": vehicle.fuel.value,
        "emission_factor": on_file,
        "kg_co2e_per_km": f"{vehicle.kg_co2e_per_km:g}",
        "emission_factor_source": vehicle.emission_factor_source,
        "average_speed_kmh": f"{vehicle.average_speed_kmh:g}",
    }


async def staff_edit_vehicle(request: Request) -> Response:
    """Change a vehicle's name, registration, fuel, emission factor or speed."""
    vehicle = await Vehicle.get_or_none(id=request.path_params["id"])
    if vehicle is None:
        raise NotFound("vehicle")
    library = await Library.get(id=vehicle.library_id)  # type: ignore[attr-defined]
    user = await auth.require_library_role(request, library.id, EDITORS)
    if request.method == "GET":
        entered = _vehicle_form(vehicle, list(await EmissionFactor.all()))
        return await _vehicle_page(request, library, vehicle, entered)
    entered = await _entered(request)
    body = _vehicle_payload(entered)
    try:
        await save_vehicle(library, user, body, vehicle=vehicle, changes=body)
    except Invalid as exc:
        return await _vehicle_page(request, library, vehicle, entered, exc.fields)
    staff.flash(request, f"Vehicle {vehicle.name} saved.")
    return RedirectResponse("/staff/bookmobile", status_code=303)


# Staff paths first: ``/{library}/bookmobile`` would match ``/staff/bookmobile``.
routes: list[BaseRoute] = [
    Endpoint("/staff/bookmobile", staff.page(staff_routes), methods=["GET"]),
    Endpoint("/staff/bookmobile/import", staff.page(staff_import), methods=["POST"]),
    Endpoint(
        "/staff/bookmobile/vehicles/new", staff.page(staff_new_vehicle), methods=["GET", "POST"]
    ),
    Endpoint(
        "/staff/bookmobile/vehicles/{id:id}/edit",
        staff.page(staff_edit_vehicle),
        methods=["GET", "POST"],
    ),
    Endpoint("/staff/bookmobile/routes/{id:id}", staff.page(staff_route), methods=["GET"]),
    Endpoint(
        "/staff/bookmobile/routes/{id:id}/cancel-run",
        staff.page(staff_cancel_run),
        methods=["POST"],
    ),
    Endpoint(
        "/staff/bookmobile/routes/{id:id}/optimise", staff.page(staff_optimise), methods=["POST"]
    ),
    Endpoint("/staff/bookmobile/routes/{id:id}/apply", staff.page(staff_apply), methods=["POST"]),
]
routes += [
    Endpoint("/feeds/{library:slug}/routes/{id:id}.ics", route_feed, methods=["GET"]),
    Endpoint("/feeds/{library:slug}/stops/{id:id}.ics", stop_feed, methods=["GET"]),
]
