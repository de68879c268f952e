"""The coverage report of the hand-counted programme in ``conftest.py``, figure by figure.

The programme of library ``mkl`` in 2025 (Europe/Ljubljana):

- E1 workshop, 10 Tuesdays from 7 Jan, 2 h, central, tags A1 A2 V1; 21 Jan cancelled;
  attendance 15 + 3 (and 7 on the cancelled one, never counted)
- E2 all-day exhibition 1–21 March at Bežigrad, tag A1, 100 attending
- E3 off-site visit 10 May, 1.5 h, tag V2; E4 internal training 3 Feb, 3 h, tag B1
- E5 lecture 2 Apr, 1 h, untagged; E6 draft (left out); E7 cancelled event, tags A2 A3
- E8 00:30 local on 1 Jan (inside), tag A2; E0 23:30 local on 31 Dec 2024 (outside)
- E9 1 Sep, 1 h, central, tagged only with the network's goal N1
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import BaseORMException

from outreach.errors import Invalid
from outreach.reports import coverage_report, export_coverage
from outreach.settings import REPORTS
from tests.reports.builders import local
from tests.reports.conftest import Programme

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
AFTER = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BANDS_ZERO = {"0-5": 0, "6-11": 0, "12-18": 0, "19+": 0, "unknown": 0}


def figures(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    keys = ["events", "delivered", "cancelled", "planned", "hours", *extra]
    return {k: row[k] for k in keys}


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in rows}


async def test_library_year_after_it_ended(programme: Programme) -> None:
    report = await coverage_report(library="mkl", as_of=AFTER, start=START, end=END)

    assert report["scope"]["slug"] == "mkl"
    assert report["strategy"]["slug"] == "mkl-2025"
    assert report["period"] == {
        "from": "2025-01-01",
        "to": "2025-12-31",
        "timezone": "Europe/Ljubljana",
        "as_of": "2026-01-01T00:00:00+00:00",
    }
    totals = report["totals"]
    assert totals == {
        "events": 8,
        "delivered": 15,
        "cancelled": 2,
        "planned": 0,
        "all_day_sessions": 1,
        "hours": 25.0,
        "planned_hours": 0.0,
        "attendance": 118,
        "attendance_by_age_band": {**BANDS_ZERO, "6-11": 10, "19+": 105, "unknown": 3},
        "share_of_hours": 100.0,
        "share_of_sessions": 100.0,
        "branches_reached": 2,
        "audiences_reached": ["6-11", "19+", "families", "seniors", "staff"],
        "tagged_hours": 23.0,
        "split_hours": 23.0,
    }

    goals = by_code(report["goals"])
    assert list(goals) == ["A1", "A2", "A3", "B1"]
    a1 = goals["A1"]
    assert figures(a1, "split_hours", "attendance", "all_day_sessions") == {
        "events": 2,
        "delivered": 10,
        "cancelled": 1,
        "planned": 0,
        "hours": 18.0,
        "split_hours": 6.0,
        "attendance": 118,
        "all_day_sessions": 1,
    }
    assert a1["branches_reached"] == 2
    assert a1["audiences_reached"] == ["6-11", "families"]
    assert (a1["share_of_hours"], a1["share_of_sessions"]) == (72.0, 66.67)
    assert a1["sdgs"] == [4, 10]
    assert a1["theme"] == "A"
    assert a1["target"] == {
        "metric": "occurrences",
        "minimum_per_year": 24.0,
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "expected": 24.0,
        "expected_so_far": 24.0,
        "figure": 10.0,
        "status": "missed",
        # Made by the test's builders, which say nothing of where it comes from.
        "demo": False,
        "label": None,
        "source": None,
    }
    assert figures(goals["A2"], "split_hours", "attendance", "branches_reached") == {
        "events": 3,
        "delivered": 10,
        "cancelled": 2,
        "planned": 0,
        "hours": 18.5,
        "split_hours": 6.5,
        "attendance": 18,
        "branches_reached": 1,
    }
    assert goals["A2"]["target"]["status"] == "met"
    assert goals["A2"]["target"]["figure"] == 18.5
    assert figures(goals["A3"], "split_hours") == {
        "events": 1,
        "delivered": 0,
        "cancelled": 1,
        "planned": 0,
        "hours": 0.0,
        "split_hours": 0.0,
    }
    b1 = goals["B1"]
    assert figures(b1, "split_hours", "audiences_reached") == {
        "events": 1,
        "delivered": 1,
        "cancelled": 0,
        "planned": 0,
        "hours": 3.0,
        "split_hours": 3.0,
        "audiences_reached": ["staff"],
    }
    assert (b1["internal"], b1["target"]) == (True, None)

    values = by_code(report["values"])
    assert figures(values["V1"], "split_hours", "attendance") == {
        "events": 1,
        "delivered": 9,
        "cancelled": 1,
        "planned": 0,
        "hours": 18.0,
        "split_hours": 6.0,
        "attendance": 18,
    }
    assert values["V1"]["target"]["status"] == "met"
    assert values["V1"]["target"]["figure"] == 72.0
    assert figures(values["V2"], "split_hours", "branches_reached", "audiences_reached") == {
        "events": 1,
        "delivered": 1,
        "cancelled": 0,
        "planned": 0,
        "hours": 1.5,
        "split_hours": 1.5,
        "branches_reached": 0,
        "audiences_reached": ["seniors"],
    }
    split = sum(r["split_hours"] for r in [*report["goals"], *report["values"]])
    assert round(split, 2) == totals["tagged_hours"]

    themes = by_code(report["themes"])
    assert figures(themes["A"], "split_hours", "attendance", "branches_reached") == {
        "events": 4,
        "delivered": 11,
        "cancelled": 2,
        "planned": 0,
        "hours": 18.5,
        "split_hours": 12.5,
        "attendance": 118,
        "branches_reached": 2,
    }
    assert figures(themes["B"]) == figures(b1)

    assert [(g["kind"], g["code"], g["cancelled"]) for g in report["gaps"]] == [("goal", "A3", 1)]

    sdgs = {s["number"]: s for s in report["sdgs"]}
    assert (sdgs[4]["values"], sdgs[4]["goals"], sdgs[10]["values"]) == (["V1"], ["A1"], [])
    # E1 reaches SDG 4 through both V1 and A1 but is counted once.
    assert figures(sdgs[4], "attendance") == {
        "events": 2,
        "delivered": 10,
        "cancelled": 1,
        "planned": 0,
        "hours": 18.0,
        "attendance": 118,
    }
    assert figures(sdgs[10]) == figures(a1)

    untagged = report["untagged"]
    assert figures(untagged) == {
        "events": 2,
        "delivered": 2,
        "cancelled": 0,
        "planned": 0,
        "hours": 2.0,
    }
    assert [e["title"]["en"] for e in untagged["events_listed"]] == ["Lecture", "Event"]

    assert figures(report["programme"]["internal"]) == {
        "events": 1,
        "delivered": 1,
        "cancelled": 0,
        "planned": 0,
        "hours": 3.0,
    }
    assert figures(report["programme"]["public"], "attendance") == {
        "events": 7,
        "delivered": 14,
        "cancelled": 2,
        "planned": 0,
        "hours": 22.0,
        "attendance": 118,
    }
    outreach = report["outreach"]
    assert figures(outreach["off_site"]) == {
        "events": 1,
        "delivered": 1,
        "cancelled": 0,
        "planned": 0,
        "hours": 1.5,
    }
    assert figures(outreach["bookmobile"])["events"] == 0
    assert figures(outreach["in_branch"]) == {
        "events": 7,
        "delivered": 14,
        "cancelled": 2,
        "planned": 0,
        "hours": 23.5,
    }

    months = {
        m["month"]: (m["delivered"], m["cancelled"], m["hours"], m["attendance"])
        for m in report["months"]
    }
    assert months == {
        "2025-01": (4, 1, 6.5, 18),
        "2025-02": (5, 0, 11.0, 0),
        "2025-03": (3, 0, 4.0, 100),
        "2025-04": (1, 0, 1.0, 0),
        "2025-05": (1, 0, 1.5, 0),
        "2025-06": (0, 1, 0.0, 0),
        "2025-07": (0, 0, 0.0, 0),
        "2025-08": (0, 0, 0.0, 0),
        "2025-09": (1, 0, 1.0, 0),
        "2025-10": (0, 0, 0.0, 0),
        "2025-11": (0, 0, 0.0, 0),
        "2025-12": (0, 0, 0.0, 0),
    }

    branches = [
        (b["slug"], b["events"], b["delivered"], b["cancelled"], b["hours"], b["attendance"])
        for b in report["branches"]
    ]
    assert branches == [
        ("bezigrad", 1, 1, 0, 0.0, 100),
        ("central", 6, 13, 2, 23.5, 18),
        (None, 1, 1, 0, 1.5, 0),
    ]

    grid = {row["goal"]: row["delivered"] for row in report["audience_grid"]["rows"]}
    assert grid["A1"] == {
        "0-5": 0,
        "6-11": 9,
        "12-18": 0,
        "19+": 0,
        "all": 0,
        "families": 9,
        "seniors": 0,
        "staff": 0,
    }
    # The footprint section is the bookmobile's; this programme has no routes.
    assert (report["footprint"]["available"], report["footprint"]["routes"]) == (False, [])


async def test_planned_sessions_and_targets_pro_rated_mid_period(programme: Programme) -> None:
    report = await coverage_report(library="mkl", as_of=local(2025, 2, 1, 0), start=START, end=END)

    totals = report["totals"]
    assert figures(totals, "planned_hours", "attendance") == {
        "events": 8,
        "delivered": 4,
        "cancelled": 2,
        "planned": 11,
        "hours": 6.5,
        "planned_hours": 18.5,
        "attendance": 18,
    }
    goals = by_code(report["goals"])
    # 31 of 365 days have passed: 24 × 31/365 = 2.04 sessions expected so far.
    assert goals["A1"]["target"] == {
        "metric": "occurrences",
        "minimum_per_year": 24.0,
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "expected": 24.0,
        "expected_so_far": 2.04,
        "figure": 3.0,
        "status": "on_track",
        # Made by the test's builders, which say nothing of where it comes from.
        "demo": False,
        "label": None,
        "source": None,
    }
    assert goals["A2"]["target"]["status"] == "on_track"
    assert goals["A2"]["target"]["figure"] == 6.5
    # Planned sessions are no gap: only A3 (its one event cancelled) has nothing.
    assert [g["code"] for g in report["gaps"]] == ["A3"]

    # By 1 July, 181 days: 24 × 181/365 = 11.9 expected, 10 delivered.
    later = await coverage_report(library="mkl", as_of=local(2025, 7, 1, 0), start=START, end=END)
    target = by_code(later["goals"])["A1"]["target"]
    assert (target["expected_so_far"], target["figure"], target["status"]) == (11.9, 10.0, "behind")


async def test_network_report_covers_its_libraries_only(programme: Programme) -> None:
    report = await coverage_report(network="net", as_of=AFTER, start=START, end=END)

    assert report["scope"]["type"] == "network"
    assert report["scope"]["libraries"] == ["mkl", "kam"]
    assert report["strategy"]["slug"] == "net-2025"
    (n1,) = report["goals"]
    assert figures(n1, "split_hours") == {
        "events": 2,
        "delivered": 2,
        "cancelled": 0,
        "planned": 0,
        "hours": 5.0,
        "split_hours": 5.0,
    }
    assert figures(report["totals"]) == {
        "events": 9,
        "delivered": 16,
        "cancelled": 2,
        "planned": 0,
        "hours": 29.0,
    }
    assert figures(report["outreach"]["bookmobile"]) == {
        "events": 1,
        "delivered": 1,
        "cancelled": 0,
        "planned": 0,
        "hours": 4.0,
    }
    assert report["untagged"]["events"] == 7


async def test_a_library_reports_on_its_networks_strategy(programme: Programme) -> None:
    report = await coverage_report(
        library="mkl", strategy="net-2025", as_of=AFTER, start=START, end=END
    )

    (n1,) = report["goals"]
    assert (n1["code"], n1["delivered"], n1["hours"]) == ("N1", 1, 1.0)


async def test_command_line_export(programme: Programme) -> None:
    text = await export_coverage(fmt="json", library="mkl", start=START, end=END)
    assert json.loads(text)["totals"]["delivered"] == 15
    csv_text = await export_coverage(fmt="csv", network="net", start=START, end=END)
    assert csv_text.splitlines()[1].startswith(
        "goal,N1,,Mrežni cilj,Network goal,2,2,0,0,0,5.00,5.00,"
    )
    with pytest.raises(Invalid) as refused:
        await export_coverage(fmt="csv", library="mkl", start=END, end=START)
    assert refused.value.body() == {
        "error": "the period ends before it starts",
        "fields": {"to": "the period ends before it starts"},
    }


async def test_reports_read_on_their_own_connection(db: str) -> None:
    # A long report must not queue every other request behind it on SQLite's one
    # connection, and whatever it runs must not write.
    reader, writer = connections.get(REPORTS), connections.get("default")
    assert reader is not writer
    refusal = "readonly" if db.startswith("sqlite") else "read-only transaction"
    with pytest.raises(BaseORMException, match=refusal):
        await reader.execute_query("DELETE FROM sdg")
