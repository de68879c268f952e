"""Coverage reports over HTTP: JSON and CSV for scripts, an HTML page for directors.

Directors (and admins) read the reports of their libraries; a network coordinator reads
the network's report and those of its libraries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from outreach.models import Role, RoleName, StaffUser, Strategy
from outreach.reports import charts
from outreach.reports.coverage import CoverageRequest, build_coverage, resolve_request
from outreach.reports.exporters import CoverageCsvExporter, CoverageExporter, CoverageJsonExporter
from outreach.strategies import strategies_for_library
from outreach.web import auth, staff
from outreach.web.errors import ApiError, Invalid

READ_ROLES = (RoleName.DIRECTOR,)


def _day(params: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid({name: "must be a date such as 2025-01-31"}) from None


def _text(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name, "").strip()
    return raw or None


async def checked_request(params: Mapping[str, str], user: StaffUser) -> CoverageRequest:
    """The report the query ``params`` ask for, if ``user`` may read it: else 403/404/422."""
    today = dt.datetime.now(dt.UTC).date()
    start = _day(params, "from", dt.date(today.year, 1, 1))
    end = _day(params, "to", dt.date(today.year, 12, 31))
    wanted = await resolve_request(
        library=_text(params, "library"),
        network=_text(params, "network"),
        strategy=_text(params, "strategy"),
        start=start,
        end=end,
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
    user = await auth.require_user(request)
    report = await build_coverage(await checked_request(request.query_params, user))
    exporter = exporter_class(report)
    headers = {"Cache-Control": "private, no-store"}
    if exporter_class is CoverageCsvExporter:
        headers["Content-Disposition"] = f'attachment; filename="{exporter.filename}"'
    return Response(exporter.get_data(), media_type=exporter.content_type, headers=headers)


async def coverage_json(request: Request) -> Response:
    return await _export(request, CoverageJsonExporter)


async def coverage_csv(request: Request) -> Response:
    return await _export(request, CoverageCsvExporter)


def _neglected(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Goals to look at first: nothing at all, then targets missed or behind."""
    gaps = {(g["kind"], g["id"]) for g in report["gaps"]}
    rows = []
    for goal in report["goals"]:
        status = (goal.get("target") or {}).get("status")
        if ("goal", goal["id"]) in gaps:
            rows.append({**goal, "why": "nothing delivered or planned"})
        elif status in ("missed", "behind"):
            rows.append({**goal, "why": f"target {status}"})
    return rows


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
        context["error"] = "You hold no director role in any library."
        return staff.render(request, "staff/reports_coverage.html", context, status_code=403)
    try:
        wanted = await checked_request(query, user)
    except Invalid as exc:
        context["errors"] = exc.fields
        context["error"] = exc.error
        return staff.render(request, "staff/reports_coverage.html", context, status_code=422)
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
        neglected=_neglected(report),
        source=report["strategy"]["source_language"],
        charts={
            "goals": charts.goal_bars(report["goals"]),
            "months": charts.month_line(report["months"]),
            "audiences": charts.audience_grid(report["audience_grid"]),
        },
    )
    return staff.render(request, "staff/reports_coverage.html", context)


routes: list[BaseRoute] = [
    Route("/api/reports/coverage", coverage_json, methods=["GET"]),
    Route("/api/reports/coverage.csv", coverage_csv, methods=["GET"]),
    Route("/staff/reports/coverage", staff.page(coverage_page), methods=["GET"]),
]
