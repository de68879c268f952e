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
- Partners and libraries: an event counts for each partner it is linked to and for each
  library named as its co-organiser, so their figures overlap and do not add up to the
  totals; a library's own figures are those of the events it holds.
- Outreach services (mobile collections, home and hospital delivery): a visit counts in the
  period when its local day lies in it; its CO2e is its kilometres at the factor it was
  driven at. The outreach total is the bookmobile's and the services' kilometres and CO2e.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import struct
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q

from outreach import i18n
from outreach.errors import Invalid, NotFound
from outreach.i18n import gettext as _
from outreach.i18n import ngettext
from outreach.languages import translated
from outreach.models import (
    Branch,
    Goal,
    Library,
    Network,
    Partner,
    Strategy,
    StrategyValue,
    Target,
    TargetMetric,
    Theme,
)
from outreach.reports import queries
from outreach.reports.footprint import footprint_section
from outreach.reports.period import MAX_YEARS, Period, years_between
from outreach.reports.queries import (
    AUDIENCES,
    BAND_COLUMNS,
    BOOKMOBILE,
    FIGURES,
    GOAL,
    IN_BRANCH,
    OFF_SITE,
    REF,
    SDG,
    THEME,
    VALUE,
)
from outreach.services.report import services_section
from outreach.settings import REPORTS
from outreach.sql import dialect, fetch_rows
from outreach.strategies import DEMO_TARGET, in_force, is_demo, stated_period

UNTAGGED_LISTED = 50
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
    "partners": "an event counts for each of its partners and co-organising libraries; these"
    " figures overlap",
    "outreach_services": "a visit counts on its local day; CO2e at the factor it was driven at",
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
        either = _("give either library or network")
        raise Invalid({"library": either}, either)
    if end < start:
        backwards = _("the period ends before it starts")
        raise Invalid({"to": backwards}, backwards)
    if years_between(start, end) > MAX_YEARS:
        raise Invalid(
            {
                "to": ngettext(
                    "a report covers at most %(num)s year",
                    "a report covers at most %(num)s years",
                    MAX_YEARS,
                )
            }
        )
    if library is not None:
        lib = await Library.get_or_none(_by_key(library))
        if lib is None:
            raise NotFound("library")
        scope = Scope(libraries=[lib], library=lib)
        owner_libraries = {lib.id}
        owner_networks = {lib.network_id} - {None}  # type: ignore[attr-defined]
        owner_name = translated(lib.name, i18n.current(), lib.default_language)
    else:
        assert network is not None
        net = await Network.get_or_none(_by_key(network))
        if net is None:
            raise NotFound("network")
        scope = Scope(libraries=await Library.filter(network_id=net.id).order_by("id"), network=net)
        owner_libraries, owner_networks = set(), {net.id}
        owner_name = translated(net.name, i18n.current())
    period = Period(start, end, scope.zone)
    if strategy is not None:
        chosen = await Strategy.get_or_none(_by_key(strategy))
        if chosen is None:
            raise NotFound("strategy")
        if not (
            chosen.library_id in owner_libraries  # type: ignore[attr-defined]
            or chosen.network_id in owner_networks  # type: ignore[attr-defined]
        ):
            strategy_name = translated(chosen.name, i18n.current(), chosen.source_language)
            problem = (
                _(
                    "“%(strategy)s” is not a strategy of the library %(owner)s",
                    strategy=strategy_name,
                    owner=owner_name,
                )
                if scope.library is not None
                else _(
                    "“%(strategy)s” is not a strategy of the network %(owner)s",
                    strategy=strategy_name,
                    owner=owner_name,
                )
            )
            raise Invalid({"strategy": problem})
    else:
        owners = Q(library_id__in=owner_libraries or [0]) | Q(network_id__in=owner_networks or [0])
        candidates = await Strategy.filter(owners).order_by("-period_start", "id")
        if not candidates:
            problem = (
                _("the library %(owner)s has no strategy", owner=owner_name)
                if scope.library is not None
                else _("the network %(owner)s has no strategy", owner=owner_name)
            )
            raise Invalid({"strategy": problem})
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

    def add(self, row: Sequence[Any]) -> None:
        """Add one result row (see :mod:`outreach.reports.queries`)."""
        self.add_vector(vector(row))

    def add_vector(self, values: Sequence[int]) -> None:
        """Add sums in the order of :data:`VECTOR`."""
        (events, delivered, cancelled, planned, all_day, seconds, planned_seconds) = values[:7]
        self.events += events
        self.delivered += delivered
        self.cancelled += cancelled
        self.planned += planned
        self.all_day += all_day
        self.seconds += seconds
        self.planned_seconds += planned_seconds
        for band, count in zip(BAND_COLUMNS, values[7:], strict=True):
            self.bands[band] += count

    @classmethod
    def of(cls, vectors: Sequence[Sequence[int]]) -> Figures:
        """The figures of the sum of ``vectors`` (summed column by column, in C)."""
        figures = cls()
        figures.add_vector(_column_sums(vectors, len(VECTOR)))
        return figures

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


