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

from outreach import i18n, publicity
from outreach.bookmobile.emissions import footprint
from outreach.bookmobile.jobs import ImportJob, import_off_loop
from outreach.bookmobile.open_data import (
    COLUMNS,
    MAX_ROWS,
    MAX_VISITS,
    import_problem,
    import_summary,
)
from outreach.bookmobile.timetable import (
    ApprovalNeeded,
    Found,
    TimetableError,
    VehicleBusy,
    add_route,
    cancel_run,
    change_route,
    change_stops,
    parse_date,
    parse_route,
    parse_stops,
    stop_fields,
)
from outreach.bookmobile.vehicles import save_vehicle
from outreach.feeds import ical
from outreach.feeds.build import BuiltFeed
from outreach.feeds.selection import Window, load_series, today
from outreach.i18n import (
    format_date,
    format_decimal,
    format_number,
    gettext,
    ngettext,
    speaking,
)
from outreach.languages import translated
from outreach.models import (
    Branch,
    EmissionFactor,
    Event,
    Fuel,
    Library,
    Route,
    Stop,
    Vehicle,
)
from outreach.scheduling import approval
from outreach.scheduling.recurrence import UTC, zone
from outreach.settings import Settings
from outreach.versions import current_data_version
from outreach.web import auth, long_work, staff
from outreach.web import bookmobile_forms as forms
from outreach.web.auth import EDITORS, READERS
from outreach.web.errors import Invalid, NotFound
from outreach.web.feeds import feed_cache, feed_response
from outreach.web.routes_api import (
    MAX_BODY,
    MAX_TOLERANCE,
    next_visits,
    optimise_route,
    routing_client,
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
    with speaking(lang):
        # Read in a calendar app beside the feed's name, so in the same language.
        description = gettext(
            "Bookmobile visits of %(route)s. Subscribe to keep them current.", route=route_title
        )
    cal = ical.calendar(name=name, uid=uid, description=description)
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
        raise NotFound("route", message=gettext("No such route."))
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
    visits = await next_visits([s.id for s in stops], limit=4, staff=True)
    first = stops[0].id if stops else None
    runs = [o.starts_at.astimezone(tz) for o in visits.get(first, [])] if first else []
    cancelled = {o.starts_at for o in visits.get(first, []) if o.cancelled} if first else set()
    event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
    vehicle = await Vehicle.get(id=route.vehicle_id)  # type: ignore[attr-defined]
    depot = await Branch.get(id=route.depot_id)  # type: ignore[attr-defined]
    return {
        "library": library,
        "route": route,
        "event": event,
        "vehicle": vehicle,
        "depot": depot,
        "schedule": _schedule_words(event.rrule),
        "stops": stops,
        "rows": forms.rows_from_stops(stops),
        "row_problems": {},
        "runs": [(run, run.astimezone(UTC) in cancelled) for run in runs],
        "can_edit": False,
        "proposal": None,
        "errors": {},
        "general": [],
        "note": "",
    }


def _schedule_words(rrule: str | None) -> str:
    """A plain weekly rule in words ("every other Tuesday"); any other rule as it is."""
    picked = forms.picker_from_rule(rrule)
    if picked["rrule"]:
        return picked["rrule"]
    day = dict(forms.weekday_choices())[picked["weekday"]]
    every = dict(forms.every_choices())[picked["every"]]
    # Translators: a bookmobile route's schedule, e.g. "Tuesday, every other week".
    return gettext("%(day)s, %(every)s", day=day, every=every)


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
    except ValueError:
        return await _route_page_with_errors(
            request, route, library, {"date": gettext("Give a date such as 2027-01-12.")}
        )
    except TimetableError as exc:
        return await _route_page_with_errors(
            request,
            route,
            library,
            _run_problems(exc, library, route, day),
            status_code=_refusal_status(exc),
        )
    staff.flash(
        request,
        ngettext(
            "The run of %(day)s is cancelled: %(num)s visit.",
            "The run of %(day)s is cancelled: %(num)s visits.",
            count,
            day=format_date(day, "full"),
        ),
    )
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


def _run_problems(
    exc: TimetableError, library: Library, route: Route, day: dt.date
) -> dict[str, str]:
    """A refused cancellation in words: the route has no run that day."""
    if isinstance(exc, VehicleBusy):
        return {"vehicle": forms.vehicle_busy(exc.conflicts, library.timezone)}
    return {
        "date": gettext(
            "Route %(code)s has no run on %(day)s.", code=route.code, day=format_date(day, "full")
        )
    }


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
    """409 for a vehicle booked twice (a conflict, as for rooms and staff) or a change
    only a director may make, else 422."""
    return 409 if isinstance(exc, VehicleBusy | ApprovalNeeded) else 422


async def staff_stops(request: Request) -> Response:
    """The stops' form: up, down, remove and add rewrite the rows (nothing saved); save
    replaces the route's stops with the rows, in their order."""
    route, library = await _staff_route(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    form = await request.form()
    rows = forms.rows_from_form(form)
    action = forms.action_of(form)
    context = await _route_context(route, library)
    context["can_edit"] = True
    if action != "save":
        edited = forms.apply_action(rows, action)
        context.update(rows=edited.rows, note=edited.note)
        return staff.render(request, "bookmobile/staff_route.html", context)
    payload = forms.stops_payload(rows)
    errors: dict[str, str | Found] = {}
    stops = parse_stops(payload.stops, errors)
    status_code = 422
    if not errors:
        try:
            await change_stops(
                route, stops, user=user, approver=await auth.may_approve(user, library.id)
            )
        except VehicleBusy as exc:
            errors = {"vehicle": forms.vehicle_busy(exc.conflicts, library.timezone)}
            status_code = 409
        except TimetableError as exc:
            errors = exc.problems
            status_code = _refusal_status(exc)
    if not errors:
        staff.flash(
            request,
            ngettext(
                "The route's %(num)s stop is saved.",
                "The route's %(num)s stops are saved, in this order.",
                len(stops),
            ),
        )
        return RedirectResponse(f"/staff/bookmobile/routes/{route.id}#stops", status_code=303)
    problems = forms.place_problems(errors, payload)
    context.update(
        rows=rows,
        row_problems=problems.rows,
        general=problems.general + list(problems.route.values()),
    )
    if "vehicle" in errors:
        context["general"].append(str(errors["vehicle"]))
    return staff.render(request, "bookmobile/staff_route.html", context, status_code=status_code)


async def _route_form_context(library: Library) -> dict[str, Any]:
    return {
        "library": library,
        "vehicles": await Vehicle.filter(library_id=library.id).order_by("name"),
        "branches": await Branch.filter(library_id=library.id).order_by("name"),
        "weekdays": forms.weekday_choices(),
        "everies": forms.every_choices(),
    }


def _route_entered(form: Any) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip()[:1000] for name in forms.ROUTE_FIELDS}


async def staff_new_route(request: Request) -> Response:
    """A new route with its stops: its day and how often, its validity, and stop rows."""
    if request.method == "GET":
        library = await _library(request.query_params.get("library", ""))
    else:
        form = await request.form()
        library = await _library(str(form.get("library", "")))
    user = await auth.require_library_role(request, library.id, EDITORS)
    context = await _route_form_context(library)
    context.update(route=None, problems=forms.Problems(), note="")
    if request.method == "GET":
        today_local = dt.datetime.now(zone(library.timezone)).date()
        context["form"] = dict.fromkeys(forms.ROUTE_FIELDS, "") | {
            "every": "1",
            "weekday": forms.WEEKDAYS[today_local.weekday()],
            "valid_from": today_local.isoformat(),
            "detour_factor": "1.3",
        }
        context["rows"] = [forms.blank_row() for _ in range(3)]
        return staff.render(request, "bookmobile/staff_route_form.html", context)
    entered = _route_entered(form)
    rows = forms.rows_from_form(form)
    action = forms.action_of(form)
    context.update(form=entered, rows=rows)
    if action != "save":
        edited = forms.apply_action(rows, action)
        context.update(rows=edited.rows, note=edited.note)
        return staff.render(request, "bookmobile/staff_route_form.html", context)
    payload = forms.stops_payload(rows)
    approver = await auth.may_approve(user, library.id)
    try:
        data = await parse_route(library, forms.route_payload(entered, payload.stops))
        route = await add_route(
            library,
            data,
            user=user,
            approver=approver,
            base_url=request.app.state.settings.base_url,
        )
    except (TimetableError, Invalid) as exc:
        return _route_form_refused(request, context, exc, payload, library)
    if not approver and approval.asks_approval(library):
        staff.flash(
            request,
            gettext(
                "Route %(code)s is saved and waits for a director's approval:"
                " it is not public until then.",
                code=route.code,
            ),
        )
    else:
        staff.flash(request, gettext("Route %(code)s is saved.", code=route.code))
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


def _route_form_refused(
    request: Request,
    context: dict[str, Any],
    exc: TimetableError | Invalid,
    payload: forms.StopsPayload,
    library: Library,
) -> Response:
    if isinstance(exc, VehicleBusy):
        problems = forms.Problems(general=[forms.vehicle_busy(exc.conflicts, library.timezone)])
        status_code = 409
    elif isinstance(exc, ApprovalNeeded):
        problems = forms.Problems(general=list(exc.fields.values()))
        status_code = 409
    else:
        problems = forms.place_problems(
            exc.problems if isinstance(exc, TimetableError) else exc.fields, payload
        )
        status_code = 422
    context["problems"] = problems
    return staff.render(
        request, "bookmobile/staff_route_form.html", context, status_code=status_code
    )


async def staff_edit_route(request: Request) -> Response:
    """Change a route's code, name, vehicle, depot, day, validity or detour factor (its
    stops are changed on the route's page); cancelled runs are kept."""
    route, library = await _staff_route(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    context = await _route_form_context(library)
    context.update(route=route, problems=forms.Problems(), note="", rows=[])
    stops = await Stop.filter(route_id=route.id).order_by("position")
    if request.method == "GET":
        event = await Event.get(id=route.event_id)  # type: ignore[attr-defined]
        context["form"] = {
            "code": route.code,
            "name": route.name,
            "vehicle": str(route.vehicle_id),  # type: ignore[attr-defined]
            "depot": str(route.depot_id),  # type: ignore[attr-defined]
            "valid_from": route.valid_from.isoformat(),
            "valid_until": route.valid_until.isoformat() if route.valid_until else "",
            "detour_factor": f"{route.detour_factor:g}",
            **forms.picker_from_rule(event.rrule),
        }
        return staff.render(request, "bookmobile/staff_route_form.html", context)
    entered = _route_entered(await request.form())
    context["form"] = entered
    payload = forms.stops_payload(forms.rows_from_stops(stops))
    try:
        data = await parse_route(library, forms.route_payload(entered, payload.stops))
        await change_route(
            route, data, user=user, approver=await auth.may_approve(user, library.id)
        )
    except (TimetableError, Invalid) as exc:
        return _route_form_refused(request, context, exc, payload, library)
    staff.flash(request, gettext("Route %(code)s is saved.", code=route.code))
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


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
            {
                "tolerance_minutes": gettext(
                    "Give a whole number of minutes from 0 to %(most)s.", most=MAX_TOLERANCE
                )
            },
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
            request,
            route,
            library,
            {"stops": gettext("The route's stops changed since the proposal: propose again.")},
        )
    raw = [
        {**stop_fields(existing[int(stop_id)]), "arrival": arrival}
        for stop_id, arrival in zip(ids, arrivals, strict=True)
    ]
    errors: dict[str, str | Found] = {}
    stops = parse_stops(raw, errors)
    if errors:
        return await _route_page_with_errors(
            request,
            route,
            library,
            {"stops": gettext("The proposal no longer fits the route: propose again.")},
        )
    try:
        await change_stops(
            route, stops, user=user, approver=await auth.may_approve(user, library.id)
        )
    except VehicleBusy as exc:
        return await _route_page_with_errors(
            request,
            route,
            library,
            {"vehicle": forms.vehicle_busy(exc.conflicts, library.timezone)},
            status_code=409,
        )
    except ApprovalNeeded as exc:
        return await _route_page_with_errors(request, route, library, exc.fields, status_code=409)
    except TimetableError:
        return await _route_page_with_errors(
            request,
            route,
            library,
            {"stops": gettext("The proposal no longer fits the route: propose again.")},
        )
    staff.flash(
        request, gettext("The new stop order is saved; every stop's feed keeps its address.")
    )
    return RedirectResponse(f"/staff/bookmobile/routes/{route.id}", status_code=303)


async def staff_import_help(request: Request) -> Response:
    """How a timetable file must look: its columns, an example, its limits, its errors."""
    library = await _library(request.query_params.get("library", ""))
    await auth.require_library_role(request, library.id, EDITORS)
    context = {
        "library": library,
        "columns": forms.import_columns(),
        "example": forms.import_example(COLUMNS),
        "max_rows": format_number(MAX_ROWS),
        "max_visits": format_number(MAX_VISITS),
        "max_megabytes": format_decimal(MAX_BODY / 1_000_000),
    }
    return staff.render(request, "bookmobile/staff_import.html", context)


async def staff_import(request: Request) -> Response:
    """Import a timetable file (open mobile-library-stops format) into a library."""
    form = await request.form()
    library = await Library.get_or_none(slug=str(form.get("library", "")))
    if library is None:
        raise NotFound("library", message=gettext("No such library."))
    user = await auth.require_library_role(request, library.id, EDITORS)
    back = "/staff/bookmobile"
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        staff.flash(request, gettext("Choose a CSV file to import."), "error")
        return RedirectResponse(back, status_code=303)
    try:
        raw = await upload.read(MAX_BODY + 1)
    finally:
        # Uploads are spooled to temporary files: close them as soon as they are read.
        await form.close()
    settings: Settings = request.app.state.settings
    try:
        text = raw.decode("utf-8")
        if len(raw) > MAX_BODY:
            raise TimetableError(
                {"file": gettext("must be at most %(count)s bytes", count=format_number(MAX_BODY))}
            )
        job = ImportJob(
            database_url=settings.database_url,
            library_id=library.id,
            text=text,
            user_id=user.id,
            base_url=settings.base_url,
            approver=await auth.may_approve(user, library.id),
            language=i18n.current(),
        )
        result = await import_off_loop(long_work.workers(request), job)
    except UnicodeDecodeError:
        staff.flash(request, gettext("The file is not UTF-8 text; nothing was imported."), "error")
        return RedirectResponse(back, status_code=303)
    except (WorkersBusy, WorkTimedOut) as exc:
        staff.flash(
            request,
            gettext("The timetable was not imported: %(why)s.", why=long_work.refusal(exc)[1]),
            "error",
        )
        return RedirectResponse(back, status_code=303)
    except TimetableError as exc:
        for where, problem in exc.fields.items():
            staff.flash(request, import_problem(where, problem), "error")
        staff.flash(request, gettext("The timetable was not imported: nothing was saved."), "error")
        return RedirectResponse(back, status_code=303)
    staff.flash(
        request,
        gettext(
            "The timetable is imported. %(summary)s",
            summary=" ".join(import_summary(result)),
        ),
    )
    return RedirectResponse(back, status_code=303)


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
    staff.flash(request, gettext("Vehicle %(name)s added.", name=vehicle.name))
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
    staff.flash(request, gettext("Vehicle %(name)s saved.", name=vehicle.name))
    return RedirectResponse("/staff/bookmobile", status_code=303)


# Staff paths first: ``/{library}/bookmobile`` would match ``/staff/bookmobile``.
routes: list[BaseRoute] = [
    Endpoint("/staff/bookmobile", staff.page(staff_routes), methods=["GET"]),
    Endpoint("/staff/bookmobile/import", staff.page(staff_import), methods=["POST"]),
    Endpoint("/staff/bookmobile/import", staff.page(staff_import_help), methods=["GET"]),
    Endpoint("/staff/bookmobile/routes/new", staff.page(staff_new_route), methods=["GET", "POST"]),
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
    Endpoint(
        "/staff/bookmobile/routes/{id:id}/edit",
        staff.page(staff_edit_route),
        methods=["GET", "POST"],
    ),
    Endpoint("/staff/bookmobile/routes/{id:id}/stops", staff.page(staff_stops), methods=["POST"]),
]
routes += [
    Endpoint("/feeds/{library:slug}/routes/{id:id}.ics", route_feed, methods=["GET"]),
    Endpoint("/feeds/{library:slug}/stops/{id:id}.ics", stop_feed, methods=["GET"]),
]
