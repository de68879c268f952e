"""The small pure parts of the reports: placeholders, rounding, years, target status, SVG."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from outreach.models import Target, TargetMetric
from outreach.reports.charts import audience_grid, goal_bars
from outreach.reports.coverage import Figures, allocate_hundredths, target_status
from outreach.reports.period import Period, years_between
from outreach.sql import positional

UTC = dt.UTC


def test_named_parameters_become_each_drivers_placeholders() -> None:
    sql = "SELECT :a, :b WHERE x = :a AND t < '10:30'"
    when = dt.datetime(2025, 1, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    params = {"a": 1, "b": when}
    assert positional(sql, params, "postgres") == (
        "SELECT $1, $2 WHERE x = $1 AND t < '10:30'",
        [1, when],
    )
    assert positional(sql, params, "sqlite") == (
        "SELECT ?, ? WHERE x = ? AND t < '10:30'",
        [1, "2025-01-01 08:30:00+00:00", 1],
    )
    with pytest.raises(KeyError, match=":c"):
        positional("SELECT :c", params, "sqlite")


def test_hundredths_add_up_to_the_rounded_total() -> None:
    thirds = {"a": Fraction(100, 3), "b": Fraction(100, 3), "c": Fraction(100, 3)}
    assert allocate_hundredths(thirds) == {"a": 34, "b": 33, "c": 33}
    assert allocate_hundredths({"a": Fraction(5, 2), "b": Fraction(7, 4)}) == {"a": 2, "b": 2}
    assert allocate_hundredths({}) == {}


def test_years_weigh_each_calendar_year_by_its_length() -> None:
    assert years_between(dt.date(2024, 1, 1), dt.date(2025, 1, 1)) == 1
    assert years_between(dt.date(2025, 1, 1), dt.date(2026, 1, 1)) == 1
    assert years_between(dt.date(2024, 7, 1), dt.date(2025, 7, 1)) == Fraction(184, 366) + Fraction(
        181, 365
    )
    assert years_between(dt.date(2025, 3, 1), dt.date(2025, 3, 1)) == 0


def test_period_months_start_at_local_midnight() -> None:
    period = Period(dt.date(2025, 3, 15), dt.date(2025, 5, 2), ZoneInfo("Europe/Ljubljana"))
    assert period.start == dt.datetime(2025, 3, 14, 23, tzinfo=UTC)
    assert period.end == dt.datetime(2025, 5, 2, 22, tzinfo=UTC)
    assert period.month_boundaries() == [
        dt.datetime(2025, 3, 31, 22, tzinfo=UTC),
        dt.datetime(2025, 4, 30, 22, tzinfo=UTC),
    ]


YEAR = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ZoneInfo("Europe/Ljubljana"))


def _target(metric: TargetMetric, minimum: float) -> Target:
    return Target(
        metric=metric,
        minimum=minimum,
        period_start=dt.date(2021, 1, 1),
        period_end=dt.date(2030, 12, 31),
    )


@pytest.mark.parametrize(
    ("delivered", "today", "status", "so_far"),
    [
        (12, dt.date(2025, 12, 30), "met", 11.93),
        (6, dt.date(2025, 7, 2), "on_track", 5.98),
        (5, dt.date(2025, 7, 2), "behind", 5.98),
        (11, dt.date(2026, 1, 5), "missed", 12.0),
        (0, dt.date(2024, 6, 1), "on_track", 0.0),
    ],
)
def test_session_targets_are_pro_rated_to_the_days_passed(
    delivered: int, today: dt.date, status: str, so_far: float
) -> None:
    figures = Figures(delivered=delivered)
    result = target_status(_target(TargetMetric.OCCURRENCES, 12), figures, figures, YEAR, today)
    assert (result["status"], result["expected"], result["expected_so_far"]) == (
        status,
        12.0,
        so_far,
    )


@pytest.mark.parametrize(
    ("seconds", "today", "status"),
    [
        (600, dt.date(2025, 3, 1), "on_track"),
        (400, dt.date(2025, 3, 1), "behind"),
        (400, dt.date(2025, 1, 1), "on_track"),
        (500, dt.date(2026, 2, 1), "met"),
        (499, dt.date(2026, 2, 1), "missed"),
    ],
)
def test_share_targets_compare_the_share_itself(seconds: int, today: dt.date, status: str) -> None:
    result = target_status(
        _target(TargetMetric.SHARE_OF_HOURS, 50),
        Figures(seconds=seconds),
        Figures(seconds=1000),
        YEAR,
        today,
    )
    assert (result["status"], result["figure"]) == (status, seconds / 10)


def test_charts_escape_text() -> None:
    goal = {"code": "<A1>", "delivered": 3, "target": None}
    assert "&lt;A1&gt;" in goal_bars([goal])
    assert "<A1>" not in goal_bars([goal])
    grid = audience_grid({"audiences": ["6-11"], "rows": [{"goal": "&", "delivered": {"6-11": 2}}]})
    assert "&amp;" in grid
