"""What the coverage report's staff page shows beside the report document: the goals to
look at first, the charts, and the report's days as dates for Babel to format in the
reader's language (the document holds ISO text)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from outreach.reports import charts


def neglected(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Goals to look at first: nothing at all (``why``: ``gap``), then targets missed or
    behind (``why``: the status)."""
    gaps = {(g["kind"], g["id"]) for g in report["gaps"]}
    rows = []
    for goal in report["goals"]:
        status = (goal.get("target") or {}).get("status")
        if ("goal", goal["id"]) in gaps:
            rows.append({**goal, "why": "gap"})
        elif status in ("missed", "behind"):
            rows.append({**goal, "why": status})
    return rows


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def days(report: dict[str, Any]) -> dict[str, Any]:
    """The report's period, the strategy's and each warning's days, as dates."""
    strategy = report["strategy"]
    stated = strategy["period"] or {}
    return {
        "from": _day(report["period"]["from"]),
        "to": _day(report["period"]["to"]),
        "stated_start": _day(stated.get("start")),
        "stated_end": _day(stated.get("end")),
        "in_force_start": _day(strategy["in_force"]["start"]),
        "in_force_end": _day(strategy["in_force"]["end"]),
        "approved_on": _day(strategy["approved_on"]),
        "warnings": [
            {
                "code": w["code"],
                "where": w["where"],
                "from": _day(w["period"]["from"]),
                "to": _day(w["period"]["to"]),
                "start": _day(w["strategy_period"]["start"]),
                "end": _day(w["strategy_period"]["end"]),
            }
            for w in report["warnings"]
        ],
    }


def page_context(report: dict[str, Any]) -> dict[str, Any]:
    """The page's context besides the report itself (charts in the current language)."""
    return {
        "neglected": neglected(report),
        "source": report["strategy"]["source_language"],
        "days": days(report),
        "charts": {
            "goals": charts.goal_bars(report["goals"]),
            "months": charts.month_line(report["months"]),
            "audiences": charts.audience_grid(report["audience_grid"]),
        },
    }
