"""Kilometres and CO2e of bookmobile runs, per route and per vehicle, for a period.

A run is one day of a route: depot, every stop visited that day in order, back to the
depot. Stops whose visit was cancelled are skipped (the bookmobile does not drive there);
a run with every visit cancelled is not driven at all. Private stops count: the vehicle
drives to them whether or not the public sees them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from outreach.bookmobile.distance import Distances, RoutingClient, distances
from outreach.models import (
    Attendance,
    Branch,
    EmissionFactor,
    Fuel,
    Library,
    Occurrence,
    Route,
    Stop,
    Vehicle,
)
from outreach.scheduling.recurrence import to_local, zone


@dataclass
class Figures:
    """Kilometres and emissions of some runs, with the ratios directors ask for."""

    runs: int = 0
    visits: int = 0
    visitors: int = 0
    km: float = 0.0
    kg_co2e: float = 0.0

    def add(self, other: Figures) -> None:
        self.runs += other.runs
        self.visits += other.visits
        self.visitors += other.visitors
        self.km += other.km
        self.kg_co2e += other.kg_co2e

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "visits": self.visits,
            "visitors": self.visitors,
            "km": round(self.km, 1),
            "kg_co2e": round(self.kg_co2e, 1),
            "km_per_run": round(self.km / self.runs, 1) if self.runs else None,
            "kg_co2e_per_visit": round(self.kg_co2e / self.visits, 2) if self.visits else None,
            "kg_co2e_per_visitor": (
                round(self.kg_co2e / self.visitors, 2) if self.visitors else None
            ),
        }


@dataclass
class RouteEmissions:
    """One route's figures for a period, and the same runs with an electric vehicle."""

    route: Route
    vehicle: Vehicle
    figures: Figures
    electric: EmissionFactor | None
    distance_source: str
    notes: list[str] = field(default_factory=list)

    @property
    def electric_kg(self) -> float | None:
        return None if self.electric is None else self.figures.km * self.electric.kg_co2e_per_km

    def as_dict(self) -> dict[str, Any]:
        electric: dict[str, Any] | None = None
        if self.electric is not None:
            kg = self.figures.km * self.electric.kg_co2e_per_km
            as_electric = Figures(
                self.figures.runs, self.figures.visits, self.figures.visitors, self.figures.km, kg
            ).as_dict()
            electric = {
                "emission_factor": factor_dict(self.electric),
                "kg_co2e": as_electric["kg_co2e"],
                "kg_co2e_per_visit": as_electric["kg_co2e_per_visit"],
                "kg_co2e_per_visitor": as_electric["kg_co2e_per_visitor"],
                "kg_co2e_saved": round(self.figures.kg_co2e - kg, 1),
            }
        return {
            "route": {"id": self.route.id, "code": self.route.code, "name": self.route.name},
            "vehicle": {
                "id": self.vehicle.id,
                "slug": self.vehicle.slug,
                "name": self.vehicle.name,
                "fuel": self.vehicle.fuel.value,
                "kg_co2e_per_km": self.vehicle.kg_co2e_per_km,
                "emission_factor_source": self.vehicle.emission_factor_source,
            },
            **self.figures.as_dict(),
            "distance_source": self.distance_source,
            "notes": self.notes,
            "electric": electric,
        }


def factor_dict(factor: EmissionFactor) -> dict[str, Any]:
    return {
        "slug": factor.slug,
        "fuel": factor.fuel.value,
        "vehicle_class": factor.vehicle_class,
        "kg_co2e_per_km": factor.kg_co2e_per_km,
        "source": factor.source,
        "year": factor.year,
    }


async def electric_factor() -> EmissionFactor | None:
    """The newest electric-vehicle factor on file (a library may load its own)."""
    return await EmissionFactor.filter(fuel=Fuel.ELECTRIC).order_by("-year", "id").first()


async def route_distances(
    route: Route, stops: Sequence[Stop], *, client: RoutingClient | None = None
) -> Distances:
    """Distances between the depot (index 0) and the route's stops (index i + 1)."""
    depot = await Branch.get(id=route.depot_id)  # type: ignore[attr-defined]
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops)]
    return await distances(points, detour_factor=route.detour_factor, client=client)


def run_km(matrix: Distances, visited: Sequence[int]) -> float:
    """Depot, the stops with these indexes (in route order), back to the depot."""
    if not visited:
        return 0.0
    return matrix.path_km([0, *(i + 1 for i in sorted(visited)), 0])


