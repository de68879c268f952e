"""Value coverage: which values, themes, goals and SDGs a programme served, and what it
neglected, for one library or a whole network over a period.

Counting conventions (library statistics practice, ISO 2789 style), also printed in every
report under ``conventions``:

- Each occurrence is one session. An occurrence counts in the period when it *starts*
  inside it (local days of the library's zone; a network's days are read in the zone of
  its first library, since a network plans in one zone).
- Cancelled occurrences (or every occurrence of a cancelled event) are not delivered; they
  are counted apart. Occurrences not yet begun at ``as_of`` are *planned*, not delivered.
  Draft events are not part of the programme and are left out.
- Programme hours are the delivered sessions' durations. All-day occurrences (exhibitions
  running for weeks, open days) count as sessions, and their attendance counts, but they
  add no programme hours: a three-week exhibition would otherwise outweigh a year of
  workshops. They are reported as ``all_day_sessions``.
- Split hours divide each event's hours evenly among the values and goals of the strategy
  it is tagged with, so that the split hours of all values and goals add up to the tagged
  programme's hours (rounded to hundredths by largest remainder, so the sum holds exactly
  after rounding too). A theme's split hours are the sum of its goals'.
- Attendance counts only for delivered sessions.
- Outreach: a bookmobile stop visit (or a ``bookmobile`` event); off-site: an
  ``outreach_visit`` event, or one with a place or coordinates and no branch room.
- Targets are per calendar year; over a report period they are pro-rated by the part of
  each calendar year it covers, and their status compares the figure delivered so far with
  the target pro-rated to the part of the period that has passed: met (the whole period's
  target is reached), on track, behind, missed (the period is over and it was not).
  A share-of-hours target is a percentage and is compared as it is.
- Gaps: goals and values with no delivered or planned session in the period (the number
  of cancelled sessions is shown beside them).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from outreach.models import (
    Audience,
    Branch,
    Event,
    Goal,
    Library,
    Network,
    Strategy,
    StrategyValue,
    SustainableDevelopmentGoal,
    Target,
    TargetMetric,
    Theme,
)
from outreach.reports import queries
from outreach.reports.footprint import footprint_section
from outreach.reports.period import MAX_YEARS, Period, years_between
from outreach.reports.queries import (
    BAND_COLUMNS,
    BOOKMOBILE,
    GOAL,
    IN_BRANCH,
    OFF_SITE,
    SDG,
    THEME,
    VALUE,
)
from outreach.reports.sql import dialect, fetch
from outreach.web.errors import Invalid, NotFound

UNTAGGED_LISTED = 50
AUDIENCES = [a.value for a in Audience]
CONVENTIONS = {
    "session": "each occurrence is one session, counted in the period where it starts",
    "delivered": "not cancelled and begun before as_of; cancelled sessions are counted apart",
    "planned": "not cancelled and not begun at as_of",
    "drafts": "draft events are left out",
    "hours": "durations of delivered sessions; all-day sessions add no hours",
    "split_hours": "each event's hours divided evenly among its values and goals in the"
    " strategy; they add up to the tagged programme's hours",
    "attendance": "counted for delivered sessions only",
    "outreach": "bookmobile: a stop visit or bookmobile event; off-site: an outreach visit,"
    " or a place or coordinates without a branch room",
    "targets": "per calendar year, pro-rated to the period; status compares the delivered"
    " figure with the target pro-rated to the part of the period that has passed",
    "gaps": "goals and values with no delivered or planned session in the period",
}


class TargetStatus(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    MISSED = "missed"


# --- what is reported on --------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """One library, or every library of a network."""

    libraries: list[Library]
    library: Library | None = None
    network: Network | None = None

    @property
    def zone(self) -> ZoneInfo:
        # Networks plan in one zone in practice; the first library's zone reads their days.
        return ZoneInfo(self.libraries[0].timezone if self.libraries else "UTC")

    def params(self) -> dict[str, int]:
        if self.network is not None:
            return {"network": self.network.id}
        assert self.library is not None
        return {"library": self.library.id}

    def describe(self) -> dict[str, Any]:
        owner = self.network if self.network is not None else self.library
        assert owner is not None
        return {
            "type": "network" if self.network is not None else "library",
            "id": owner.id,
            "slug": owner.slug,
            "name": owner.name,
            "libraries": [lib.slug for lib in self.libraries],
        }


@dataclass(frozen=True)
class CoverageRequest:
    """A checked request: scope, strategy and period."""

    scope: Scope
    strategy: Strategy
    period: Period


def _by_key(raw: str | int) -> Q:
    text = str(raw).strip()
    return Q(id=int(text)) if text.isdigit() else Q(slug=text)


async def resolve_request(
    *,
    library: str | int | None = None,
    network: str | int | None = None,
    strategy: str | int | None = None,
    start: dt.date,
    end: dt.date,
) -> CoverageRequest:
    """Look the ids up and check them; :class:`Invalid` (422) or :class:`NotFound` (404)."""
    if (library is None) == (network is None):
        raise Invalid(
            {"library": "give either library or network"}, "give either library or network"
        )
    if end < start:
        raise Invalid(
            {"to": "the period ends before it starts"}, "the period ends before it starts"
        )
    if years_between(start, end) > MAX_YEARS:
        raise Invalid({"to": f"a report covers at most {MAX_YEARS} years"})
    if library is not None:
        lib = await Library.get_or_none(_by_key(library))
        if lib is None:
            raise NotFound("library")
        scope = Scope(libraries=[lib], library=lib)
        owners = Q(library_id=lib.id)
        if lib.network_id is not None:  # type: ignore[attr-defined]
            owners |= Q(network_id=lib.network_id)  # type: ignore[attr-defined]
        owner_name = f"library {lib.slug}"
    else:
        assert network is not None
        net = await Network.get_or_none(_by_key(network))
        if net is None:
            raise NotFound("network")
        scope = Scope(libraries=await Library.filter(network_id=net.id).order_by("id"), network=net)
        owners = Q(network_id=net.id)
        owner_name = f"network {net.slug}"
    period = Period(start, end, scope.zone)
    if strategy is not None:
        chosen = await Strategy.get_or_none(_by_key(strategy))
        if chosen is None:
            raise NotFound("strategy")
        if not await Strategy.filter(owners, id=chosen.id).exists():
            raise Invalid({"strategy": f"this strategy does not belong to {owner_name}"})
    else:
        candidates = await Strategy.filter(owners).order_by("-period_start", "id")
        if not candidates:
            raise Invalid({"strategy": f"{owner_name} has no strategy"})
        overlapping = [s for s in candidates if s.period_start <= end and s.period_end >= start]
        chosen = (overlapping or candidates)[0]
    return CoverageRequest(scope=scope, strategy=chosen, period=period)


# --- figures --------------------------------------------------------------------------


@dataclass
class Figures:
    """Sums over a set of occurrences, as the grouped queries return them."""

    events: int = 0
    delivered: int = 0
    cancelled: int = 0
    planned: int = 0
    all_day: int = 0
    seconds: int = 0
    planned_seconds: int = 0
    split_seconds: Fraction = field(default_factory=Fraction)
    split_hundredths: int = 0
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BAND_COLUMNS, 0))
    branches: set[int] = field(default_factory=set)
    audiences: dict[str, int] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], *, tags: int = 0) -> None:
        """Add one grouped row; ``tags`` > 0 also adds its hours split ``tags`` ways."""
        self.events += int(row["events"] or 0)
        self.delivered += int(row["delivered"] or 0)
        self.cancelled += int(row["cancelled"] or 0)
        self.planned += int(row["planned"] or 0)
        self.all_day += int(row["all_day"] or 0)
        seconds = int(row["seconds"] or 0)
        self.seconds += seconds
        self.planned_seconds += int(row["planned_seconds"] or 0)
        if tags:
            self.split_seconds += Fraction(seconds, tags)
        for band, column in BAND_COLUMNS.items():
            self.bands[band] += int(row[column] or 0)

    def merge(self, other: Figures, *, tags: int = 0) -> None:
        """Add the sums of ``other``; ``tags`` > 0 also adds its hours split ``tags`` ways."""
        self.events += other.events
        self.delivered += other.delivered
        self.cancelled += other.cancelled
        self.planned += other.planned
        self.all_day += other.all_day
        self.seconds += other.seconds
        self.planned_seconds += other.planned_seconds
        if tags:
            self.split_seconds += Fraction(other.seconds, tags)
        for band, count in other.bands.items():
            self.bands[band] += count

    @property
    def attendance(self) -> int:
        return sum(self.bands.values())

    @property
    def hours(self) -> Fraction:
        return Fraction(self.seconds, 3600)

    def as_dict(self, totals: Figures, *, reach: bool = True) -> dict[str, Any]:
        """The figures as JSON; ``reach`` adds the branches and audiences reached (known
        for values, themes, goals, SDGs and the whole programme only)."""
        figures: dict[str, Any] = {
            "events": self.events,
            "delivered": self.delivered,
            "cancelled": self.cancelled,
            "planned": self.planned,
            "all_day_sessions": self.all_day,
            "hours": _hours(self.seconds),
            "planned_hours": _hours(self.planned_seconds),
            "attendance": self.attendance,
            "attendance_by_age_band": dict(self.bands),
            "share_of_hours": _percent(self.seconds, totals.seconds),
            "share_of_sessions": _percent(self.delivered, totals.delivered),
        }
        if reach:
            figures["branches_reached"] = len(self.branches)
            figures["audiences_reached"] = [a for a in AUDIENCES if self.audiences.get(a, 0) > 0]
        return figures


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


K = TypeVar("K", bound=Hashable)


def allocate_hundredths(shares: Mapping[K, Fraction]) -> dict[K, int]:
    """Round ``shares`` (in hundredths) to whole hundredths that add up to their rounded sum,
    giving the leftover hundredths to the largest remainders (the largest-remainder method)."""
    total = sum(shares.values(), Fraction(0))
    wanted = math.floor(total + Fraction(1, 2))
    result = {key: math.floor(share) for key, share in shares.items()}
    leftover = wanted - sum(result.values())
    by_remainder = sorted(shares, key=lambda k: shares[k] - result[k], reverse=True)
    for key in by_remainder[:leftover]:
        result[key] += 1
    return result


# --- targets --------------------------------------------------------------------------


def target_status(
    target: Target, figures: Figures, totals: Figures, period: Period, today: dt.date
) -> dict[str, Any]:
    """The target's figure, what it asks for over the period and so far, and a status."""
    first = max(period.first, target.period_start)
    last = min(period.last, target.period_end)
    after = last + dt.timedelta(days=1)
    elapsed_until = min(max(today, first), after)
    minimum = Fraction(target.minimum)
    figure: Fraction
    if target.metric == TargetMetric.SHARE_OF_HOURS:
        figure = Fraction(100 * figures.seconds, totals.seconds) if totals.seconds else Fraction(0)
        expected = expected_so_far = minimum
    else:
        if target.metric == TargetMetric.OCCURRENCES:
            figure = Fraction(figures.delivered)
        elif target.metric == TargetMetric.HOURS:
            figure = figures.hours
        else:
            figure = Fraction(figures.attendance)
        expected = minimum * years_between(first, after)
        expected_so_far = minimum * years_between(first, elapsed_until)
    finished = elapsed_until >= after
    status: TargetStatus
    if target.metric == TargetMetric.SHARE_OF_HOURS:
        if finished:
            status = TargetStatus.MET if figure >= minimum else TargetStatus.MISSED
        elif elapsed_until <= first or figure >= minimum:
            status = TargetStatus.ON_TRACK
        else:
            status = TargetStatus.BEHIND
    elif figure >= expected:
        status = TargetStatus.MET
    elif finished:
        status = TargetStatus.MISSED
    elif figure >= expected_so_far:
        status = TargetStatus.ON_TRACK
    else:
        status = TargetStatus.BEHIND
    return {
        "metric": target.metric.value,
        "minimum_per_year": target.minimum,
        "period_start": target.period_start.isoformat(),
        "period_end": target.period_end.isoformat(),
        "expected": round(float(expected), 2),
        "expected_so_far": round(float(expected_so_far), 2),
        "figure": round(float(figure), 2),
        "status": status.value,
    }


