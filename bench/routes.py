"""Benchmark: how much shorter the optimiser makes bookmobile routes, and how fast.

For the demo routes (fixtures/bookmobile.toml) and for 20 random instances of 30 stops it
prints the kilometres of the optimised order against the current order and against a
nearest-neighbour order (which ignores the timetable), as ratios, and the solver's time.

Run: ``.venv/bin/python bench/routes.py [--tolerance 30] [--time-limit 1.0] [--seed 7]``.
Distances are great-circle × the route's detour factor (no routing service needed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import tomllib
from dataclasses import dataclass
from pathlib import Path

from outreach.bookmobile.distance import matrix_km
from outreach.bookmobile.optimise import (
    StopWindow,
    nearest_neighbour,
    optimise,
    route_km,
    schedule,
    travel_minutes,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass
class Instance:
    """A depot, stops in their current (timetable) order, the windows and the speed."""

    name: str
    matrix: list[list[float]]
    stops: list[StopWindow]
    speed_kmh: float


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def demo_instances() -> list[Instance]:
    """The demo routes, with their depots and vehicles' speeds."""
    routes = tomllib.loads((FIXTURES / "bookmobile.toml").read_text(encoding="utf-8"))
    speeds = {
        (v["library"], v["slug"]): float(v.get("average_speed_kmh", 40)) for v in routes["vehicles"]
    }
    instances = []
    for route in routes["routes"]:
        library = tomllib.loads(
            (FIXTURES / "organisations" / f"{route['library']}.toml").read_text(encoding="utf-8")
        )
        depot = next(b for b in library["branches"] if b["slug"] == route["depot"])
        points = [(depot["lat"], depot["lon"]), *((s["lat"], s["lon"]) for s in route["stops"])]
        instances.append(
            Instance(
                name=f"demo {route['code']} ({len(route['stops'])} stops)",
                matrix=matrix_km(points, detour_factor=float(route.get("detour_factor", 1.3))),
                stops=[
                    StopWindow(_minutes(s["arrival"]), s["minutes_parked"]) for s in route["stops"]
                ],
                speed_kmh=speeds[(route["library"], route["vehicle"])],
            )
        )
    return instances


def random_instance(rng: random.Random, index: int, size: int = 30) -> Instance:
    """Stops scattered within ~12 km of a depot, in a planner's order: swept by bearing
    around the depot with a few neighbours swapped, timed by driving at 40 km/h."""
    depot = (46.5577, 15.6484)
    points = [
        (depot[0] + rng.uniform(-0.1, 0.1), depot[1] + rng.uniform(-0.15, 0.15))
        for _ in range(size)
    ]
    order = sorted(
        range(size), key=lambda i: math.atan2(points[i][0] - depot[0], points[i][1] - depot[1])
    )
    for _ in range(size // 5):
        k = rng.randrange(size - 1)
        order[k], order[k + 1] = order[k + 1], order[k]
    ordered = [points[i] for i in order]
    matrix = matrix_km([depot, *ordered], detour_factor=1.3)
    clock = 7 * 60
    stops = []
    previous = 0
    for node in range(1, size + 1):
        clock += travel_minutes(matrix[previous][node], 40.0)
        parked = rng.choice((5, 10, 15))
        stops.append(StopWindow(clock, parked))
        clock += parked
        previous = node
    return Instance(f"random {index:2d} ({size} stops)", matrix, stops, 40.0)


def run(
    instance: Instance, *, tolerance: int, time_limit: float
) -> tuple[float, float, float, float]:
    current = list(range(len(instance.stops)))
    current_km = route_km(current, instance.matrix)
    nn_km = route_km(nearest_neighbour(instance.matrix), instance.matrix)
    assert schedule(
        current, instance.stops, instance.matrix, speed_kmh=instance.speed_kmh, tolerance=tolerance
    )
    solution = optimise(
        instance.stops,
        instance.matrix,
        speed_kmh=instance.speed_kmh,
        tolerance=tolerance,
        time_limit=time_limit,
        initial=current,
    )
    best = solution.plan.km if solution.plan is not None else current_km
    return current_km, nn_km, min(best, current_km), solution.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=int, default=30, help="minutes around each arrival")
    parser.add_argument("--time-limit", type=float, default=1.0, help="solver seconds per route")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    instances = demo_instances() + [random_instance(rng, i + 1) for i in range(20)]
    print(f"tolerance ±{args.tolerance} min, solver limit {args.time_limit:g} s, seed {args.seed}")
    columns = ("current", 9), ("nearest", 9), ("optimised", 10), ("opt/cur", 9), ("opt/nn", 8)
    print(f"{'instance':<26}" + "".join(f"{c:>{w}}" for c, w in columns) + f"{'solver s':>10}")
    ratios_current: list[float] = []
    ratios_nn: list[float] = []
    times: list[float] = []
    for instance in instances:
        current, nn, best, seconds = run(
            instance, tolerance=args.tolerance, time_limit=args.time_limit
        )
        print(
            f"{instance.name:<26}{current:9.1f}{nn:9.1f}{best:10.1f}"
            f"{best / current:9.3f}{best / nn:8.3f}{seconds:10.2f}"
        )
        if instance.name.startswith("random"):
            ratios_current.append(best / current)
            ratios_nn.append(best / nn)
            times.append(seconds)
    print(
        f"random instances: optimised/current median {statistics.median(ratios_current):.3f}"
        f" (min {min(ratios_current):.3f}, max {max(ratios_current):.3f});"
        f" optimised/nearest-neighbour median {statistics.median(ratios_nn):.3f};"
        f" solver {statistics.mean(times):.2f} s on average"
    )


if __name__ == "__main__":
    main()
