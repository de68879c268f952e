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
    baselines,
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
    # A, B, C: round the square. A as timetabled; B at the start of its window, 10:15
    # (timetabled 10:40), since it is reached at 10:13; C as soon as B is done, 10:15 + 10
    # parked + 3 driving: no idle time between them.
    assert solution.plan.order == [0, 2, 1]
    assert solution.plan.arrivals == [600, 615, 628]
    # A driver's nearest-neighbour order already goes round the square, and keeps the windows.
    assert solution.plan.found_by == "nearest neighbour"
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


def test_schedule_keeps_the_first_arrival_and_leaves_no_idle_time() -> None:
    # A at 10:00; C (diagonal, 4 minutes) at 10:14, though timetabled 10:20; B (3 minutes)
    # at 10:27, though timetabled 10:40: each as early as its window (±30) allows.
    assert schedule([0, 1, 2], STOPS, MATRIX, speed_kmh=40, tolerance=30) == [600, 614, 627]
    assert schedule([0, 2, 1], STOPS, MATRIX, speed_kmh=40, tolerance=30) == [600, 613, 626]
    # Without tolerance the timetable is the only schedule.
    assert schedule([0, 1, 2], STOPS, MATRIX, speed_kmh=40, tolerance=0) == [600, 620, 640]
    # The first stop moves only as far as the later windows make it: both timetabled at
    # 10:00 (±10), C is reached by 10:10 only when A is left by 10:06.
    both = [StopWindow(600, 10), StopWindow(600, 10)]
    assert schedule([0, 1], both, MATRIX, speed_kmh=40, tolerance=10) == [596, 610]


def test_no_idle_hours_in_a_proposal() -> None:
    """An imported route left the vehicle idle 09:30-12:00: stops timetabled at 09:00 and
    12:00, a window of three hours, and the 12:00 stop held at its timetabled time."""
    points = [(46.55, 15.65), (46.56, 15.65), (46.60, 15.70), (46.561, 15.651)]
    matrix = matrix_km(points)
    stops = [StopWindow(9 * 60, 30), StopWindow(10 * 60 + 30, 30), StopWindow(12 * 60, 30)]
    solution = optimise(
        stops, matrix, speed_kmh=40, tolerance=180, time_limit=0.3, initial=[0, 1, 2]
    )
    assert solution.plan is not None
    # The two neighbours first, then the far stop: 09:00, 09:30 + 1 minute, 10:01 + 30
    # parked + 12 minutes of driving.
    assert solution.plan.order == [0, 2, 1]
    assert solution.plan.arrivals == [540, 571, 613]
    waits = [
        solution.plan.arrivals[k + 1]
        - solution.plan.arrivals[k]
        - stops[solution.plan.order[k]].parked
        - travel_minutes(matrix[solution.plan.order[k] + 1][solution.plan.order[k + 1] + 1], 40)
        for k in range(2)
    ]
    assert waits == [0, 0]


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


def _round(rng: random.Random, size: int) -> tuple[list[list[float]], list[StopWindow]]:
    """A delivery round as a planner times it: stops in a rough order, each reached by
    driving from the one before at 40 km/h, a few with a pause before them."""
    points = [(46.55, 15.65)] + [
        (46.55 + rng.uniform(-0.08, 0.08), 15.65 + rng.uniform(-0.12, 0.12)) for _ in range(size)
    ]
    matrix = matrix_km(points)
    clock, stops = 8 * 60, []
    for i in range(size):
        clock += travel_minutes(matrix[i][i + 1], 40) + rng.choice((0, 0, 5, 20))
        parked = rng.choice((5, 10, 15))
        stops.append(StopWindow(clock, parked))
        clock += parked
    return matrix, stops


def test_never_longer_than_a_baseline_that_keeps_the_windows() -> None:
    rng = random.Random(16)
    beaten_timetable = 0
    for _ in range(60):
        size = rng.randint(3, 11)
        tolerance = rng.choice((10, 30, 60, 120))
        matrix, stops = _round(rng, size)
        current = list(range(size))
        plain = baselines(stops, matrix, speed_kmh=40, tolerance=tolerance, initial=current)
        solution = optimise(
            stops, matrix, speed_kmh=40, tolerance=tolerance, time_limit=0.02, initial=current
        )
        assert solution.plan is not None
        for name, baseline in plain.items():
            if baseline is not None:
                assert solution.plan.km <= baseline.km + 1e-9, (name, size, tolerance)
        nearest = plain["nearest neighbour"]
        if nearest is not None and nearest.km < route_km(current, matrix) - 1e-9:
            beaten_timetable += 1
        for k, index in enumerate(solution.plan.order):
            assert abs(solution.plan.arrivals[k] - stops[index].arrival) <= tolerance
    # The rounds are ones where the driver's order keeps the windows and beats the
    # timetable's: the bound on the nearest-neighbour order is not idle.
    assert beaten_timetable >= 5
