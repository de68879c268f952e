"""Coverage reports over HTTP: JSON and CSV for scripts, an HTML page for directors.

Directors (and admins) read the reports of their libraries; a network coordinator reads
the network's report and those of its libraries.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from outreach.i18n import N_
from outreach.i18n import gettext as _
from outreach.models import Role, RoleName, StaffUser, Strategy
from outreach.reports.coverage import CoverageRequest, build_coverage, resolve_request
from outreach.reports.exporters import CoverageCsvExporter, CoverageExporter, CoverageJsonExporter
from outreach.reports.page import page_context
from outreach.schemas import CODE_PATTERN, Answer, Day, Declared, Text, validate
from outreach.strategies import strategies_for_library
from outreach.web import auth, staff
from outreach.web.boundary import declare, read_query
from outreach.web.errors import ApiError, Invalid, NotFound

READ_ROLES = (RoleName.DIRECTOR,)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


Name = Annotated[str, Text(64, CODE_PATTERN, N_("a slug"))]


class CoverageQuery(Declared):
    """Whose coverage, by which strategy, over which days (default: this calendar year)."""

    unknown: ClassVar[str] = N_("is not a parameter of the report")
    library: Annotated[Name | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="library slug"
    )
    network: Annotated[Name | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="network slug (instead of library)"
    )
    strategy: Annotated[Name | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="strategy id or slug"
    )
    from_: Annotated[Annotated[dt.date, Day()] | None, BeforeValidator(_blank_is_none)] = Field(
        None, alias="from", description="first day"
    )
    to: Annotated[Annotated[dt.date, Day()] | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="last day"
    )


class CoverageFigures(Answer):
    """Sessions, hours and attendance of some events, with their shares of the whole."""

    events: int
    delivered: int
    cancelled: int
    planned: int
    all_day_sessions: int
    hours: float
    planned_hours: float
    attendance: int
    attendance_by_age_band: dict[str, int]
    share_of_hours: float = Field(description="percent of the programme's delivered hours")
    share_of_sessions: float = Field(description="percent of the programme's sessions")


class Reached(CoverageFigures):
    branches_reached: int
    audiences_reached: list[str]


class TargetOut(Answer):
    metric: str
    minimum_per_year: float
    period_start: str
    period_end: str
    expected: float
    expected_so_far: float
    figure: float
    status: str = Field(description="met, missed, on_track or behind")
    demo: bool
    label: str | None
    source: str


class SubjectRow(Reached):
    """A value, theme or goal of the strategy with its figures (and target, if any)."""

    kind: str
    id: int
    code: str
    name: dict[str, str] = Field(description="by language")
    split_hours: float
    theme: str | None = None
    internal: bool | None = None
    sdgs: list[int] | None = None
    target: TargetOut | None = None


class ScopeOut(Answer):
    type: str = Field(description="library or network")
    id: int
    slug: str
    name: dict[str, str] = Field(description="by language")
    libraries: list[str]


class ReportStrategy(Answer):
    id: int
    slug: str
    name: dict[str, str] = Field(description="by language")
    source_language: str
    period_start: str
    period_end: str
    period: dict[str, Any] | None = Field(description="as the strategy's document states it")
    approved_on: str | None
    in_force: dict[str, Any]


class ReportPeriod(Answer):
    from_: str = Field(alias="from")
    to: str
    timezone: str
    as_of: str


class Totals(Reached):
    tagged_hours: float
    split_hours: float


class Gap(Answer):
    kind: str
    id: int
    code: str
    name: dict[str, str] = Field(description="by language")
    cancelled: int


class Untagged(CoverageFigures):
    events_listed: list[dict[str, Any]]


class Outreach(Answer):
    in_branch: CoverageFigures
    off_site: CoverageFigures
    bookmobile: CoverageFigures


class MonthRow(CoverageFigures):
    month: str = Field(description="YYYY-MM")


class BranchRow(CoverageFigures):
    id: int | None
    slug: str | None
    name: str
    library: str | None


class SdgRow(Reached):
    number: int
    name: dict[str, str]
    values: list[str]
    goals: list[str]


class AudienceGrid(Answer):
    audiences: list[str]
    rows: list[dict[str, Any]]


class FootprintFigures(Answer):
    runs: int
    occurrences: int
    visitors: int
    distance_km: float
    kg_co2e: float
    km_per_run: float | None
    kg_co2e_per_occurrence: float | None
    kg_co2e_per_visitor: float | None


class FootprintOut(FootprintFigures):
    """Kilometres and CO2e of the bookmobile runs of the report's libraries."""

    available: bool
    by_vehicle: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    distance_sources: list[str]
    notes: list[str]


class PeriodWarning(Answer):
    """The report's period lies (partly) outside the strategy's."""

    code: str
    message: str
    where: str
    period: dict[str, str]
    strategy_period: dict[str, str]


