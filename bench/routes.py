"""Benchmark: how much shorter the optimiser makes bookmobile routes, and how fast.

For the demo routes (fixtures/bookmobile.toml) and for 20 random instances of 30 stops it
prints the kilometres of the optimised order against two baselines, the current order and
a driver's nearest-neighbour order, as ratios, whether each baseline keeps every arrival
window (the current order does by construction; the nearest-neighbour order ignores the
timetable and often does not), what found the answer (the solver, or a baseline it did
not better) and the solver's time. The optimiser must never be longer than a baseline that
keeps the windows; the last line counts the instances where it is (0 expected).

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
    NEAREST_NEIGHBOUR,
    TIMETABLE,
    StopWindow,
    baselines,
    nearest_neighbour,
    optimise,
    route_km,
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


@dataclass
class Result:
    """One instance's kilometres, which baselines keep the windows, and the answer."""

    current: float
    nearest: float
    nearest_keeps: bool
    best: float
    found_by: str
    seconds: float

    @property
    def longer_than_a_keeping_baseline(self) -> bool:
        kept = [self.current] + ([self.nearest] if self.nearest_keeps else [])
        return self.best > min(kept) + 1e-9


def run(instance: Instance, *, tolerance: int, time_limit: float) -> Result:
    current = list(range(len(instance.stops)))
    plain = baselines(
        instance.stops,
        instance.matrix,
        speed_kmh=instance.speed_kmh,
        tolerance=tolerance,
        initial=current,
    )
    # The current timetable keeps its own windows whatever the tolerance.
    assert plain[TIMETABLE] is not None
    solution = optimise(
        instance.stops,
        instance.matrix,
        speed_kmh=instance.speed_kmh,
        tolerance=tolerance,
        time_limit=time_limit,
        initial=current,
    )
    assert solution.plan is not None
    return Result(
        current=route_km(current, instance.matrix),
        nearest=route_km(nearest_neighbour(instance.matrix), instance.matrix),
        nearest_keeps=plain[NEAREST_NEIGHBOUR] is not None,
        best=solution.plan.km,
        found_by=solution.plan.found_by,
        seconds=solution.seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=int, default=30, help="minutes around each arrival")
    parser.add_argument("--time-limit", type=float, default=1.0, help="solver seconds per route")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    instances = demo_instances() + [random_instance(rng, i + 1) for i in range(20)]
    print(f"tolerance ±{args.tolerance} min, solver limit {args.time_limit:g} s, seed {args.seed}")
    print("baselines: current order (keeps its windows), nearest neighbour (nn; keeps? below)")
    columns = (
        ("current", 9),
        ("nearest", 9),
        ("nn keeps", 9),
        ("optimised", 10),
        ("opt/cur", 9),
        ("opt/nn", 8),
        ("found by", 19),
        ("solver s", 10),
    )
    print(f"{'instance':<26}" + "".join(f"{c:>{w}}" for c, w in columns))
    ratios_current: list[float] = []
    ratios_nn_keeping: list[float] = []
    ratios_nn_ignoring: list[float] = []
    times: list[float] = []
    longer = 0
    for instance in instances:
        r = run(instance, tolerance=args.tolerance, time_limit=args.time_limit)
        print(
            f"{instance.name:<26}{r.current:9.1f}{r.nearest:9.1f}"
            f"{'yes' if r.nearest_keeps else 'no':>9}{r.best:10.1f}"
            f"{r.best / r.current:9.3f}{r.best / r.nearest:8.3f}{r.found_by:>19}{r.seconds:10.2f}"
        )
        longer += r.longer_than_a_keeping_baseline
        if instance.name.startswith("random"):
            ratios_current.append(r.best / r.current)
            (ratios_nn_keeping if r.nearest_keeps else ratios_nn_ignoring).append(
                r.best / r.nearest
            )
            times.append(r.seconds)
    print(
        f"random instances: optimised/current median {statistics.median(ratios_current):.3f}"
        f" (min {min(ratios_current):.3f}, max {max(ratios_current):.3f});"
        f" solver {statistics.mean(times):.2f} s on average"
    )
    for label, ratios in (
        ("keeps the windows", ratios_nn_keeping),
        ("breaks a window", ratios_nn_ignoring),
    ):
        figure = (
            f"optimised/nearest-neighbour median {statistics.median(ratios):.3f}"
            f" (max {max(ratios):.3f})"
            if ratios
            else "none"
        )
        print(f"random instances where nearest neighbour {label}: {len(ratios)}; {figure}")
    print(
        f"instances where the optimised order is longer than a baseline keeping windows: {longer}"
    )


if __name__ == "__main__":
    main()
