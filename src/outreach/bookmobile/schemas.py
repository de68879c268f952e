"""Declared query parameters of the bookmobile API: which library, which days, where.

The bodies of vehicles, routes and stops are still read by :mod:`outreach.bookmobile.
timetable` and :mod:`outreach.bookmobile.vehicles`, which also read the staff forms and
the open-data CSV (issue 12).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field

from outreach.schemas import SLUG_PATTERN, Answer, Coordinate, Count, Day, Declared, Text

MAX_NEAREST = 20
LibrarySlug = Annotated[str, Text(64, SLUG_PATTERN, "a library slug")]


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


LocalDay = Annotated[Annotated[dt.date, Day("2026-01-13")] | None, BeforeValidator(_blank_is_none)]


class LibraryFilter(Declared):
    """``?library=``: one library's items (default: every library's)."""

    unknown: ClassVar[str] = "is not a parameter"
    library: LibrarySlug | None = Field(None, description="library slug (default: every library)")


class EmissionsQuery(Declared):
    """Local days ``from`` … ``to`` (default: the 365 days up to today)."""

    unknown: ClassVar[str] = "is not a parameter"
    from_: LocalDay = Field(None, alias="from", description="first local day")
    to: LocalDay = Field(None, description="last local day (default: today)")


class NearestQuery(Declared):
    """Where to look from, how many stops, in which library."""

    unknown: ClassVar[str] = "is not a parameter"
    required: ClassVar[dict[str, str]] = {
        "lat": "must be a number between -90 and 90",
        "lon": "must be a number between -180 and 180",
    }
    lat: Annotated[float, Coordinate(-90, 90)] = Field(description="latitude")
    lon: Annotated[float, Coordinate(-180, 180)] = Field(description="longitude")
    limit: Annotated[
        int, Count(1, MAX_NEAREST, f"must be a whole number between 1 and {MAX_NEAREST}")
    ] = 5
    library: LibrarySlug | None = Field(None, description="library slug (default: every library)")


class ImportQuery(Declared):
    """The library a timetable is imported into, and its depot (a branch id or slug)."""

    unknown: ClassVar[str] = "is not a parameter"
    required: ClassVar[dict[str, str]] = {"library": "is required (a library slug)"}
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
