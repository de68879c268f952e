"""Stop-order optimisation with arrival windows (OR-Tools), on instances small enough to
know the answer."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.bookmobile.distance import haversine_km, matrix_km
from outreach.bookmobile.optimise import (
    StopWindow,
    nearest_neighbour,
    optimise,
    route_km,
    schedule,
    travel_minutes,
)

# Depot at the origin; A, B, C at three corners of a square of side ~1.1 km. The route
# goes A, C, B: across the diagonal twice, where going round the square is shorter.
DEPOT, A, B, C = (0.0, 0.0), (0.0, 0.01), (0.01, 0.01), (0.01, 0.0)
SIDE = 1.3 * haversine_km(DEPOT, A)
MATRIX = matrix_km([DEPOT, A, C, B], detour_factor=1.3)
STOPS = [StopWindow(10 * 60, 10), StopWindow(10 * 60 + 20, 10), StopWindow(10 * 60 + 40, 10)]


def test_travel_minutes_round_up() -> None:
    assert travel_minutes(20.0, 40.0) == 30
    assert travel_minutes(20.1, 40.0) == 31
    assert travel_minutes(0.0, 40.0) == 0


def test_route_km_goes_from_and_back_to_the_depot() -> None:
    assert route_km([0, 1, 2], MATRIX) == pytest.approx(SIDE * (2 + 2 * math.sqrt(2)), rel=1e-3)
    assert route_km([0, 2, 1], MATRIX) == pytest.approx(4 * SIDE, rel=1e-3)


def test_a_shorter_order_within_the_windows() -> None:
    solution = optimise(
        STOPS, MATRIX, speed_kmh=40, tolerance=25, time_limit=0.3, initial=[0, 1, 2]
    )
    assert solution.status == "ok"
    assert solution.plan is not None
    # A, B, C: round the square. B can come no later than 10:32 for C to be reached by its
    # latest arrival, 10:45 (3 minutes of driving and 10 parked between them).
    assert solution.plan.order == [0, 2, 1]
    assert solution.plan.arrivals == [600, 632, 645]
    assert solution.plan.km == pytest.approx(4 * SIDE, rel=1e-3)


def test_without_tolerance_only_the_timetable_fits() -> None:
    solution = optimise(STOPS, MATRIX, speed_kmh=40, tolerance=0, time_limit=0.2, initial=[0, 1, 2])
    assert solution.plan is not None
    assert solution.plan.order == [0, 1, 2]
    assert solution.plan.arrivals == [600, 620, 640]


def test_no_order_when_no_window_can_be_kept() -> None:
    # Two stops 100 km apart, one right after the other: no bookmobile gets there.
    far = matrix_km([(46.0, 15.0), (46.0, 15.0), (46.9, 15.0)])
    stops = [StopWindow(600, 30), StopWindow(630, 30)]
    assert schedule([0, 1], stops, far, speed_kmh=40, tolerance=0) is None
    solution = optimise(stops, far, speed_kmh=40, tolerance=10, time_limit=0.2, initial=[0, 1])
    assert solution.plan is None
    assert solution.status == "no order keeps every window"


def test_schedule_keeps_the_timetable_where_it_can() -> None:
    assert schedule([0, 1, 2], STOPS, MATRIX, speed_kmh=40, tolerance=30) == [600, 620, 640]
    assert schedule([0, 2, 1], STOPS, MATRIX, speed_kmh=40, tolerance=30) == [600, 637, 650]


def test_nearest_neighbour_order() -> None:
    points = [(0.0, 0.0), (0.0, 0.03), (0.0, 0.01), (0.0, 0.02)]
    assert nearest_neighbour(matrix_km(points)) == [1, 2, 0]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(2, 7),
    tolerance=st.sampled_from([0, 15, 45, 120]),
)
def test_any_proposal_keeps_every_window_and_is_no_longer(
    seed: int, size: int, tolerance: int
) -> None:
    rng = random.Random(seed)
    points = [(46.55, 15.65)] + [
        (46.55 + rng.uniform(-0.1, 0.1), 15.65 + rng.uniform(-0.15, 0.15)) for _ in range(size)
    ]
    matrix = matrix_km(points)
    clock, stops = 8 * 60, []
    for i in range(size):
        clock += travel_minutes(matrix[i][i + 1], 40) + rng.choice((0, 10))
        parked = rng.choice((10, 20, 30))
        stops.append(StopWindow(clock, parked))
        clock += parked
    current = list(range(size))
    solution = optimise(
        stops, matrix, speed_kmh=40, tolerance=tolerance, time_limit=0.05, initial=current
    )
    assert solution.plan is not None
    assert sorted(solution.plan.order) == current
    assert solution.plan.km <= route_km(current, matrix) + 1e-9
    arrivals = solution.plan.arrivals
    assert arrivals == schedule(
        solution.plan.order, stops, matrix, speed_kmh=40, tolerance=tolerance
    )
    for k, index in enumerate(solution.plan.order):
        assert abs(arrivals[k] - stops[index].arrival) <= tolerance
        if k:
            previous = solution.plan.order[k - 1]
            drive = travel_minutes(matrix[previous + 1][index + 1], 40)
            assert arrivals[k] >= arrivals[k - 1] + stops[previous].parked + drive
