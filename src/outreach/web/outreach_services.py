"""Outreach services over HTTP: the API (list services, record and list visits, plan a
delivery round's stop order) and the staff page where a round is recorded in a minute
(``/staff/outreach``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outreach.bookmobile.schemas import MAX_TOLERANCE, Clock, MinutesParked
from outreach.errors import Invalid, NotFound
from outreach.i18n import format_number
from outreach.i18n import gettext as _
from outreach.models import Branch, Library, OutreachService, ServiceKind, Vehicle
from outreach.scheduling.recurrence import zone
from outreach.schemas import (
    SLUG_PATTERN,
    Answer,
    Day,
    Declared,
    Number,
    Tally,
    Text,
    Whole,
    validate,
)
from outreach.services.rounds import MAX_ROUND_STOPS, RoundStop, plan_round
from outreach.services.visits import (
    MAX_COUNT,
    MAX_KM,
    VisitInput,
    record_visit,
    service_by_id,
    service_json,
    services_of,
    visit_json,
    visits_of,
)
from outreach.web import auth, long_work, staff
from outreach.web.auth import EDITORS, READERS
from outreach.web.boundary import declare, read_json, read_query
from outreach.web.routes_api import routing_client
from outreach.workers import WorkersBusy, WorkTimedOut

SlugRef = Annotated[str, Text(64, SLUG_PATTERN, "a slug")]
Count = Annotated[int, Tally(MAX_COUNT)]
FORM = ("service", "day", "people_served", "institutions_served", "items", "km")
RECENT = 8


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


class ServiceOut(Answer):
    id: int
    library: str
    slug: str
    kind: str
    name: dict[str, str]
    description: dict[str, str]
    # Where the service is modelled from: the strategy document's words, or demo.
    source: dict[str, Any] | None
    demo: bool


class ServiceList(Answer):
    services: list[ServiceOut]


class VisitIn(Declared):
    """One round or deposit change: its local day and counts (never who), km driven."""

    what = "a visit"
    day: Annotated[dt.date, Day("2026-11-10")]
    people_served: Count = 0
    institutions_served: Count = 0
    items: Count = 0
    km: Annotated[float, Number(0, MAX_KM)] = 0.0
    vehicle: SlugRef | None = Field(None, description="vehicle slug; default the service's")


class VisitOut(Answer):
    id: int
    day: str
    people_served: int
    institutions_served: int
    items: int
    km: float
    vehicle: str | None
    kg_co2e: float


class VisitList(Answer):
    visits: list[VisitOut]


class VisitQuery(Declared):
    from_: Annotated[Annotated[dt.date, Day()] | None, BeforeValidator(_blank_is_none)] = Field(
        None, alias="from", description="first day"
    )
    to: Annotated[Annotated[dt.date, Day()] | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="last day"
    )


class RoundStopIn(Declared):
    """An address of the round as a point (not stored), minutes there, a promised time."""

    what = "a stop"
    lat: Annotated[float, Number(-90, 90)]
    lon: Annotated[float, Number(-180, 180)]
    minutes: MinutesParked
    arrival: Clock | None = None


class RoundIn(Declared):
    """A delivery round to plan: the depot branch and the day's stops in the order given."""

    what = "a round"
    depot: SlugRef
    stops: Annotated[list[RoundStopIn], Field(min_length=1, max_length=MAX_ROUND_STOPS)]
    vehicle: SlugRef | None = None
    tolerance_minutes: Annotated[int, Whole(0, MAX_TOLERANCE)] = 30
    time_limit_seconds: Annotated[float, Number(0.05, 10)] = 1.0


class RoundOut(Answer):
    order: list[int]
    arrivals: list[str] | None
    km: float
    km_as_given: float
    km_saved: float
    kg_co2e_saved: float
    found_by: str
    vehicle: str | None
    distance_source: str
    notes: list[str]


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    return library


async def _service(request: Request) -> tuple[OutreachService, Library]:
    service = await service_by_id(request.path_params["id"])
    return service, await Library.get(id=service.library_id)  # type: ignore[attr-defined]


async def _vehicle_slugs(library: Library) -> dict[int, str]:
    return {v.id: v.slug for v in await Vehicle.filter(library_id=library.id)}


@declare(answer=ServiceList)
async def list_services(request: Request) -> JSONResponse:
    """The library's outreach services besides its bookmobile routes."""
    library = await _library(request.path_params["slug"])
    services = await services_of(library)
    return JSONResponse(
        {"services": [{**service_json(s), "library": library.slug} for s in services]}
    )


@declare(query=VisitQuery, answer=VisitList)
async def list_visits(request: Request) -> JSONResponse:
    """The service's recorded visits, newest first (staff of the library only)."""
    service, library = await _service(request)
    await auth.require_library_role(request, library.id, READERS)
    query = read_query(request, VisitQuery)
    vehicles = await _vehicle_slugs(library)
    visits = await visits_of(service, query.from_, query.to)
    return JSONResponse(
        {
            "visits": [
                visit_json(v, vehicles.get(v.vehicle_id))  # type: ignore[attr-defined]
                for v in visits
            ]
        }
    )


