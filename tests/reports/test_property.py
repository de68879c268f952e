"""Random small programmes: the SQL figures equal a plain-Python count of the same rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outreach.models import (
    Attendance,
    Audience,
    Branch,
    Event,
    EventAudience,
    EventKind,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Occurrence,
    Strategy,
    StrategyValue,
    SustainableDevelopmentGoal,
    Theme,
    Visibility,
)
from outreach.reports import coverage_report
from tests.factories import make_branch, make_library, make_strategy
from tests.reports.builders import make_event

ZONE = ZoneInfo("Europe/Ljubljana")
FIRST, LAST = dt.date(2025, 3, 1), dt.date(2025, 5, 31)
BANDS = ["0-5", "6-11", "12-18", "19+", "unknown"]
AUDIENCES = [a.value for a in Audience]
MONTHS = ["2025-03", "2025-04", "2025-05"]


@dataclass
class Setting:
    library: Library
    branches: list[Branch]
    strategy: Strategy
    subjects: list[StrategyValue | Goal]
    foreign: Goal  # a goal of the library's previous strategy


@pytest_asyncio.fixture
async def setting(db: str) -> Setting:
    """A library with two branches and a strategy: two values, two themes, four goals (one
    without a theme), SDGs mapped so that some events reach one SDG twice; and a goal of
    the library's previous strategy, which this strategy's report must ignore."""
    library = await make_library("rnd")
    branches = [await make_branch(library, "one"), await make_branch(library, "two")]
    strategy = await Strategy.create(
        slug="rnd",
        library=library,
        name={"sl": "S", "en": "S"},
        source_language="sl",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
    )
    sdg4 = await SustainableDevelopmentGoal.create(number=4, name={"en": "Education"})
    sdg5 = await SustainableDevelopmentGoal.create(number=5, name={"en": "Gender equality"})
    values = [
        await StrategyValue.create(
            strategy=strategy, code=f"V{i}", position=i, name={"sl": f"V{i}"}
        )
        for i in range(2)
    ]
    themes = [
        await Theme.create(strategy=strategy, code=code, position=i, name={"sl": code})
        for i, code in enumerate("AB")
    ]
    goals = [
        await Goal.create(
            strategy=strategy, theme=theme, code=f"G{i}", position=i, name={"sl": f"G{i}"}
        )
        for i, theme in enumerate([themes[0], themes[0], themes[1], None])
    ]
    await values[0].sdgs.add(sdg4)
    await goals[0].sdgs.add(sdg4, sdg5)
    await goals[2].sdgs.add(sdg5)
    previous = await make_strategy(library=library, slug="rnd-old")  # 2021-2024
    foreign = await Goal.get(strategy=previous, code="A1")
    return Setting(library, branches, strategy, [*values, *goals], foreign)


events = st.fixed_dictionaries(
    {
        "day": st.integers(-10, 100),
        "hour": st.integers(0, 23),
        "minutes": st.sampled_from([15, 60, 90, 150]),
        "count": st.integers(1, 4),
        "kind": st.sampled_from(
            [
                EventKind.WORKSHOP,
                EventKind.OUTREACH_VISIT,
                EventKind.BOOKMOBILE,
                EventKind.EXHIBITION,
            ]
        ),
        "all_day": st.booleans(),
        "internal": st.booleans(),
        "status": st.sampled_from(
            [EventStatus.PUBLISHED, EventStatus.PUBLISHED, EventStatus.CANCELLED, EventStatus.DRAFT]
        ),
        "branch": st.sampled_from([None, 0, 1]),
        "place": st.booleans(),
        "tags": st.sets(st.integers(0, 6), max_size=4),  # 6: the previous strategy's goal
        "audiences": st.sets(st.sampled_from(AUDIENCES), max_size=3),
        "cancel": st.sets(st.integers(0, 3), max_size=2),
        # Sessions moved by some days, possibly into or out of the period.
        "move": st.dictionaries(st.integers(0, 3), st.integers(-20, 20), max_size=2),
        "attendance": st.dictionaries(
            st.tuples(st.integers(0, 3), st.sampled_from(BANDS)), st.integers(0, 40), max_size=4
        ),
    }
)


SPEC: dict[str, Any] = {
    "day": 10,
    "hour": 17,
    "minutes": 60,
    "count": 2,
    "kind": EventKind.WORKSHOP,
    "all_day": False,
    "internal": False,
    "status": EventStatus.PUBLISHED,
    "branch": 0,
    "place": False,
    "tags": set(),
    "audiences": {"6-11"},
    "cancel": set(),
    "move": {},
    "attendance": {(0, "6-11"): 12},
}


async def build(setting: Setting, spec: dict[str, Any]) -> None:
    day = FIRST + dt.timedelta(days=spec["day"])
    if spec["all_day"]:
        start = dt.datetime.combine(day, dt.time(0), tzinfo=ZONE)
        end = dt.datetime.combine(day + dt.timedelta(days=2), dt.time(0), tzinfo=ZONE)
    else:
        start = dt.datetime.combine(day, dt.time(spec["hour"]), tzinfo=ZONE)
        end = start + dt.timedelta(minutes=spec["minutes"])
    originals = [(start + dt.timedelta(weeks=i)).astimezone(dt.UTC) for i in range(spec["count"])]
    place: dict[str, Any] = (
        {"place_name": "Park", "lat": 46.0, "lon": 14.5} if spec["place"] else {}
    )
    await make_event(
        setting.library,
        kind=spec["kind"],
        all_day=spec["all_day"],
        visibility=Visibility.INTERNAL if spec["internal"] else Visibility.PUBLIC,
        status=spec["status"],
        starts_at=start.astimezone(dt.UTC),
        ends_at=end.astimezone(dt.UTC),
        rrule=f"FREQ=WEEKLY;COUNT={spec['count']}" if spec["count"] > 1 else None,
        branch=None if spec["branch"] is None else setting.branches[spec["branch"]],
        tags=[[*setting.subjects, setting.foreign][i] for i in sorted(spec["tags"])],
        audiences=sorted(spec["audiences"]),
        cancel=[originals[i] for i in spec["cancel"] if i < len(originals)],
        move={
            originals[i]: dt.timedelta(days=days)
            for i, days in spec["move"].items()
            if i < len(originals) and i not in spec["cancel"]
        },
        attendance={
            originals[i]: {band: n for (j, band), n in spec["attendance"].items() if j == i}
            for i in {j for j, _ in spec["attendance"]}
            if i < len(originals)
        },
        **place,
    )


# --- the reference count --------------------------------------------------------------


@dataclass
class Session:
    event: Event
    occurrence: Occurrence
    state: str  # delivered, planned or cancelled
    seconds: int
    bands: dict[str, int]


def count(sessions: Iterable[Session]) -> dict[str, Any]:
    sessions = list(sessions)
    delivered = [s for s in sessions if s.state == "delivered"]
    planned = [s for s in sessions if s.state == "planned"]
    bands = {b: sum(s.bands.get(b, 0) for s in delivered) for b in BANDS}
    return {
        "events": len({s.event.id for s in sessions}),
        "delivered": len(delivered),
        "cancelled": sum(s.state == "cancelled" for s in sessions),
        "planned": len(planned),
        "all_day_sessions": sum(s.event.all_day for s in delivered),
        "hours": round(sum(s.seconds for s in delivered) / 3600, 2),
        "planned_hours": round(sum(s.seconds for s in planned) / 3600, 2),
        "attendance": sum(bands.values()),
        "attendance_by_age_band": bands,
    }


def reach(sessions: Iterable[Session], audiences: dict[int, set[str]]) -> dict[str, Any]:
    delivered = [s for s in sessions if s.state == "delivered"]
    branches = {s.occurrence.branch_id for s in delivered} - {None}  # type: ignore[attr-defined]
    reached = set().union(*(audiences[s.event.id] for s in delivered))
    return {
        "branches_reached": len(branches),
        "audiences_reached": [a for a in AUDIENCES if a in reached],
    }


def place_of(event: Event, occurrence: Occurrence) -> str:
    if event.kind == EventKind.BOOKMOBILE or occurrence.stop_id is not None:  # type: ignore[attr-defined]
        return "bookmobile"
    if event.kind == EventKind.OUTREACH_VISIT or (
        event.room_id is None and (event.lat is not None or event.place_name)  # type: ignore[attr-defined]
    ):
        return "off_site"
    return "in_branch"


async def reference(setting: Setting, as_of: dt.datetime) -> dict[str, Any]:
    start = dt.datetime.combine(FIRST, dt.time(0), tzinfo=ZONE)
    end = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(0), tzinfo=ZONE)
    events = {e.id: e for e in await Event.filter(library_id=setting.library.id)}
    attendance: dict[tuple[int, dt.datetime], dict[str, int]] = defaultdict(dict)
    for a in await Attendance.all():
        attendance[(a.event_id, a.original_start)][a.age_band.value] = a.count  # type: ignore[attr-defined]
    sessions = []
    for o in await Occurrence.filter(library_id=setting.library.id):
        event = events[o.event_id]  # type: ignore[attr-defined]
        if not start <= o.starts_at < end or event.status == EventStatus.DRAFT:
            continue
        if o.cancelled or event.status == EventStatus.CANCELLED:
            state = "cancelled"
        else:
            state = "delivered" if o.starts_at < as_of else "planned"
        seconds = 0 if event.all_day else int((o.ends_at - o.starts_at).total_seconds())
        bands = attendance[(event.id, o.original_start)] if state == "delivered" else {}
        sessions.append(Session(event, o, state, seconds, bands))

    audiences: dict[int, set[str]] = defaultdict(set)
    for ea in await EventAudience.all():
        audiences[ea.event_id].add(ea.audience.value)  # type: ignore[attr-defined]
    tagged: dict[int, list[StrategyValue | Goal]] = defaultdict(list)
    by_id = {(type(s), s.id): s for s in setting.subjects}
    for tag in await EventTag.all():
        key = (Goal, tag.goal_id) if tag.goal_id else (StrategyValue, tag.value_id)  # type: ignore[attr-defined]
        if key in by_id:  # a tag of this strategy
            tagged[tag.event_id].append(by_id[key])  # type: ignore[attr-defined]

    def sessions_of(events_in: set[int]) -> list[Session]:
        return [s for s in sessions if s.event.id in events_in]

    rows: dict[str, dict[str, Any]] = {}
    split: dict[str, Fraction] = {}
    for subject in setting.subjects:
        ids = {e for e, subjects in tagged.items() if subject in subjects}
        subset = sessions_of(ids)
        rows[subject.code] = {**count(subset), **reach(subset, audiences)}
        split[subject.code] = sum(
            (
                Fraction(s.seconds, len(tagged[s.event.id]))
                for s in subset
                if s.state == "delivered"
            ),
            Fraction(0),
        )
    themes: dict[str, dict[str, Any]] = {}
    for theme in await Theme.filter(strategy_id=setting.strategy.id):
        ids = {
            e
            for e, subjects in tagged.items()
            if any(isinstance(s, Goal) and s.theme_id == theme.id for s in subjects)  # type: ignore[attr-defined]
        }
        subset = sessions_of(ids)
        themes[theme.code] = {**count(subset), **reach(subset, audiences)}
    sdgs: dict[int, dict[str, Any]] = {}
    mapped = {
        subject.code: {n.number for n in await subject.sdgs.all()} for subject in setting.subjects
    }
    for number in (4, 5):
        ids = {
            e for e, subjects in tagged.items() if any(number in mapped[s.code] for s in subjects)
        }
        subset = sessions_of(ids)
        sdgs[number] = {**count(subset), **reach(subset, audiences)}

    months = {}
    for label in MONTHS:
        subset = [
            s
            for s in sessions
            if s.occurrence.starts_at.astimezone(ZONE).strftime("%Y-%m") == label
        ]
        months[label] = count(subset)
    branches: dict[int | None, dict[str, Any]] = {}
    for branch_id in {s.occurrence.branch_id for s in sessions}:  # type: ignore[attr-defined]
        branches[branch_id] = count(
            s
            for s in sessions
            if s.occurrence.branch_id == branch_id  # type: ignore[attr-defined]
        )
    visibility = {
        v.value: count(s for s in sessions if s.event.visibility == v) for v in Visibility
    }
    places = {
        p: count(s for s in sessions if place_of(s.event, s.occurrence) == p)
        for p in ("in_branch", "off_site", "bookmobile")
    }
    untagged_sessions = [s for s in sessions if not tagged.get(s.event.id)]
    gaps = {code for code, row in rows.items() if row["delivered"] == 0 and row["planned"] == 0}
    return {
        "totals": {**count(sessions), **reach(sessions, audiences)},
        "rows": rows,
        "split": split,
        "tagged_seconds": sum(
            s.seconds for s in sessions if s.state == "delivered" and tagged.get(s.event.id)
        ),
        "themes": themes,
        "sdgs": sdgs,
        "months": months,
        "branches": branches,
        "visibility": visibility,
        "places": places,
        "untagged": count(untagged_sessions),
        "untagged_events": {s.event.id for s in untagged_sessions},
        "gaps": gaps,
    }


def same(row: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: row[k] for k in expected} == expected


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(programme=st.lists(events, max_size=6), as_of_day=st.integers(-5, 100))
# Always tried: events tagged only to the previous strategy, and to both.
@example(programme=[SPEC | {"tags": {6}}, SPEC | {"tags": {0, 6}, "day": 20}], as_of_day=90)
# Always tried: a session moved into the period from before it, with its attendance.
@example(
    programme=[SPEC | {"day": -5, "move": {0: 10}, "attendance": {(0, "19+"): 7}}], as_of_day=90
)
async def test_sql_figures_equal_a_python_count(
    setting: Setting, programme: list[dict[str, Any]], as_of_day: int
) -> None:
    await Event.filter(library_id=setting.library.id).delete()
    for spec in programme:
        await build(setting, spec)
    as_of = dt.datetime.combine(
        FIRST + dt.timedelta(days=as_of_day), dt.time(12), tzinfo=ZONE
    ).astimezone(dt.UTC)

    report = await coverage_report(
        library="rnd", strategy="rnd", start=FIRST, end=LAST, as_of=as_of
    )
    expected = await reference(setting, as_of)

    same(report["totals"], expected["totals"])
    for row in [*report["values"], *report["goals"]]:
        same(row, expected["rows"][row["code"]])
        assert abs(row["split_hours"] - float(expected["split"][row["code"]] / 3600)) <= 0.01
    split_total = sum(r["split_hours"] for r in [*report["values"], *report["goals"]])
    assert round(split_total, 2) == round(expected["tagged_seconds"] / 3600, 2)
    assert report["totals"]["tagged_hours"] == round(expected["tagged_seconds"] / 3600, 2)
    for row in report["themes"]:
        same(row, expected["themes"][row["code"]])
    for row in report["sdgs"]:
        same(row, expected["sdgs"][row["number"]])
    assert [m["month"] for m in report["months"]] == MONTHS
    for row in report["months"]:
        same(row, expected["months"][row["month"]])
    assert {b["id"] for b in report["branches"]} == set(expected["branches"])
    for row in report["branches"]:
        same(row, expected["branches"][row["id"]])
    for name, row in report["programme"].items():
        same(row, expected["visibility"][name])
    for name, row in report["outreach"].items():
        same(row, expected["places"][name])
    same(report["untagged"], expected["untagged"])
    listed = {e["id"] for e in report["untagged"]["events_listed"]}
    assert listed == expected["untagged_events"]
    assert {g["code"] for g in report["gaps"]} == expected["gaps"]
