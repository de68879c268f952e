"""A shorter stop order that keeps every stop within its arrival window (OR-Tools).

The problem is a single-vehicle routing problem with time windows: the bookmobile leaves
the depot, visits every stop once, parks there for its minutes, and returns. Each stop
must be reached within ``tolerance`` minutes of its timetabled arrival; driving time is
distance at the vehicle's average speed. The solver minimises metres driven.

The answer is never longer than a baseline that keeps every window: the current order and
a driver's nearest-neighbour order are checked first, the shortest of those that keep the
windows seeds the solver (guided local search from there), and it is the answer whenever
the solver finds nothing shorter. Arrivals are then set so that the vehicle does not stand
idle: the first stop as timetabled, every later one as early as its window allows.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

# OR-Tools ships no type information for its SWIG wrapper: it is used as Any.
from ortools.constraint_solver import (  # type: ignore[import-untyped]
    pywrapcp,
    routing_enums_pb2,
)

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class StopWindow:
    """One stop as the solver sees it: its timetabled arrival and parked time in minutes."""

    arrival: int  # minutes after local midnight
    parked: int


# What found a plan: the solver, or one of the baselines it could not better.
SOLVER = "solver"
TIMETABLE = "timetable"
NEAREST_NEIGHBOUR = "nearest neighbour"


@dataclass(frozen=True)
class Plan:
    """A stop order (indexes into the stops given) with arrivals in minutes after midnight."""

    order: list[int]
    arrivals: list[int]
    km: float
    found_by: str = SOLVER


@dataclass(frozen=True)
class Solution:
    """The optimiser's answer: the best plan found (or ``None``) and how long it took."""

    plan: Plan | None
    seconds: float
    status: str


def travel_minutes(km: float, speed_kmh: float) -> int:
    """Whole minutes to drive ``km`` at ``speed_kmh`` (rounded up: a timetable is in minutes)."""
    return math.ceil(km / speed_kmh * 60 - 1e-9)


def schedule(
    order: Sequence[int],
    stops: Sequence[StopWindow],
    matrix: Sequence[Sequence[float]],
    *,
    speed_kmh: float,
    tolerance: int,
) -> list[int] | None:
    """Arrivals for ``order`` (node 0 is the depot, stop i is node i + 1), or ``None``.

    The first stop is reached as close to its timetabled arrival as its window and the
    stops after it allow; every later stop as early as its window and the driving before it
    allow, so the vehicle never waits at a stop longer than a window forces it to (held at
    their timetabled times, the stops of a new order could leave it idle for hours between
    two of them). A backward pass finds the latest arrival that still lets every later stop
    keep its window, the forward pass the earliest one driving allows. ``None`` when some
    window cannot be kept.
    """
    n = len(order)
    parked = [stops[i].parked for i in order]
    low = [max(0, stops[i].arrival - tolerance) for i in order]
    high = [min(MINUTES_PER_DAY - stops[i].parked, stops[i].arrival + tolerance) for i in order]
    drive = [
        travel_minutes(matrix[order[k] + 1][order[k + 1] + 1], speed_kmh) for k in range(n - 1)
    ]
    latest = list(high)
    for k in range(n - 2, -1, -1):
        latest[k] = min(high[k], latest[k + 1] - drive[k] - parked[k])
    arrivals: list[int] = []
    for k in range(n):
        earliest = low[k] if k == 0 else max(low[k], arrivals[-1] + parked[k - 1] + drive[k - 1])
        if earliest > latest[k]:
            return None
        arrivals.append(
            min(max(stops[order[0]].arrival, earliest), latest[0]) if k == 0 else earliest
        )
    return arrivals


def route_km(order: Sequence[int], matrix: Sequence[Sequence[float]]) -> float:
    """Depot, the stops in ``order``, back to the depot, in km."""
    nodes = [0, *(i + 1 for i in order), 0]
    return sum(matrix[a][b] for a, b in itertools.pairwise(nodes))


def nearest_neighbour(matrix: Sequence[Sequence[float]]) -> list[int]:
    """The order a driver would pick by always going to the nearest unvisited stop."""
    left = set(range(len(matrix) - 1))
    order: list[int] = []
    here = 0
    while left:
        nxt = min(left, key=lambda i: (matrix[here][i + 1], i))
        order.append(nxt)
        left.remove(nxt)
        here = nxt + 1
    return order