class CoverageOut(Answer):
    """How a library's or network's programme covers its strategy's values and goals."""

    scope: ScopeOut
    strategy: ReportStrategy
    warnings: list[PeriodWarning]
    period: ReportPeriod
    conventions: dict[str, str]
    totals: Totals
    values: list[SubjectRow]
    themes: list[SubjectRow]
    goals: list[SubjectRow]
    gaps: list[Gap]
    untagged: Untagged
    programme: dict[str, CoverageFigures]
    outreach: Outreach
    months: list[MonthRow]
    branches: list[BranchRow]
    sdgs: list[SdgRow]
    audience_grid: AudienceGrid
    footprint: FootprintOut


async def checked_request(query: CoverageQuery, user: StaffUser) -> CoverageRequest:
    """The report ``query`` asks for, if ``user`` may read it: else 403/404/422."""
    today = dt.datetime.now(dt.UTC).date()
    wanted = await resolve_request(
        library=query.library,
        network=query.network,
        strategy=query.strategy,
        start=query.from_ or dt.date(today.year, 1, 1),
        end=query.to or dt.date(today.year, 12, 31),
    )
    scope = wanted.scope
    if scope.network is not None:
        allowed = await Role.filter(
            user_id=user.id, network_id=scope.network.id, role=RoleName.COORDINATOR
        ).exists()
    else:
        assert scope.library is not None
        allowed = await auth.has_library_role(user, scope.library.id, READ_ROLES)
    if not allowed:
        raise ApiError(403, "forbidden: you may not read reports here")
    return wanted


async def _export(request: Request, exporter_class: type[CoverageExporter]) -> Response:
    query = read_query(request, CoverageQuery)
    user = await auth.require_user(request)
    report = await build_coverage(await checked_request(query, user))
    exporter = exporter_class(report)
    headers = {"Cache-Control": "private, no-store"}
    if exporter_class is CoverageCsvExporter:
        headers["Content-Disposition"] = f'attachment; filename="{exporter.filename}"'
    return Response(exporter.get_data(), media_type=exporter.content_type, headers=headers)


@declare(query=CoverageQuery, answer=CoverageOut)
async def coverage_json(request: Request) -> Response:
    """Value coverage of a library or network, as JSON."""
    return await _export(request, CoverageJsonExporter)


@declare(query=CoverageQuery, media_type="text/csv")
async def coverage_csv(request: Request) -> Response:
    """Value coverage of a library or network, as CSV."""
    return await _export(request, CoverageCsvExporter)


async def coverage_page(request: Request) -> Response:
    user: StaffUser = request.state.user
    access = [
        a
        for a in await staff.libraries_of(user)
        if {RoleName.DIRECTOR, RoleName.ADMIN, RoleName.COORDINATOR} & set(a.roles)
    ]
    query = dict(request.query_params)
    if not query.get("library") and not query.get("network") and access:
        query["library"] = access[0].library.slug
    context: dict[str, Any] = {
        "access": access,
        "query": query,
        "report": None,
        "errors": {},
        "error": "",
        "strategies": [],
    }
    if not query.get("library") and not query.get("network"):
        context["error"] = _("You hold no director role in any library.")
        return staff.render(request, "staff/reports_coverage.html", context, status_code=403)
    try:
        known = {
            k: v for k, v in query.items() if k in ("library", "network", "strategy", "from", "to")
        }
        wanted = await checked_request(validate(CoverageQuery, known), user)
    except Invalid as exc:
        context["errors"] = exc.fields
        context["error"] = _("The report cannot be shown: correct what is named below.")
        return staff.render(request, "staff/reports_coverage.html", context, status_code=422)
    except NotFound as exc:
        context["error"] = _missing(exc.what)
        return staff.render(request, "staff/reports_coverage.html", context, status_code=404)
    except ApiError as exc:
        context["error"] = _("You may not read the reports of this library or network.")
        return staff.render(request, "staff/reports_coverage.html", context, status_code=exc.status)
    report = await build_coverage(wanted)
    strategies: list[Strategy] = (
        await strategies_for_library(wanted.scope.library)
        if wanted.scope.library is not None
        else await Strategy.filter(network_id=wanted.scope.network.id).order_by("-period_start")
        if wanted.scope.network is not None
        else []
    )
    context.update(
        report=report,
        strategies=strategies,
        **page_context(report),
    )
    return staff.render(request, "staff/reports_coverage.html", context)


def _missing(what: str) -> str:
    """What the report page says when what its query names does not exist."""
    match what:
        case "library":
            return _("There is no such library.")
        case "network":
            return _("There is no such network.")
        case _:
            return _("There is no such strategy.")


routes: list[BaseRoute] = [
    Route("/api/reports/coverage", coverage_json, methods=["GET"]),
    Route("/api/reports/coverage.csv", coverage_csv, methods=["GET"]),
    Route("/staff/reports/coverage", staff.page(coverage_page), methods=["GET"]),
]
