"""Declared inputs and answers of the bookmobile API (pydantic v2, like the events'):
vehicles, routes and their stops, a cancelled run, a proposed stop order, the query
parameters, and what each operation answers.

The JSON API and the staff forms hand :mod:`outreach.bookmobile.timetable` and
:mod:`outreach.bookmobile.vehicles` the same payloads, which validate them with these
models; ``/openapi.json`` shows them. What needs the database or the library's zone (a
vehicle or depot by id or slug, an emission factor on file, a rule in the library's
zone, visits that overlap) is checked there.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from outreach.i18n import N_
from outreach.i18n import gettext as _
from outreach.models import Fuel, Visibility
from outreach.schemas import (
    MAX_ID,
    SLUG_PATTERN,
    Answer,
    Coordinate,
    Count,
    Day,
    Declared,
    Number,
    OneOf,
    Text,
    Whole,
    problem,
    problem_at,
)

MAX_NEAREST = 20
MAX_STOPS = 60
MAX_MINUTES_PARKED = 12 * 60
MAX_TOLERANCE = 180
MAX_NOTE = 500
CLOCK_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9](:00)?$"
ROUTE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
VEHICLE_SLUG = N_("1 to 64 lower-case letters, digits and '-'")
VEHICLE_SLUG_REQUIRED = N_("must be 1 to 64 lower-case letters, digits and '-'")
AT_LEAST_ONE_STOP = N_("must be a list of at least one stop")
LIBRARY_REQUIRED = N_("is required (a library slug)")
NOT_A_PARAMETER = N_("is not a parameter")
LibrarySlug = Annotated[str, Text(64, SLUG_PATTERN, N_("a library slug"))]


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _filled(value: str) -> str:
    """Text without its surrounding blanks, which must leave something."""
    value = value.strip()
    if not value:
        raise problem("required", _("is required"))
    return value


def _clock(value: object) -> dt.time:
    if isinstance(value, str) and re.fullmatch(CLOCK_PATTERN, value):
        hours, minutes = value.split(":")[:2]
        return dt.time(int(hours), int(minutes))
    raise problem("time", _("must be a time of day such as 09:45"))


def _minutes_parked(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise problem("int", _("must be a whole number of minutes"))
    if value <= 0:
        raise problem("between", _("must be more than 0 minutes"))
    if value > MAX_MINUTES_PARKED:
        raise problem("between", _("must be at most %(count)s minutes", count=MAX_MINUTES_PARKED))
    return value


_REFERENCES = {
    "vehicle": N_("must be a vehicle id or slug"),
    "branch": N_("must be a branch id or slug"),
}


def _reference(what: str) -> Callable[[object], int | str]:
    """The check of a thing of the library by id or slug (resolved later)."""

    def check(value: object) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        if isinstance(value, str) and re.match(SLUG_PATTERN, value):
            return value
        raise problem("reference", _(_REFERENCES[what]))

    return check


def _reference_schema(what: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "maxLength": 64, "pattern": SLUG_PATTERN},
        ],
        "description": f"the {what}'s id or slug",
    }


LocalDay = Annotated[Annotated[dt.date, Day("2026-01-13")] | None, BeforeValidator(_blank_is_none)]
Name = Annotated[str, Text(200), AfterValidator(_filled)]
Clock = Annotated[
    dt.time,
    PlainValidator(_clock),
    WithJsonSchema({"type": "string", "pattern": CLOCK_PATTERN, "description": "HH:MM, local"}),
]
MinutesParked = Annotated[
    int,
    PlainValidator(_minutes_parked),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_MINUTES_PARKED}),
]
VehicleRef = Annotated[
    int | str, PlainValidator(_reference("vehicle")), WithJsonSchema(_reference_schema("vehicle"))
]
BranchRef = Annotated[
    int | str, PlainValidator(_reference("branch")), WithJsonSchema(_reference_schema("branch"))
]
RouteCode = Annotated[
    str, Text(32, ROUTE_CODE_PATTERN, N_("1 to 32 letters, digits, '.', '_' or '-'"))
]
Rule = Annotated[
    str,
    Text(500),
    Field(description="RFC 5545 RRULE in the library's zone, e.g. FREQ=WEEKLY;BYDAY=TU"),
]
FirstDay = Annotated[dt.date, Day("2026-01-13")]
Speed = Annotated[float, Number(5, 130, N_("must be a number between 5 and 130"))]
DetourFactor = Annotated[float, Number(1, 5)]


# -- bodies ---------------------------------------------------------------------------------


class StopIn(Declared):
    """A stop of a route, in route order; ``id`` keeps an existing stop (and its feed)."""

    what: ClassVar[str] = "a stop"
    read_only: ClassVar[tuple[str, ...]] = ("position", "departure", "feed")
    name: Name
    community: Annotated[str, Text(200)] = ""
    address: Annotated[str, Text(300)] = ""
    postcode: Annotated[str, Text(16)] = ""
    lat: Annotated[float, Number(-90, 90)]
    lon: Annotated[float, Number(-180, 180)]
    arrival: Clock
    minutes_parked: MinutesParked
    visibility: Annotated[str, OneOf(tuple(v.value for v in Visibility))] = Visibility.PUBLIC.value
    id: Annotated[int, Whole(1, MAX_ID)] | None = Field(
        None, description="the id of a stop of this route, to keep it"
    )


# A stop's fields as they are written (the staff form's columns, the optimiser's body for
# ``PUT /api/routes/{id}/stops``): StopIn's, its ``id`` first.
STOP_FIELDS: tuple[str, ...] = ("id", *(name for name in StopIn.model_fields if name != "id"))


def _stop_list(value: object) -> object:
    if not isinstance(value, list) or not value:
        raise problem("stops", _(AT_LEAST_ONE_STOP))
    if len(value) > MAX_STOPS:
        raise problem("stops", _("a route has at most %(count)s stops", count=MAX_STOPS))
    return value


Stops = Annotated[
    list[StopIn], BeforeValidator(_stop_list), Field(min_length=1, max_length=MAX_STOPS)
]


class StopsIn(Declared):
    """``PUT /api/routes/{id}/stops``: the route's stops, in their new order."""

    what: ClassVar[str] = "the stops"
    required: ClassVar[dict[str, str]] = {"stops": AT_LEAST_ONE_STOP}
    stops: Stops


