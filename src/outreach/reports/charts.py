"""Charts of the coverage report as inline SVG drawn on the server: no script, no CDN,
and they print like the rest of the page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

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
            f'fill="{_BAR}"><title>{escape(goal["code"])}: {goal["delivered"]} sessions'
            "</title></rect>"
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}">{goal["delivered"]}</text>'
        )
        if _counts_sessions(goal):
            x = label_width + plot * goal["target"]["expected_so_far"] / scale_max
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + row - 4}" '
                'stroke="#a12a2a" stroke-width="2"><title>expected so far</title></line>'
            )
    body.append(
        f'<text x="{label_width}" y="{height - 4}" fill="{_MUTED}">delivered sessions;'
        " red tick: session target expected so far</text>"
    )
    return _svg(width, height, "Delivered sessions per goal", body)


def _counts_sessions(goal: dict[str, Any]) -> bool:
    target = goal.get("target")
    return target is not None and target["metric"] == "occurrences"


def month_line(months: Sequence[dict[str, Any]]) -> Markup:
    """Delivered (solid) and planned (dashed) sessions month by month."""
    width, height, left, bottom, top = 640, 220, 40, 30, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max([1] + [m["delivered"] for m in months] + [m["planned"] for m in months])
    step = plot_w / max(len(months) - 1, 1)

    def points(key: str) -> str:
        return " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * m[key] / peak:.1f}"
            for i, m in enumerate(months)
        )

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        f'stroke="{_MUTED}"/>',
        f'<text x="0" y="{top + 10}">{peak}</text>',
        f'<text x="0" y="{top + plot_h}">0</text>',
        f'<polyline points="{points("delivered")}" fill="none" stroke="{_BAR}" stroke-width="2"/>',
        f'<polyline points="{points("planned")}" fill="none" stroke="{_MUTED}" '
        'stroke-width="2" stroke-dasharray="5 4"/>',
    ]
    every = max(1, len(months) // 12)
    for i, month in enumerate(months):
        x = left + i * step
        y = top + plot_h - plot_h * month["delivered"] / peak
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_BAR}"><title>'
            f"{escape(month['month'])}: {month['delivered']} delivered, "
            f"{month['planned']} planned</title></circle>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{escape(month['month'])}</text>"
            )
    return _svg(width, height, "Sessions per month: delivered and planned", body)


def audience_grid(grid: dict[str, Any]) -> Markup:
    """Goals (rows) by audience (columns): delivered sessions, darker for more."""
    audiences: list[str] = grid["audiences"]
    rows: list[dict[str, Any]] = grid["rows"]
    cell_w, cell_h, left, top = 64, 24, 70, 24
    width = left + cell_w * len(audiences)
    height = top + cell_h * max(len(rows), 1) + 4
    peak = max([1] + [n for r in rows for n in r["delivered"].values()])
    body = [
        f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="16" text-anchor="middle">'
        f"{escape(a)}</text>"
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
                f"<title>{escape(row['goal'])} × {escape(audience)}: {count}</title></rect>"
                f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + 16}" text-anchor="middle" '
                f'fill="{"#fff" if shade > 0.5 else "#1d2a33"}">{count}</text>'
            )
    return _svg(width, height, "Delivered sessions by goal and audience", body)