def _applicable(targets: list[Target], period: Period) -> Target | None:
    overlapping = [
        t for t in targets if t.period_start <= period.last and t.period_end >= period.first
    ]
    overlapping.sort(key=lambda t: (t.period_start, t.id), reverse=True)
    return overlapping[0] if overlapping else None


# --- the report -----------------------------------------------------------------------


async def build_coverage(
    request: CoverageRequest, *, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The coverage report as a JSON-ready document (see the module docstring)."""
    scope, strategy, period = request.scope, request.strategy, request.period
    as_of = as_of or dt.datetime.now(dt.UTC)
    today = as_of.astimezone(period.zone).date()
    boundaries = period.month_boundaries()
    params: dict[str, Any] = {
        **scope.params(),
        "strategy": strategy.id,
        "start": period.start,
        "end": period.end,
        "as_of": as_of,
        "untagged_limit": UNTAGGED_LISTED,
        **{f"m{i}": instant for i, instant in enumerate(boundaries, start=1)},
    }
    values = await StrategyValue.filter(strategy_id=strategy.id).order_by("position", "id")
    themes = await Theme.filter(strategy_id=strategy.id).order_by("position", "id")
    goals = await Goal.filter(strategy_id=strategy.id).order_by("position", "id")
    await StrategyValue.fetch_for_list(values, "sdgs", "targets")
    await Goal.fetch_for_list(goals, "sdgs", "targets")
    theme_codes = {t.id: t.code for t in themes}
    # What a tag of a value or goal also counts for: its theme and its SDGs.
    implied: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for value in values:
        implied[(VALUE, value.id)] = {(SDG, s.number) for s in value.sdgs}
    for goal in goals:
        theme_id = goal.theme_id  # type: ignore[attr-defined]
        implied[(GOAL, goal.id)] = {(SDG, s.number) for s in goal.sdgs} | (
            {(THEME, theme_id)} if theme_id is not None else set()
        )

    tables = queries.Tables(secrets.token_hex(6))
    network = scope.network is not None
    # One connection and transaction: the temporary tables live only there, and the
    # queries see one consistent state of the programme.
    async with in_transaction() as conn:
        name = dialect(conn)
        for statement in tables.create():
            await conn.execute_script(statement)
        fill = queries.fill_occurrences(tables, name, network=network, boundaries=len(boundaries))
        await fetch(fill, params, connection=conn)
        await fetch(queries.fill_events(tables, name), params, connection=conn)
        group_rows = await fetch(queries.groups_query(tables), {}, connection=conn)
        audience_rows = await fetch(queries.audiences_query(tables), {}, connection=conn)
        tag_branches = await fetch(queries.tag_branches_query(tables), {}, connection=conn)
        month_rows = await fetch(queries.months_query(tables), {}, connection=conn)
        branch_rows = await fetch(queries.branches_query(tables), {}, connection=conn)
        untagged_rows = await fetch(queries.untagged_query(tables), params, connection=conn)
        for statement in tables.drop():
            await conn.execute_script(statement)

    def tags_of(sig: str) -> set[tuple[int, int]]:
        return {(VALUE if k[0] == "v" else GOAL, int(k[1:])) for k in sig.split(",") if k}

    # Whole programme and its parts; every event is in exactly one group.
    totals, tagged, untagged = Figures(), Figures(), Figures()
    visibility = {"public": Figures(), "internal": Figures()}
    places = {IN_BRANCH: Figures(), OFF_SITE: Figures(), BOOKMOBILE: Figures()}
    by_signature: dict[str, Figures] = defaultdict(Figures)
    for row in group_rows:
        figures = Figures()
        figures.add(row)
        for part in (totals, visibility.setdefault(str(row["visibility"]), Figures())):
            part.merge(figures)
        places[int(row["place"])].merge(figures)
        by_signature[str(row["sig"])].merge(figures)
    # A signature's tags, and the themes and SDGs they imply: what its events count for.
    served: dict[str, tuple[set[tuple[int, int]], set[tuple[int, int]]]] = {}
    for sig in {*by_signature, *(str(row["sig"]) for row in audience_rows)}:
        tags = tags_of(sig)
        served[sig] = (tags, set().union(*(implied.get(tag, set()) for tag in tags)))
    subjects: dict[tuple[int, int], Figures] = defaultdict(Figures)
    for sig, figures in by_signature.items():
        tags, others = served[sig]
        (tagged if tags else untagged).merge(figures)
        for key in tags:
            subjects[key].merge(figures, tags=len(tags))
        for key in others:
            subjects[key].merge(figures)
    for row in audience_rows:
        audience, delivered = str(row["audience"]), int(row["delivered"] or 0)
        tags, others = served[str(row["sig"])]
        for figures in [totals, *(subjects[key] for key in tags | others)]:
            figures.audiences[audience] = figures.audiences.get(audience, 0) + delivered
    for row in tag_branches:
        tag = (
            (GOAL, int(row["goal_id"]))
            if row["goal_id"] is not None
            else (VALUE, int(row["value_id"]))
        )
        if tag in implied:  # a tag of this strategy
            for key in {tag} | implied[tag]:
                subjects[key].branches.add(int(row["branch_id"]))
    branch_figures: dict[int | None, Figures] = {}
    for row in branch_rows:
        branch_id = None if row["branch_id"] is None else int(row["branch_id"])
        branch_figures.setdefault(branch_id, Figures()).add(row)
        if branch_id is not None and int(row["delivered"] or 0) > 0:
            totals.branches.add(branch_id)

    split_keys = [k for k in subjects if k[0] in (VALUE, GOAL)]
    hundredths = allocate_hundredths({k: subjects[k].split_seconds / 36 for k in split_keys})
    for key, share in hundredths.items():
        subjects[key].split_hundredths = share
    for goal in goals:
        theme_id = goal.theme_id  # type: ignore[attr-defined]
        if theme_id is not None:
            subjects.setdefault((THEME, theme_id), Figures()).split_hundredths += subjects.get(
                (GOAL, goal.id), Figures()
            ).split_hundredths

    def subject(kind: int, pk: int) -> Figures:
        return subjects.get((kind, pk)) or Figures()

    def row_for(kind_name: str, kind: int, item: StrategyValue | Theme | Goal) -> dict[str, Any]:
        figures = subject(kind, item.id)
        row: dict[str, Any] = {
            "kind": kind_name,
            "id": item.id,
            "code": item.code,
            "name": item.name,
            **figures.as_dict(totals),
            "split_hours": figures.split_hundredths / 100,
        }
        if isinstance(item, Goal):
            theme_id = item.theme_id  # type: ignore[attr-defined]
            row["theme"] = theme_codes.get(theme_id) if theme_id is not None else None
            row["internal"] = item.internal
        if isinstance(item, StrategyValue | Goal):
            row["sdgs"] = sorted(s.number for s in item.sdgs)
            target = _applicable(list(item.targets), period)
            row["target"] = (
                None if target is None else target_status(target, figures, totals, period, today)
            )
        return row

    value_rows = [row_for("value", VALUE, v) for v in values]
    theme_rows = [row_for("theme", THEME, t) for t in themes]
    goal_rows = [row_for("goal", GOAL, g) for g in goals]

    gaps = [
        {
            "kind": r["kind"],
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "cancelled": r["cancelled"],
        }
        for r in [*goal_rows, *value_rows]
        if r["delivered"] == 0 and r["planned"] == 0
    ]

    sdg_numbers = sorted(
        {n for r in value_rows for n in r["sdgs"]} | {n for r in goal_rows for n in r["sdgs"]}
    )
    sdg_names = {
        s.number: s.name
        for s in await SustainableDevelopmentGoal.filter(number__in=sdg_numbers or [0])
    }
    sdg_rows = [
        {
            "number": number,
            "name": sdg_names.get(number, {}),
            "values": [r["code"] for r in value_rows if number in r["sdgs"]],
            "goals": [r["code"] for r in goal_rows if number in r["sdgs"]],
            **subject(SDG, number).as_dict(totals),
        }
        for number in sdg_numbers
    ]

    months = period.months()
    month_figures = {int(r["month"]): r for r in month_rows}
    month_series = []
    for index, month in enumerate(months):
        figures = Figures()
        if index in month_figures:
            figures.add(month_figures[index])
        month_series.append(
            {"month": month.strftime("%Y-%m"), **figures.as_dict(totals, reach=False)}
        )

    branch_ids = [b for b in branch_figures if b is not None]
    branch_objects = {
        b.id: b for b in await Branch.filter(id__in=branch_ids or [0]).prefetch_related("library")
    }
    branch_table = []
    for branch_id, figures in sorted(
        branch_figures.items(),
        key=lambda item: (item[0] is None, _branch_sort(branch_objects, item[0])),
    ):
        branch = branch_objects.get(branch_id) if branch_id is not None else None
        branch_table.append(
            {
                "id": branch_id,
                "slug": branch.slug if branch else None,
                "name": branch.name if branch else "No branch (off-site or online)",
                "library": branch.library.slug if branch else None,
                **figures.as_dict(totals, reach=False),
            }
        )

    untagged_ids = [int(r["event_id"]) for r in untagged_rows]
    titles = {
        e.id: e.title for e in await Event.filter(id__in=untagged_ids or [0]).only("id", "title")
    }
    untagged_events = []
    for row in untagged_rows:
        figures = Figures()
        figures.add(row)
        untagged_events.append(
            {
                "id": int(row["event_id"]),
                "title": titles.get(int(row["event_id"]), {}),
                **figures.as_dict(totals, reach=False),
            }
        )

    audience_grid = {
        "audiences": AUDIENCES,
        "rows": [
            {
                "goal": r["code"],
                "delivered": {a: subject(GOAL, r["id"]).audiences.get(a, 0) for a in AUDIENCES},
            }
            for r in goal_rows
        ],
    }

    footprint = await footprint_section(scope.libraries, period.start, period.end)
    return {
        "scope": scope.describe(),
        "strategy": {
            "id": strategy.id,
            "slug": strategy.slug,
            "name": strategy.name,
            "source_language": strategy.source_language,
            "period_start": strategy.period_start.isoformat(),
            "period_end": strategy.period_end.isoformat(),
        },
        "period": {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "timezone": str(period.zone),
            "as_of": as_of.astimezone(dt.UTC).isoformat(),
        },
        "conventions": CONVENTIONS,
        "totals": {
            **totals.as_dict(totals),
            "tagged_hours": _hours(tagged.seconds),
            "split_hours": sum(hundredths.values()) / 100,
        },
        "values": value_rows,
        "themes": theme_rows,
        "goals": goal_rows,
        "gaps": gaps,
        "untagged": {**untagged.as_dict(totals, reach=False), "events_listed": untagged_events},
        "programme": {
            name: f.as_dict(totals, reach=False) for name, f in sorted(visibility.items())
        },
        "outreach": {
            "in_branch": places[IN_BRANCH].as_dict(totals, reach=False),
            "off_site": places[OFF_SITE].as_dict(totals, reach=False),
            "bookmobile": places[BOOKMOBILE].as_dict(totals, reach=False),
        },
        "months": month_series,
        "branches": branch_table,
        "sdgs": sdg_rows,
        "audience_grid": audience_grid,
        "footprint": footprint,
    }


def _branch_sort(branches: Mapping[int, Branch], branch_id: int | None) -> tuple[str, str]:
    branch = branches.get(branch_id) if branch_id is not None else None
    if branch is None:
        return ("", "")
    return (branch.library.slug, branch.name)


async def coverage_report(
    *,
    library: str | int | None = None,
    network: str | int | None = None,
    strategy: str | int | None = None,
    start: dt.date,
    end: dt.date,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """The coverage report of a library or network (id or slug) for the days
    ``start``…``end`` (both included); Tortoise must be initialised."""
    request = await resolve_request(
        library=library, network=network, strategy=strategy, start=start, end=end
    )
    return await build_coverage(request, as_of=as_of)