async def route_emissions(
    route: Route,
    start: dt.datetime,
    end: dt.datetime,
    *,
    client: RoutingClient | None = None,
    electric: EmissionFactor | None = None,
) -> RouteEmissions:
    """Runs, visits, visitors, km and kg CO2e of a route's visits in ``[start, end)``."""
    (found,) = await _emissions([route], start, end, client=client, electric=electric)
    return found


async def _emissions(
    routes: Sequence[Route],
    start: dt.datetime,
    end: dt.datetime,
    *,
    client: RoutingClient | None,
    electric: EmissionFactor | None = None,
) -> list[RouteEmissions]:
    """The figures of each route, read in the same few queries however many routes there
    are (their vehicles, libraries, depots, stops, visits and attendance each at once)."""
    if not routes:
        return []
    vehicles = {v.id: v for v in await Vehicle.filter(id__in={r.vehicle_id for r in routes})}  # type: ignore[attr-defined]
    libraries = {lib.id: lib for lib in await Library.filter(id__in={r.library_id for r in routes})}  # type: ignore[attr-defined]
    depots = {b.id: b for b in await Branch.filter(id__in={r.depot_id for r in routes})}  # type: ignore[attr-defined]
    stops_of: dict[int, list[Stop]] = defaultdict(list)
    for stop in await Stop.filter(route_id__in=[r.id for r in routes]).order_by("position"):
        stops_of[stop.route_id].append(stop)  # type: ignore[attr-defined]
    events = [r.event_id for r in routes]  # type: ignore[attr-defined]
    visits: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for event_id, original_start, stop_id in await Occurrence.filter(
        event_id__in=events,
        cancelled=False,
        stop_id__isnull=False,
        starts_at__gte=start,
        starts_at__lt=end,
    ).values_list("event_id", "original_start", "stop_id"):
        visits[int(str(event_id))].append((original_start, int(str(stop_id))))  # type: ignore[arg-type]
    visitors: dict[int, int] = defaultdict(int)
    for event_id, count in await Attendance.filter(
        event_id__in=events, original_start__gte=start, original_start__lt=end
    ).values_list("event_id", "count"):
        visitors[int(str(event_id))] += int(str(count))
    if electric is None:
        electric = await electric_factor()
    found = []
    for route in routes:
        vehicle = vehicles[route.vehicle_id]  # type: ignore[attr-defined]
        depot = depots[route.depot_id]  # type: ignore[attr-defined]
        stops = stops_of[route.id]
        tz = zone(libraries[route.library_id].timezone)  # type: ignore[attr-defined]
        points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops)]
        matrix = await distances(points, detour_factor=route.detour_factor, client=client)
        index = {stop.id: i for i, stop in enumerate(stops)}
        rows = visits[route.event_id]  # type: ignore[attr-defined]
        runs: dict[dt.date, list[int]] = defaultdict(list)
        for original_start, stop_id in rows:
            if stop_id in index:
                runs[to_local(original_start, tz).date()].append(index[stop_id])
        km = sum(run_km(matrix, visited) for visited in runs.values())
        figures = Figures(
            runs=len(runs),
            visits=len(rows),
            visitors=visitors[route.event_id],  # type: ignore[attr-defined]
            km=km,
            kg_co2e=km * vehicle.kg_co2e_per_km,
        )
        found.append(
            RouteEmissions(route, vehicle, figures, electric, matrix.source, list(matrix.notes))
        )
    return found


@dataclass
class Footprint:
    """The outreach footprint of a library for a period: by route, by vehicle, in total."""

    start: dt.datetime
    end: dt.datetime
    routes: list[RouteEmissions]

    def by_vehicle(self) -> list[tuple[Vehicle, Figures]]:
        totals: dict[int, tuple[Vehicle, Figures]] = {}
        for item in self.routes:
            _, figures = totals.setdefault(item.vehicle.id, (item.vehicle, Figures()))
            figures.add(item.figures)
        return sorted(totals.values(), key=lambda pair: pair[0].slug)

    def total(self) -> Figures:
        figures = Figures()
        for item in self.routes:
            figures.add(item.figures)
        return figures

    def notes(self) -> list[str]:
        return sorted({note for item in self.routes for note in item.notes})

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "total": self.total().as_dict(),
            "by_vehicle": [
                {"vehicle": {"id": v.id, "slug": v.slug, "name": v.name}, **f.as_dict()}
                for v, f in self.by_vehicle()
            ],
            "by_route": [item.as_dict() for item in self.routes],
            "notes": self.notes(),
        }


async def footprint(
    library_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    client: RoutingClient | None = None,
) -> Footprint:
    """Every route of a library for ``[start, end)`` (UTC instants): the report's section."""
    routes = await Route.filter(library_id=library_id).order_by("code")
    return Footprint(start, end, await _emissions(routes, start, end, client=client))