def baselines(
    stops: Sequence[StopWindow],
    matrix: Sequence[Sequence[float]],
    *,
    speed_kmh: float,
    tolerance: int,
    initial: Sequence[int] | None = None,
) -> dict[str, Plan | None]:
    """The plain orders an optimiser must beat, each with its plan, or ``None`` where that
    order does not keep every window: ``initial`` (the timetable's order) when given, and
    the nearest-neighbour order."""
    orders: dict[str, Sequence[int]] = {}
    if initial is not None:
        orders[TIMETABLE] = initial
    orders[NEAREST_NEIGHBOUR] = nearest_neighbour(matrix)
    plans: dict[str, Plan | None] = {}
    for name, order in orders.items():
        arrivals = schedule(order, stops, matrix, speed_kmh=speed_kmh, tolerance=tolerance)
        plans[name] = (
            None
            if arrivals is None
            else Plan(list(order), arrivals, route_km(order, matrix), found_by=name)
        )
    return plans


def optimise(
    stops: Sequence[StopWindow],
    matrix: Sequence[Sequence[float]],
    *,
    speed_kmh: float,
    tolerance: int,
    time_limit: float = 1.0,
    initial: Sequence[int] | None = None,
) -> Solution:
    """The shortest order found that keeps every arrival within ``tolerance`` minutes.

    ``matrix`` holds km between the depot (index 0) and the stops (index i + 1). The
    depot's departure and return are free: only stop arrivals are constrained. The
    shortest baseline that keeps every window (:func:`baselines`: ``initial``, the current
    timetable's order, and the nearest-neighbour order) seeds the search, because
    first-solution heuristics often find nothing when windows are tight, and is the answer
    when the solver finds nothing shorter: the plan is never longer than such a baseline.
    """
    started = time.perf_counter()
    n = len(stops)
    if n == 0:
        return Solution(Plan([], [], 0.0), 0.0, "no stops")
    kept = [
        plan
        for plan in baselines(
            stops, matrix, speed_kmh=speed_kmh, tolerance=tolerance, initial=initial
        ).values()
        if plan is not None
    ]
    best = min(kept, key=lambda plan: plan.km) if kept else None
    manager = pywrapcp.RoutingIndexManager(n + 1, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    metres = [[round(km * 1000) for km in row] for row in matrix]

    def distance(from_index: int, to_index: int) -> int:
        return metres[int(manager.IndexToNode(from_index))][int(manager.IndexToNode(to_index))]

    def transit(from_index: int, to_index: int) -> int:
        a, b = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
        parked = stops[a - 1].parked if a else 0
        return parked + travel_minutes(matrix[a][b], speed_kmh)

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    time_callback = routing.RegisterTransitCallback(transit)
    # Waiting is allowed (slack) up to a day: a bookmobile early at a stop waits there.
    routing.AddDimension(time_callback, MINUTES_PER_DAY, 2 * MINUTES_PER_DAY, False, "time")
    dimension = routing.GetDimensionOrDie("time")
    for i, stop in enumerate(stops):
        index = manager.NodeToIndex(i + 1)
        # A visit must end the same day: timetables are times of day.
        low = max(0, stop.arrival - tolerance)
        high = min(MINUTES_PER_DAY - stop.parked, stop.arrival + tolerance)
        dimension.CumulVar(index).SetRange(low, high)

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.time_limit.FromMilliseconds(max(1, round(time_limit * 1000)))
    routing.CloseModelWithParameters(parameters)
    seed = (
        routing.ReadAssignmentFromRoutes([[i + 1 for i in best.order]], True)
        if best is not None
        else None
    )
    if seed is not None:
        assignment = routing.SolveFromAssignmentWithParameters(seed, parameters)
    else:
        assignment = routing.SolveWithParameters(parameters)
    plan = best
    if assignment is not None:
        order: list[int] = []
        index = routing.Start(0)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node:
                order.append(node - 1)
            index = assignment.Value(routing.NextVar(index))
        arrivals = schedule(order, stops, matrix, speed_kmh=speed_kmh, tolerance=tolerance)
        # The solver proved the order feasible, and the earliest schedule is then feasible.
        assert arrivals is not None
        km = route_km(order, matrix)
        # Metres are rounded for the solver: only a shorter order in km replaces a baseline.
        if best is None or km < best.km - 1e-9:
            plan = Plan(order, arrivals, km)
    seconds = time.perf_counter() - started
    if plan is None:
        return Solution(None, seconds, "no order keeps every window")
    return Solution(plan, seconds, "ok")