class RouteFields(Declared):
    """A route's timetable: its code, name, vehicle, depot, rule, validity and stops."""

    what: ClassVar[str] = "a route"
    read_only: ClassVar[tuple[str, ...]] = ("id", "event", "feed", "revision", "status", "weekday")
    required: ClassVar[dict[str, str]] = {
        "vehicle": N_("is required (a vehicle id or slug)"),
        "depot": N_("is required (a branch id or slug)"),
        "stops": AT_LEAST_ONE_STOP,
    }
    code: RouteCode
    name: Name
    vehicle: VehicleRef
    depot: BranchRef
    rrule: Rule
    valid_from: FirstDay = Field(description="the first run's day (a day of the rule)")
    valid_until: LocalDay = Field(None, description="the last day a run may fall on")
    detour_factor: DetourFactor = Field(
        1.3, description="road distance over straight-line distance"
    )
    stops: Stops


class NewRoute(RouteFields):
    """``POST /api/routes``: a new route of ``library`` with its stops."""

    required: ClassVar[dict[str, str]] = {
        **RouteFields.required,
        "library": LIBRARY_REQUIRED,
    }
    library: LibrarySlug


class RouteChange(Declared):
    """``PATCH /api/routes/{id}``: the fields to change (stops change with ``PUT
    /api/routes/{id}/stops``); ``valid_until: null`` lets the route run on."""

    what: ClassVar[str] = "a route"
    unknown: ClassVar[str] = N_("cannot be changed here")
    code: RouteCode | None = None
    name: Name | None = None
    vehicle: VehicleRef | None = None
    depot: BranchRef | None = None
    rrule: Rule | None = None
    valid_from: FirstDay | None = None
    valid_until: LocalDay = None
    detour_factor: DetourFactor | None = None

    @model_validator(mode="before")
    @classmethod
    def _stops_elsewhere(cls, data: Any) -> Any:
        if isinstance(data, dict) and "stops" in data:
            raise problem_at("stops", _("cannot be changed here; PUT them to the route's /stops"))
        return data


SlugText = Annotated[str, Text(64, SLUG_PATTERN, VEHICLE_SLUG)]
FIGURE = ("fuel", "kg_co2e_per_km", "emission_factor_source")
SOURCE_REQUIRED = N_("must name where the figure comes from")


class _Absent:
    """Stands for a figure that a vehicle without a factor on file must have."""


_ABSENT = _Absent()


def _source(value: object) -> object:
    if value is _ABSENT or (isinstance(value, str) and not value.strip()):
        raise problem("required", _(SOURCE_REQUIRED))
    return value


Fuels = Annotated[str, OneOf(tuple(f.value for f in Fuel))]
KgPerKm = Annotated[float, Number(0, 10, N_("must be a number of kg CO2e per km between 0 and 10"))]
Source = Annotated[str, Text(500), BeforeValidator(_source), AfterValidator(str.strip)]
# A factor's short name carries its source's figures ("…-rigid-3.5-7.5t-…"), dots included.
FACTOR_SLUG_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,63}$"
FactorSlug = Annotated[
    str, Text(64, FACTOR_SLUG_PATTERN, N_("one of the emission factors on file"))
]