# The figure columns of a grouped row, in the order :meth:`Figures.add_vector` reads them.
VECTOR = ("events", *FIGURES)
SECONDS = VECTOR.index("seconds")


def vector(row: Sequence[Any]) -> list[int]:
    """``events`` and the figure columns of a result row (``NULL`` as 0)."""
    return [value or 0 for value in row[queries.FIGURE_SLICE]]


# A group row (events, figures, delivered sessions per audience) packed into one integer,
# 64 bits a column, so that adding two packed rows adds every column at once: a subject's
# figures are one addition per group row instead of one per column (SIMD within a Python
# integer). Columns are non-negative and their totals far below 2**64 (they are sums of
# one period's sessions), so no column carries into the next; a negative value raises.
_PACKED = struct.Struct(f">{len(VECTOR) + len(AUDIENCES)}Q")


def pack(values: Sequence[int]) -> int:
    """``values`` (``len(VECTOR) + len(AUDIENCES)`` of them) as one summable integer."""
    return int.from_bytes(_PACKED.pack(*values))


def unpack(packed: int) -> tuple[int, ...]:
    """The columns of a packed row, or of a sum of packed rows."""
    return _PACKED.unpack(packed.to_bytes(_PACKED.size))


def _column_sums(vectors: Sequence[Sequence[int]], width: int) -> list[int]:
    return [sum(column) for column in zip(*vectors, strict=True)] if vectors else [0] * width


def _with_events(cells: Sequence[Sequence[int]], counted: Sequence[Any]) -> Figures:
    """The figures of ``cells`` (which count no events), with the events ``counted``."""
    figures = Figures.of(cells)
    figures.events = int(counted[queries.EVENTS] or 0)
    return figures


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
        # Every target of the five source documents' strategies is made up for the demo.
        "demo": is_demo(target.source),
        "label": DEMO_TARGET if is_demo(target.source) else None,
        "source": target.source,
    }


def period_warnings(strategy: Strategy, period: Period) -> list[dict[str, Any]]:
    """What the report must say about its period and the strategy's: a period outside the
    one the strategy's document states, or (where it states none) outside the span the
    report takes it to be in force."""
    stated = stated_period(strategy)
    first, last = (
        (strategy.stated_start, strategy.stated_end)
        if strategy.stated_start is not None and strategy.stated_end is not None
        else (strategy.period_start, strategy.period_end)
    )
    if first <= period.first and period.last <= last:
        return []
    span = f"{period.first.isoformat()}–{period.last.isoformat()}"
    whose = f"{first.isoformat()}–{last.isoformat()}"
    where = "outside" if period.last < first or period.first > last else "partly outside"
    if stated is not None:
        message = f"the report's period {span} lies {where} the strategy's period {whose}"
        code = "outside_strategy_period"
    else:
        message = (
            f"the report's period {span} lies {where} {whose}, when the report takes the"
            " strategy to be in force; its document states no period"
        )
        code = "outside_strategy_in_force"
    return [
        {
            "code": code,
            "message": message,
            "where": where.replace(" ", "_"),
            "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            "strategy_period": {"start": first.isoformat(), "end": last.isoformat()},
        }
    ]


