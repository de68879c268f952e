"""The stop order of a delivery round, by the bookmobile's optimiser.

A round is planned from the depot (a branch) through the addresses of the day and back.
The addresses are points only, given for the planning and never stored (a home delivery's
stops are patrons' homes): what is kept of a round is its counts and kilometres
(:mod:`outreach.services.visits`). Stops may carry the time they were promised (then each
keeps it within ``tolerance`` minutes) or none (then any order within the day will do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from outreach.bookmobile.distance import RoutingClient, distances
from outreach.bookmobile.jobs import OptimiseJob, solve_off_loop
from outreach.bookmobile.optimise import MINUTES_PER_DAY, StopWindow, route_km
from outreach.errors import Invalid
from outreach.models import Branch, Vehicle
from outreach.workers import WorkerPool

# A car in town: the speed the optimiser drives at when the round names no vehicle.
DEFAULT_SPEED_KMH = 30.0
MAX_ROUND_STOPS = 60
# Without promised times every stop may come at any time of the day.
NOON = MINUTES_PER_DAY // 2


@dataclass(frozen=True)
class RoundStop:
    """An address of the round as a point, its minutes there and a promised time, if any."""

    lat: float
    lon: float
    minutes: int
    arrival: dt.time | None = None


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def plan_round(
    depot: Branch,
    stops: Sequence[RoundStop],
    *,
    vehicle: Vehicle | None,
    tolerance: int,
    time_limit: float,
    pool: WorkerPool,
    client: RoutingClient | None = None,
    detour_factor: float = 1.3,
) -> dict[str, Any]:
    """The shortest order found for the round (never longer than the order given, nor than
    a driver's nearest-neighbour order where either keeps the promised times), its
    kilometres and those of the order given, and the CO2e saved at the vehicle's factor."""
    promised = [s.arrival is not None for s in stops]
    if any(promised) and not all(promised):
        raise Invalid({"stops": "give a promised arrival for every stop or for none"})
    if not 1 <= len(stops) <= MAX_ROUND_STOPS:
        raise Invalid({"stops": f"a round has 1 to {MAX_ROUND_STOPS} stops"})
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops)]
    found = await distances(points, detour_factor=detour_factor, client=client)
    timed = all(promised) and bool(stops)
    windows = [
        StopWindow(_minutes(s.arrival) if s.arrival is not None else NOON, s.minutes) for s in stops
    ]
    given = list(range(len(stops)))
    solution = await solve_off_loop(
        pool,
        OptimiseJob(
            windows,
            found.matrix,
            speed_kmh=vehicle.average_speed_kmh if vehicle is not None else DEFAULT_SPEED_KMH,
            tolerance=tolerance if timed else NOON,
            time_limit=time_limit,
            initial=given,
        ),
    )
    given_km = route_km(given, found.matrix)
    factor = vehicle.kg_co2e_per_km if vehicle is not None else 0.0
    plan = solution.plan
    if plan is None:
        raise Invalid(
            {"stops": f"no order reaches every stop within {tolerance} minutes of its time"}
        )
    return {
        "order": plan.order,
        "arrivals": [_hhmm(a) for a in plan.arrivals] if timed else None,
        "km": round(plan.km, 2),
        "km_as_given": round(given_km, 2),
        "km_saved": round(given_km - plan.km, 2),
        "kg_co2e_saved": round((given_km - plan.km) * factor, 2),
        "found_by": plan.found_by,
        "vehicle": vehicle.slug if vehicle is not None else None,
        "distance_source": found.source,
        "notes": list(found.notes),
    }