class VehicleFields(Declared):
    """A vehicle: its emission factor is one on file (``emission_factor``, by slug) or
    ``fuel``, ``kg_co2e_per_km`` and the ``emission_factor_source`` of the figure."""

    what: ClassVar[str] = "a vehicle"
    read_only: ClassVar[tuple[str, ...]] = ("id",)
    required: ClassVar[dict[str, str]] = {
        "slug": VEHICLE_SLUG_REQUIRED,
        "name": N_("is required (at most 200 characters)"),
    }
    slug: SlugText
    name: Name
    registration: Annotated[str, Text(32), AfterValidator(str.strip)] = ""
    fuel: Fuels | None = None
    kg_co2e_per_km: KgPerKm | None = None
    emission_factor_source: Source | None = None
    emission_factor: FactorSlug | None = None
    average_speed_kmh: Speed = 40.0

    @model_validator(mode="before")
    @classmethod
    def _figure_without_factor(cls, data: Any) -> Any:
        # Without a factor on file the figure, its fuel and its source are required: each
        # missing one is marked, and fails its field's own check, so that all are named.
        if isinstance(data, dict) and data.get("emission_factor") is None:
            return {**data, **{name: _ABSENT for name in FIGURE if data.get(name) is None}}
        return data


class NewVehicle(VehicleFields):
    """``POST /api/vehicles``: a new vehicle of ``library``."""

    required: ClassVar[dict[str, str]] = {
        **VehicleFields.required,
        "library": LIBRARY_REQUIRED,
    }
    library: LibrarySlug


class VehicleChange(Declared):
    """``PATCH /api/vehicles/{id}``: the fields to change; a vehicle stays in its library."""

    what: ClassVar[str] = "a vehicle"
    read_only: ClassVar[tuple[str, ...]] = ("id",)
    slug: SlugText | None = None
    name: Name | None = None
    registration: Annotated[str, Text(32), AfterValidator(str.strip)] | None = None
    fuel: Fuels | None = None
    kg_co2e_per_km: KgPerKm | None = None
    emission_factor_source: Source | None = None
    emission_factor: FactorSlug | None = None
    average_speed_kmh: Speed | None = None

    @model_validator(mode="before")
    @classmethod
    def _stays(cls, data: Any) -> Any:
        if isinstance(data, dict) and "library" in data:
            raise problem_at("library", _("a vehicle cannot move to another library"))
        return data


class CancelRunIn(Declared):
    """``POST /api/routes/{id}/runs/{date}/cancel``: why (optional; an empty body too)."""

    what: ClassVar[str] = "a cancellation"
    note: Annotated[str, Text(MAX_NOTE), AfterValidator(str.strip)] = ""


class OptimiseIn(Declared):
    """``POST /api/routes/{id}/optimise``: how far a stop may move from its arrival, and
    how long the solver may search (an empty body takes the defaults)."""

    what: ClassVar[str] = "an optimisation"
    tolerance_minutes: Annotated[int, Whole(0, MAX_TOLERANCE)] = 30
    time_limit_seconds: Annotated[
        float, Number(0.05, 10, N_("must be a number between 0.05 and 10"))
    ] = 1.0


# -- query parameters -----------------------------------------------------------------------


class LibraryFilter(Declared):
    """``?library=``: one library's items (default: every library's)."""

    unknown: ClassVar[str] = NOT_A_PARAMETER
    library: LibrarySlug | None = Field(None, description="library slug (default: every library)")


class EmissionsQuery(Declared):
    """Local days ``from`` … ``to`` (default: the 365 days up to today)."""

    unknown: ClassVar[str] = NOT_A_PARAMETER
    from_: LocalDay = Field(None, alias="from", description="first local day")
    to: LocalDay = Field(None, description="last local day (default: today)")


class NearestQuery(Declared):
    """Where to look from, how many stops, in which library."""

    unknown: ClassVar[str] = NOT_A_PARAMETER
    required: ClassVar[dict[str, str]] = {
        "lat": N_("must be a number between -90 and 90"),
        "lon": N_("must be a number between -180 and 180"),
    }
    lat: Annotated[float, Coordinate(-90, 90)] = Field(description="latitude")
    lon: Annotated[float, Coordinate(-180, 180)] = Field(description="longitude")
    limit: Annotated[
        int, Count(1, MAX_NEAREST, N_("must be a whole number between %(low)s and %(high)s"))
    ] = 5
    library: LibrarySlug | None = Field(None, description="library slug (default: every library)")