def _applicable(targets: list[Target], period: Period) -> Target | None:
    overlapping = [
        t for t in targets if t.period_start <= period.last and t.period_end >= period.first
    ]
    overlapping.sort(key=lambda t: (t.period_start, t.id), reverse=True)
    return overlapping[0] if overlapping else None


# --- the report -----------------------------------------------------------------------


async def _strategy_outline(
    strategy: Strategy,
) -> tuple[list[StrategyValue], list[Theme], list[Goal]]:
    """The strategy's values, themes and goals in order, values and goals with their SDGs
    and targets."""
    values, themes, goals = await asyncio.gather(
        StrategyValue.filter(strategy_id=strategy.id).order_by("position", "id"),
        Theme.filter(strategy_id=strategy.id).order_by("position", "id"),
        Goal.filter(strategy_id=strategy.id).order_by("position", "id"),
    )
    await asyncio.gather(
        StrategyValue.fetch_for_list(values, "sdgs", "targets"),
        Goal.fetch_for_list(goals, "sdgs", "targets"),
    )
    return values, themes, goals


async def _figure_rows(statement: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of the report's one statement (see :mod:`outreach.reports.queries`), read
    on the reports' own connection (one statement: one consistent snapshot)."""
    return await fetch_rows(statement, params, connection=connections.get(REPORTS))


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
        "strategy_tokens": queries.tokens_pattern(strategy.id),
        "start": period.start,
        "end": period.end,
        "as_of": as_of,
        "untagged_limit": UNTAGGED_LISTED,
        **{f"m{i}": instant for i, instant in enumerate(boundaries, start=1)},
    }
    statement = queries.coverage_sql(
        dialect(), network=scope.network is not None, boundaries=len(boundaries)
    )
    # The strategy, the figures, the branches and the footprint are independent reads and
    # run at once: the figures on the reports' connection, the rest beside them.
    library_ids = [lib.id for lib in scope.libraries] or [0]
    (
        (values, themes, goals),
        rows,
        footprint,
        services,
        branch_list,
        partner_list,
    ) = await asyncio.gather(
        _strategy_outline(strategy),
        _figure_rows(statement, params),
        footprint_section(scope.libraries, period.start, period.end),
        services_section(scope.libraries, period.first, period.last),
        Branch.filter(library_id__in=library_ids),
        Partner.filter(library_id__in=library_ids),
    )
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

    parts: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        parts[row[queries.PART]].append(row)
    group_rows, kind_rows = parts[queries.GROUP], parts[queries.KIND]
    month_rows, cell_rows = parts[queries.MONTH], parts[queries.CELL]
    branch_rows, tag_branches = parts[queries.BRANCH], parts[queries.REACH]
    untagged_rows = sorted(
        parts[queries.UNTAGGED], key=lambda r: (-r[queries.DELIVERED], r[queries.REF])
    )
    # What the figures name: SDGs (read with the strategy), branches (read beside the
    # figures; one held by another library's event is looked up) and untagged events
    # (their titles come with the figures).
    sdg_names = {sdg.number: sdg.name for item in [*values, *goals] for sdg in item.sdgs}
    sdg_numbers = sorted(sdg_names)
    branch_objects = {b.id: b for b in branch_list}
    elsewhere = [r[REF] for r in branch_rows if r[REF] is not None and r[REF] not in branch_objects]
    if elsewhere:
        branch_objects.update({b.id: b for b in await Branch.filter(id__in=elsewhere)})
    library_slugs = {lib.id: lib.slug for lib in scope.libraries}
    missing_libraries = {
        b.library_id
        for b in branch_objects.values()
        if b.library_id not in library_slugs  # type: ignore[attr-defined]
    }
    if missing_libraries:
        library_slugs.update(
            {lib.id: lib.slug for lib in await Library.filter(id__in=missing_libraries)}
        )

    # The subjects a tag counts for: itself, its theme and its SDGs; by signature token.
    tag_of: dict[str, tuple[int, int]] = {}
    counts_for: dict[str, frozenset[tuple[int, int]]] = {}
    for tag, others in implied.items():
        token = queries.token(strategy.id, *tag)
        tag_of[token] = tag
        counts_for[token] = frozenset({tag, *others})

    # Every event is in exactly one signature group and one (visibility, place) group.
    # A subject's figures and audiences are the sum of the packed rows of its groups.
    kinds = [(str(r[queries.VISIBILITY]), int(r[queries.PLACE]), vector(r)) for r in kind_rows]
    totals = Figures.of([k[2] for k in kinds])
    visibility = {
        name: Figures.of([k[2] for k in kinds if k[0] == name])
        for name in sorted({"public", "internal", *(k[0] for k in kinds)})
    }
    places = {
        place: Figures.of([k[2] for k in kinds if k[1] == place])
        for place in (IN_BRANCH, OFF_SITE, BOOKMOBILE)
    }
    block = slice(queries.EVENTS, queries.AUDIENCE_SLICE.stop)
    seconds_column = queries.EVENTS + SECONDS
    subject_rows: dict[tuple[int, int], list[int]] = defaultdict(list)
    split_parts: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    tagged_sums = untagged_sums = 0
    for row in group_rows:
        sums = pack(row[block])
        tokens = [t for t in str(row[queries.SIG]).split(",") if t in tag_of]
        if not tokens:
            untagged_sums += sums
            continue
        tagged_sums += sums
        keys = counts_for[tokens[0]]
        for token in tokens[1:]:
            keys = keys | counts_for[token]
        for token in tokens:
            split_parts[tag_of[token]][len(tokens)] += row[seconds_column]
        for key in keys:
            subject_rows[key].append(sums)

    def of_sums(packed: int) -> Figures:
        sums = unpack(packed)
        figures = Figures()
        figures.add_vector(sums[: len(VECTOR)])
        figures.audiences = dict(zip(AUDIENCES, sums[len(VECTOR) :], strict=True))
        return figures

    tagged, untagged = of_sums(tagged_sums), of_sums(untagged_sums)
    totals.audiences = {a: tagged.audiences[a] + untagged.audiences[a] for a in AUDIENCES}
    subjects: dict[tuple[int, int], Figures] = defaultdict(Figures)
    for key, packed_rows in subject_rows.items():
        figures = subjects[key] = of_sums(sum(packed_rows))
        figures.split_seconds = sum(
            (Fraction(seconds, n) for n, seconds in split_parts[key].items()), Fraction(0)
        )
    for row in tag_branches:
        tag = (
            (GOAL, int(row[queries.GOAL_ID]))
            if row[queries.GOAL_ID] is not None
            else (VALUE, int(row[queries.VALUE_ID]))
        )
        if tag in implied:  # a tag of this strategy
            for key in {tag} | implied[tag]:
                subjects[key].branches.add(int(row[REF]))
    # Months and branches: the sums of their cells, and their own event counts.
    month_cells: dict[int, list[list[int]]] = defaultdict(list)
    branch_cells: dict[int | None, list[list[int]]] = defaultdict(list)
    for row in cell_rows:
        cell = vector(row)
        month_cells[int(row[REF])].append(cell)
        branch_cells[None if row[queries.REF2] is None else int(row[queries.REF2])].append(cell)
    month_figures = {int(r[REF]): _with_events(month_cells[int(r[REF])], r) for r in month_rows}
    branch_figures: dict[int | None, Figures] = {}
    for row in branch_rows:
        branch_id = None if row[REF] is None else int(row[REF])
        branch_figures[branch_id] = figures = _with_events(branch_cells[branch_id], row)
        if branch_id is not None and figures.delivered > 0:
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
    month_series = []
    for index, month in enumerate(months):
        figures = month_figures.get(index) or Figures()
        month_series.append(
            {"month": month.strftime("%Y-%m"), **figures.as_dict(totals, reach=False)}
        )

    branch_table = []
    for branch_id, figures in sorted(
        branch_figures.items(),
        key=lambda item: (
            item[0] is None,
            _branch_sort(branch_objects, library_slugs, item[0]),
        ),
    ):
        branch = branch_objects.get(branch_id) if branch_id is not None else None
        branch_table.append(
            {
                "id": branch_id,
                "slug": branch.slug if branch else None,
                "name": branch.name if branch else "No branch (off-site or online)",
                "library": library_slugs.get(branch.library_id) if branch else None,  # type: ignore[attr-defined]
                **figures.as_dict(totals, reach=False),
            }
        )

    untagged_events = []
    for row in untagged_rows:
        figures = Figures()
        figures.add(row)
        untagged_events.append(
            {
                "id": int(row[REF]),
                "title": json.loads(row[queries.TITLE]),
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

    partner_table, library_table = await _partners_and_libraries(scope, partner_list, parts, totals)

    return {
        "scope": scope.describe(),
        "strategy": {
            "id": strategy.id,
            "slug": strategy.slug,
            "name": strategy.name,
            "source_language": strategy.source_language,
            "period_start": strategy.period_start.isoformat(),
            "period_end": strategy.period_end.isoformat(),
            "period": stated_period(strategy),
            "approved_on": strategy.approved_on.isoformat() if strategy.approved_on else None,
            "in_force": in_force(strategy),
        },
        "warnings": period_warnings(strategy, period),
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
        "outreach_services": services,
        "outreach_total": {
            "distance_km": round(footprint["distance_km"] + services["distance_km"], 1),
            "kg_co2e": round(footprint["kg_co2e"] + services["kg_co2e"], 1),
        },
        "partners": partner_table,
        "libraries": library_table,
    }


async def _partners_and_libraries(
    scope: Scope,
    partners: Sequence[Partner],
    parts: Mapping[str, list[tuple[Any, ...]]],
    totals: Figures,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The figures per partner (every partner of the scope's libraries, those with no
    event too), and per library: the events it holds and those it co-organises with
    another library (every library of the scope, then other co-organisers)."""

    def figures_of(row: Sequence[Any]) -> Figures:
        figures = Figures()
        figures.add(row)
        return figures

    by_partner = {int(r[REF]): figures_of(r) for r in parts[queries.PARTNER]}
    held = {int(r[REF]): figures_of(r) for r in parts[queries.LIBRARY]}
    co_organised = {int(r[REF]): figures_of(r) for r in parts[queries.CO_ORGANISER]}
    known = {lib.id: lib for lib in scope.libraries}
    others = sorted(set(co_organised) - set(known))
    if others:
        known.update({lib.id: lib for lib in await Library.filter(id__in=others)})
    slugs = {lib_id: lib.slug for lib_id, lib in known.items()}
    partner_rows = [
        {
            "id": partner.id,
            "slug": partner.slug,
            "name": partner.name,
            "kind": partner.kind.value,
            "library": slugs.get(partner.library_id, ""),  # type: ignore[attr-defined]
            "demo": is_demo(partner.source),
            **by_partner.get(partner.id, Figures()).as_dict(totals, reach=False),
        }
        for partner in sorted(
            partners,
            key=lambda p: (-by_partner.get(p.id, Figures()).delivered, p.name, p.id),
        )
    ]
    library_rows = [
        {
            "slug": known[lib_id].slug,
            "name": known[lib_id].name,
            "in_scope": lib_id in {lib.id for lib in scope.libraries},
            **held.get(lib_id, Figures()).as_dict(totals, reach=False),
            "co_organised": co_organised.get(lib_id, Figures()).as_dict(totals, reach=False),
        }
        for lib_id in [*(lib.id for lib in scope.libraries), *others]
    ]
    return partner_rows, library_rows


def _branch_sort(
    branches: Mapping[int, Branch], library_slugs: Mapping[int, str], branch_id: int | None
) -> tuple[str, str]:
    branch = branches.get(branch_id) if branch_id is not None else None
    if branch is None:
        return ("", "")
    return (library_slugs.get(branch.library_id, ""), branch.name)  # type: ignore[attr-defined]


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