@declare(body=VisitIn, answer=VisitOut, status=201)
async def create_visit(request: Request) -> JSONResponse:
    """Record a round: counts only, never who was served."""
    service, library = await _service(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    new = await read_json(request, VisitIn)
    visit = await record_visit(
        service,
        VisitInput(
            new.day, new.people_served, new.institutions_served, new.items, new.km, new.vehicle
        ),
        user=user,
    )
    vehicles = await _vehicle_slugs(library)
    return JSONResponse(
        visit_json(visit, vehicles.get(visit.vehicle_id)),  # type: ignore[attr-defined]
        status_code=201,
    )


@declare(body=RoundIn, answer=RoundOut, idempotent=False)
async def plan(request: Request) -> Response:
    """The shortest stop order found for a delivery round; nothing is stored."""
    service, library = await _service(request)
    await auth.require_library_role(request, library.id, READERS)
    body = await read_json(request, RoundIn)
    depot = await Branch.get_or_none(library_id=library.id, slug=body.depot)
    vehicle = (
        await Vehicle.get_or_none(library_id=library.id, slug=body.vehicle)
        if body.vehicle is not None
        else await Vehicle.get_or_none(id=service.vehicle_id)  # type: ignore[attr-defined]
        if service.vehicle_id is not None  # type: ignore[attr-defined]
        else None
    )
    problems: dict[str, str] = {}
    if depot is None:
        problems["depot"] = _("is not a branch of this library")
    if body.vehicle is not None and vehicle is None:
        problems["vehicle"] = _("is not a vehicle of this library")
    if problems:
        raise Invalid(problems)
    assert depot is not None
    try:
        answer = await plan_round(
            depot,
            [RoundStop(s.lat, s.lon, s.minutes, s.arrival) for s in body.stops],
            vehicle=vehicle,
            tolerance=body.tolerance_minutes,
            time_limit=body.time_limit_seconds,
            pool=long_work.workers(request),
            client=routing_client(request),
        )
    except (WorkersBusy, WorkTimedOut) as exc:
        return long_work.unavailable(exc)
    return JSONResponse(answer)


# --- the staff page -----------------------------------------------------------------------


def kind_names() -> dict[str, str]:
    return {
        ServiceKind.MOBILE_COLLECTION.value: _("Mobile collection"),
        ServiceKind.HOME_DELIVERY.value: _("Home delivery"),
        ServiceKind.HOSPITAL_DELIVERY.value: _("Hospital delivery"),
    }


async def _page(
    request: Request,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    access = [a for a in await staff.libraries_of(request.state.user) if a.can_edit]
    sections = []
    for item in access:
        services = await services_of(item.library)
        if not services:
            continue
        today = dt.datetime.now(zone(item.library.timezone)).date()
        sections.append(
            {
                "library": item.library,
                "today": today.isoformat(),
                "services": [(s, await visits_of(s, last=today)) for s in services],
            }
        )
    return staff.render(
        request,
        "staff/outreach.html",
        {
            "sections": sections,
            "kinds": kind_names(),
            "form": entered or {},
            "errors": errors or {},
            "recent": RECENT,
        },
        status_code=422 if errors else 200,
    )


def _form_problems(fields: dict[str, str]) -> dict[str, str]:
    """The refused fields of the form, each told in the reader's language."""
    count = _("Enter a whole number from 0 to %(high)s.", high=format_number(MAX_COUNT))
    told = {
        "day": _("Enter the day of the round; it must not be after today."),
        "people_served": count,
        "institutions_served": count,
        "items": count,
        "km": _("Enter the kilometres driven, from 0 to %(high)s.", high=format_number(MAX_KM)),
    }
    problems = {name: told.get(name, problem) for name, problem in fields.items()}
    if fields.get("people_served", "").startswith("a round serves someone"):
        problems["people_served"] = _("Give the people, institutions or items the round served.")
    return problems


async def outreach_page(request: Request) -> Response:
    """Record a round of an outreach service; the last rounds of each service."""
    if request.method == "GET":
        return await _page(request)
    form = await request.form()
    entered = {name: str(form.get(name, "")).strip() for name in FORM}
    if not entered["service"].isdigit():
        return await _page(request, entered, {"service": _("Choose a service.")})
    service = await service_by_id(int(entered["service"]))
    user = await auth.require_library_role(
        request,
        service.library_id,  # type: ignore[attr-defined]
        EDITORS,
    )
    raw: dict[str, Any] = {"day": entered["day"]}
    errors: dict[str, str] = {}
    for name in ("people_served", "institutions_served", "items"):
        text = entered[name] or "0"
        if not text.isdigit():
            # Told in the reader's language by _form_problems.
            errors[name] = "must be a whole number"
        else:
            raw[name] = int(text)
    try:
        raw["km"] = float((entered["km"] or "0").replace(",", "."))
    except ValueError:
        errors["km"] = "must be a number"
    try:
        try:
            checked = validate(VisitIn, raw)
        except Invalid as exc:
            # Every field at fault at once: what the form could not read, then the rest.
            raise Invalid({**exc.fields, **errors}) from None
        if errors:
            raise Invalid(errors)
        await record_visit(
            service,
            VisitInput(
                checked.day,
                checked.people_served,
                checked.institutions_served,
                checked.items,
                checked.km,
            ),
            user=user,
        )
    except Invalid as exc:
        return await _page(request, entered, _form_problems(exc.fields))
    library = await Library.get(id=service.library_id)  # type: ignore[attr-defined]
    staff.flash(
        request,
        _(
            "Round of %(service)s recorded.",
            service=service.name.get(library.default_language) or service.name.get("en", ""),
        ),
    )
    return RedirectResponse("/staff/outreach", status_code=303)


routes: list[BaseRoute] = [
    Route("/api/libraries/{slug:slug}/outreach-services", list_services, methods=["GET"]),
    Route("/api/outreach-services/{id:id}/visits", list_visits, methods=["GET"]),
    Route("/api/outreach-services/{id:id}/visits", create_visit, methods=["POST"]),
    Route("/api/outreach-services/{id:id}/rounds/plan", plan, methods=["POST"]),
    Route("/staff/outreach", staff.page(outreach_page), methods=["GET", "POST"]),
]
