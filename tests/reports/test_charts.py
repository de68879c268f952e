"""The month chart of the coverage report: a legend, and its last month always labelled."""

from __future__ import annotations

import re

from outreach import i18n
from outreach.reports.charts import month_line


def _months(first_year: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "month": f"{first_year + i // 12}-{i % 12 + 1:02d}",
            "delivered": i,
            "planned": 1,
        }
        for i in range(count)
    ]


def _labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="middle">([^<]+)</text>', svg)


def test_the_month_chart_has_a_legend_and_labels_its_last_month() -> None:
    with i18n.speaking("en"):
        svg = str(month_line(_months(2026, 26)))
    assert '<text x="70" y="20">delivered</text>' in svg
    assert '<text x="230" y="20">planned</text>' in svg
    # 26 months: every second one is labelled, and the last, February 2028, always is;
    # December 2027 is left out so that the two do not crowd each other.
    labels = _labels(svg)
    assert labels[:3] == ["Jan 2026", "Mar 2026", "May 2026"]
    assert labels[-2:] == ["Nov 2027", "Feb 2028"]
    assert len(labels) == 13
    with i18n.speaking("sl"):
        slovenian = str(month_line(_months(2026, 3)))
    assert _labels(slovenian) == ["jan. 2026", "feb. 2026", "mar. 2026"]
    assert ">izvedeno</text>" in slovenian