class ImportQuery(Declared):
    """The library a timetable is imported into, and its depot (a branch id or slug)."""

    unknown: ClassVar[str] = NOT_A_PARAMETER
    required: ClassVar[dict[str, str]] = {"library": LIBRARY_REQUIRED}
    library: LibrarySlug
    depot: Annotated[Annotated[str, Text(64)] | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="depot branch id or slug"
    )


class VehicleOut(Answer):
    """A bookmobile with its emission factor and where the figure comes from."""

    id: int
    slug: str
    name: str
    registration: str
    fuel: str
    kg_co2e_per_km: float
    emission_factor_source: str
    average_speed_kmh: float


class VehicleList(Answer):
    vehicles: list[VehicleOut]


class StopOut(Answer):
    id: int
    position: int
    name: str
    community: str
    address: str
    postcode: str
    lat: float
    lon: float
    arrival: str = Field(description="HH:MM, local")
    departure: str = Field(description="HH:MM, local")
    minutes_parked: int
    visibility: str
    feed: str | None = Field(None, description="only for public stops")


class RouteOut(Answer):
    """A route with its vehicle and ordered stops (private stops only for its staff)."""

    id: int
    library: str
    code: str
    name: str
    vehicle: VehicleOut
    depot: int | None
    event: int
    rrule: str | None
    weekday: str
    valid_from: str
    valid_until: str | None
    detour_factor: float
    status: str
    revision: int
    feed: str
    stops: list[StopOut]


class RouteWritten(RouteOut):
    """The route after a write, with the legs its timetable leaves too little time for."""

    warnings: list[str]


class RouteList(Answer):
    routes: list[RouteOut]


class StopList(Answer):
    route: int
    stops: list[StopOut]


class CancelledRun(Answer):
    route: int
    date: str = Field(description="the local day of the run")
    visits_cancelled: int


class RouteRef(Answer):
    id: int
    code: str
    name: str


class EmissionsVehicle(Answer):
    id: int
    slug: str
    name: str
    fuel: str
    kg_co2e_per_km: float
    emission_factor_source: str


class EmissionFactorOut(Answer):
    slug: str
    fuel: str
    vehicle_class: str
    kg_co2e_per_km: float
    source: str
    year: int


class ElectricOut(Answer):
    """The same runs driven by the newest electric vehicle on file."""

    emission_factor: EmissionFactorOut
    kg_co2e: float
    kg_co2e_per_visit: float | None
    kg_co2e_per_visitor: float | None
    kg_co2e_saved: float


class EmissionsOut(Answer):
    """A route's runs, visits, visitors, kilometres and kg CO2e over local days."""

    from_: str = Field(alias="from", description="first local day")
    to: str = Field(description="last local day")
    route: RouteRef
    vehicle: EmissionsVehicle
    runs: int
    visits: int
    visitors: int
    km: float
    kg_co2e: float
    km_per_run: float | None
    kg_co2e_per_visit: float | None
    kg_co2e_per_visitor: float | None
    distance_source: str
    notes: list[str]
    electric: ElectricOut | None


class ProposedStop(StopOut):
    timetabled_arrival: str = Field(description="HH:MM, local: the arrival now")


class StopOrder(Answer):
    stops: list[StopOut]
    km_per_run: float


class Proposal(Answer):
    stops: list[ProposedStop]
    km_per_run: float


class SolverOut(Answer):
    status: str
    seconds: float


class ApplyOut(Answer):
    """The request that applies the proposal."""

    method: str
    url: str
    body: dict[str, list[dict[str, Any]]]


class OptimiseOut(Answer):
    """The shortest stop order found within the tolerance, and what it would save; the
    route is unchanged (``applied`` is false)."""

    route: int
    tolerance_minutes: int
    current: StopOrder
    proposal: Proposal | None
    km_saved_per_run: float
    runs_per_year: int
    km_saved_per_year: float
    kg_co2e_saved_per_year: float
    solver: SolverOut
    distance_source: str
    notes: list[str]
    applied: bool
    apply: ApplyOut | None


class ImportOut(Answer):
    """Route codes created, updated and unchanged, vehicles created, stops, warnings."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    vehicles_created: list[str]
    stops: int
    warnings: list[str]


class VisitOut(Answer):
    starts_at: str = Field(description="UTC instant")
    ends_at: str = Field(description="UTC instant")
    local_start: str = Field(description="local date-time with its offset")
    cancelled: bool


class NearStop(StopOut):
    distance_km: float
    library: str
    route: RouteRef
    next_visits: list[VisitOut]


class NearestOut(Answer):
    lat: float
    lon: float
    stops: list[NearStop]
