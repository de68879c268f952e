"""Charts of the coverage report as inline SVG drawn on the server: no script, no CDN,
and they print like the rest of the page. Their words and numbers are in the language the
page is written in (:mod:`outreach.i18n`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from outreach.i18n import format_number, format_skeleton, ngettext
from outreach.i18n import gettext as _
from outreach.labels import audience_label
from outreach.models import Audience

_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
_BAR = "#2f5f8f"
_MUTED = "#56656e"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def goal_bars(goals: Sequence[dict[str, Any]]) -> Markup:
    """One horizontal bar per goal: delivered sessions, with the target's pro-rated
    expectation so far as a tick."""
    row, label_width, width = 22, 70, 640
    height = row * max(len(goals), 1) + 24
    scale_max = max(
        [1.0]
        + [float(g["delivered"]) for g in goals]
        + [float(g["target"]["expected_so_far"]) for g in goals if _counts_sessions(g)]
    )
    plot = width - label_width - 60
    body = []
    for i, goal in enumerate(goals):
        y = i * row + 4
        length = plot * goal["delivered"] / scale_max
        body.append(
            f'<text x="0" y="{y + 14}">{escape(goal["code"])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{_BAR}"><title>{escape(goal["code"])}: '
            + escape(
                ngettext(
                    "%(num)s session",
                    "%(num)s sessions",
                    goal["delivered"],
                    num=format_number(goal["delivered"]),
                )
            )
            + "</title></rect>"
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}">'
            f"{format_number(goal['delivered'])}</text>"
        )
        if _counts_sessions(goal):
            x = label_width + plot * goal["target"]["expected_so_far"] / scale_max
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + row - 4}" '
                f'stroke="#a12a2a" stroke-width="2"><title>{escape(_("expected so far"))}'
                "</title></line>"
            )
    body.append(
        f'<text x="{label_width}" y="{height - 4}" fill="{_MUTED}">'
        + escape(_("delivered sessions; red tick: session target expected so far"))
        + "</text>"
    )
    return _svg(width, height, _("Delivered sessions per goal"), body)


def _counts_sessions(goal: dict[str, Any]) -> bool:
    target = goal.get("target")
    return target is not None and target["metric"] == "occurrences"


def _month(text: str) -> str:
    """A month of the report (``2026-03``) as the reader's language names it."""
    year, month = text.split("-")
    return format_skeleton(dt.date(int(year), int(month), 1), "yMMM")


def month_line(months: Sequence[dict[str, Any]]) -> Markup:
    """Delivered (solid) and planned (dashed) sessions month by month, with a legend, and
    a label under the first and last month and evenly between them."""
    width, height, left, bottom, top, legend = 640, 244, 40, 30, 34, 20
    plot_w, plot_h = width - left - 40, height - top - bottom
    peak = max([1] + [m["delivered"] for m in months] + [m["planned"] for m in months])
    step = plot_w / max(len(months) - 1, 1)

    def points(key: str) -> str:
        return " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * m[key] / peak:.1f}"
            for i, m in enumerate(months)
        )

    delivered, planned = _("delivered"), _("planned")
    body = [
        # The legend: what the solid and the dashed line are.
        f'<line x1="{left}" y1="{legend - 4}" x2="{left + 24}" y2="{legend - 4}" '
        f'stroke="{_BAR}" stroke-width="2"/>',
        f'<text x="{left + 30}" y="{legend}">{escape(delivered)}</text>',
        f'<line x1="{left + 160}" y1="{legend - 4}" x2="{left + 184}" y2="{legend - 4}" '
        f'stroke="{_MUTED}" stroke-width="2" stroke-dasharray="5 4"/>',
        f'<text x="{left + 190}" y="{legend}">{escape(planned)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{_MUTED}"/>',
        f'<text x="0" y="{top + 10}">{format_number(peak)}</text>',
        f'<text x="0" y="{top + plot_h}">0</text>',
        f'<polyline points="{points("delivered")}" fill="none" stroke="{_BAR}" stroke-width="2"/>',
        f'<polyline points="{points("planned")}" fill="none" stroke="{_MUTED}" '
        'stroke-width="2" stroke-dasharray="5 4"/>',
    ]
    every = max(1, len(months) // 12)
    last = len(months) - 1
    for i, month in enumerate(months):
        x = left + i * step
        y = top + plot_h - plot_h * month["delivered"] / peak
        name = _month(month["month"])
        tip = _(
            "%(month)s: %(delivered)s delivered, %(planned)s planned",
            month=name,
            delivered=format_number(month["delivered"]),
            planned=format_number(month["planned"]),
        )
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_BAR}"><title>'
            f"{escape(tip)}</title></circle>"
        )
        # The last month is always labelled; a label that would crowd it is left out.
        if i == last or (i % every == 0 and last - i >= every):
            body.append(
                f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(name)}</text>'
            )
    return _svg(width, height, _("Sessions per month: delivered and planned"), body)


def audience_grid(grid: dict[str, Any]) -> Markup:
    """Goals (rows) by audience (columns): delivered sessions, darker for more."""
    audiences: list[str] = grid["audiences"]
    rows: list[dict[str, Any]] = grid["rows"]
    # The columns are headed by the audiences' names in the reader's language, never codes.
    names = {a: audience_label(Audience(a)) for a in audiences}
    longest = max([len(n) for n in names.values()] + [0])
    cell_w, cell_h, left, top = max(64, 7 * longest + 12), 24, 70, 24
    width = left + cell_w * len(audiences)
    height = top + cell_h * max(len(rows), 1) + 4
    peak = max([1] + [n for r in rows for n in r["delivered"].values()])
    body = [
        f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="16" text-anchor="middle">'
        f"{escape(names[a])}</text>"
        for j, a in enumerate(audiences)
    ]
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(f'<text x="0" y="{y + 16}">{escape(row["goal"])}</text>')
        for j, audience in enumerate(audiences):
            count = row["delivered"][audience]
            x = left + j * cell_w
            shade = 0.08 + 0.92 * count / peak if count else 0.0
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{_BAR}" fill-opacity="{shade:.2f}" stroke="#d4dce0">'
                f"<title>{escape(row['goal'])} × {escape(names[audience])}: {format_number(count)}"
                "</title></rect>"
                f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + 16}" text-anchor="middle" '
                f'fill="{"#fff" if shade > 0.5 else "#1d2a33"}">{count}</text>'
            )
    return _svg(width, height, _("Delivered sessions by goal and audience"), body)
