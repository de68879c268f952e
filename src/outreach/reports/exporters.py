"""Exporters of the coverage report, small classes in the manner of pretalx's exporters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any, ClassVar

from outreach import i18n
from outreach.i18n import N_
from outreach.models import AgeBand
from outreach.reports.coverage import coverage_report
from outreach.spreadsheet import cell

BANDS = [band.value for band in AgeBand]
# Columns of the outreach rows (empty in the others).
OUTREACH_COLUMNS = (
    "visits",
    "people_served",
    "institutions_served",
    "items",
    "distance_km",
    "kg_co2e",
    "demo",
)


def _programme_cells(figures: dict[str, Any]) -> dict[str, Any]:
    """The programme figures of a partner's or a library's row."""
    return {
        "events": figures["events"],
        "delivered": figures["delivered"],
        "cancelled": figures["cancelled"],
        "planned": figures["planned"],
        "all_day_sessions": figures["all_day_sessions"],
        "hours": f"{figures['hours']:.2f}",
        "planned_hours": f"{figures['planned_hours']:.2f}",
        "attendance": figures["attendance"],
        "share_of_hours": f"{figures['share_of_hours']:.2f}",
        "share_of_sessions": f"{figures['share_of_sessions']:.2f}",
    }


class CoverageExporter:
    """Turns a coverage report document into a file."""

    identifier: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report

    @property
    def filename(self) -> str:
        scope, period = self.report["scope"], self.report["period"]
        return f"coverage-{scope['slug']}-{period['from']}-{period['to']}.{self.extension}"

    def get_data(self) -> str:
        raise NotImplementedError


class CoverageJsonExporter(CoverageExporter):
    """The whole report as JSON."""

    identifier = "coverage.json"
    extension = "json"
    content_type = "application/json"

    def get_data(self) -> str:
        return json.dumps(self.report, ensure_ascii=False, indent=2) + "\n"


class CoverageCsvExporter(CoverageExporter):
    """One row per value, theme and goal, with its figures and target (a demo target says
    so in ``target_source`` and ``target_label``); then the outreach kilometres and CO2e
    (``outreach`` rows: ``bookmobile``, each outreach service by its slug, ``total``), one
    ``partner`` row per partner organisation and one ``library`` and ``co_organised`` row
    per library of the scope; then one ``warning`` row per warning of the report (its code,
    and its message in the name columns)."""

    identifier = "coverage.csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def header(self) -> list[str]:
        source = self.report["strategy"]["source_language"]
        names = [f"name_{source}"] + (["name_en"] if source != "en" else [])
        return [
            "kind",
            "code",
            "theme",
            *names,
            "events",
            "delivered",
            "cancelled",
            "planned",
            "all_day_sessions",
            "hours",
            "split_hours",
            "planned_hours",
            "attendance",
            *(f"attendance_{band}" for band in BANDS),
            "branches_reached",
            "audiences_reached",
            "share_of_hours",
            "share_of_sessions",
            "sdgs",
            "target_metric",
            "target_minimum_per_year",
            "target_expected",
            "target_expected_so_far",
            "target_figure",
            "target_status",
            "target_source",
            "target_label",
            *OUTREACH_COLUMNS,
        ]

    def rows(self) -> list[list[Any]]:
        source = self.report["strategy"]["source_language"]
        languages = [source] + (["en"] if source != "en" else [])
        rows = []
        for item in [*self.report["values"], *self.report["themes"], *self.report["goals"]]:
            target = item.get("target") or {}
            rows.append(
                [
                    item["kind"],
                    item["code"],
                    item.get("theme") or "",
                    *(item["name"].get(lang, "") for lang in languages),
                    item["events"],
                    item["delivered"],
                    item["cancelled"],
                    item["planned"],
                    item["all_day_sessions"],
                    f"{item['hours']:.2f}",
                    f"{item['split_hours']:.2f}",
                    f"{item['planned_hours']:.2f}",
                    item["attendance"],
                    *(item["attendance_by_age_band"][band] for band in BANDS),
                    item["branches_reached"],
                    " ".join(item["audiences_reached"]),
                    f"{item['share_of_hours']:.2f}",
                    f"{item['share_of_sessions']:.2f}",
                    " ".join(str(n) for n in item.get("sdgs", [])),
                    target.get("metric", ""),
                    target.get("minimum_per_year", ""),
                    target.get("expected", ""),
                    target.get("expected_so_far", ""),
                    target.get("figure", ""),
                    target.get("status", ""),
                    (target.get("source") or {}).get("kind", ""),
                    target.get("label") or "",
                ]
            )
        width = len(self.header())
        rows += [self._padded(row, languages, width) for row in self.other_rows()]
        for warning in self.report["warnings"]:
            row: list[Any] = ["warning", warning["code"], ""]
            row += [warning["message"]] * len(languages)
            rows.append(row + [""] * (width - len(row)))
        return rows

    def other_rows(self) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
        """(kind, code, names, cells by column) of the outreach, partner and library rows."""
        report = self.report
        found: list[tuple[str, str, dict[str, str], dict[str, Any]]] = []
        footprint = report["footprint"]
        found.append(
            (
                "outreach",
                "bookmobile",
                _in_every_language(N_("Bookmobile")),
                {
                    "delivered": footprint["occurrences"],
                    "attendance": footprint["visitors"],
                    "visits": footprint["runs"],
                    "distance_km": f"{footprint['distance_km']:.1f}",
                    "kg_co2e": f"{footprint['kg_co2e']:.1f}",
                },
            )
        )
        for service in report["outreach_services"]["services"]:
            found.append(
                (
                    "outreach",
                    service["slug"],
                    service["name"],
                    {
                        "visits": service["visits"],
                        "people_served": service["people_served"],
                        "institutions_served": service["institutions_served"],
                        "items": service["items"],
                        "distance_km": f"{service['distance_km']:.1f}",
                        "kg_co2e": f"{service['kg_co2e']:.1f}",
                        "demo": "demo" if service["demo"] else "",
                    },
                )
            )
        total = report["outreach_total"]
        found.append(
            (
                "outreach",
                "total",
                _in_every_language(N_("Outreach in total")),
                {
                    "distance_km": f"{total['distance_km']:.1f}",
                    "kg_co2e": f"{total['kg_co2e']:.1f}",
                },
            )
        )
        for partner in report["partners"]:
            found.append(
                (
                    "partner",
                    partner["slug"],
                    {"en": partner["name"]},
                    {**_programme_cells(partner), "demo": "demo" if partner["demo"] else ""},
                )
            )
        for library in report["libraries"]:
            found.append(("library", library["slug"], library["name"], _programme_cells(library)))
            found.append(
                (
                    "co_organised",
                    library["slug"],
                    library["name"],
                    _programme_cells(library["co_organised"]),
                )
            )
        return found

    def _padded(
        self,
        row: tuple[str, str, dict[str, str], dict[str, Any]],
        languages: list[str],
        width: int,
    ) -> list[Any]:
        kind, code, names, cells = row
        header = self.header()
        line: list[Any] = [""] * width
        line[0], line[1] = kind, code
        for offset, lang in enumerate(languages):
            # A name in one language only (an organisation's own) stands in every column.
            line[3 + offset] = names.get(lang) or names.get("en") or next(iter(names.values()))
        for column, value in cells.items():
            line[header.index(column)] = value
        return line

    def get_data(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.header())
        for row in self.rows():
            writer.writerow([cell(value) for value in row])
        return out.getvalue()


def _in_every_language(message: str) -> dict[str, str]:
    """A row's name of our own wording, in each interface language, for the name columns."""
    names: dict[str, str] = {}
    for lang in i18n.INTERFACE_LANGUAGES:
        with i18n.speaking(lang):
            names[lang] = i18n.gettext(message)
    return names


EXPORTERS: dict[str, type[CoverageExporter]] = {
    "json": CoverageJsonExporter,
    "csv": CoverageCsvExporter,
}


async def export_coverage(
    *,
    fmt: str,
    library: str | None = None,
    network: str | None = None,
    strategy: str | None = None,
    start: dt.date,
    end: dt.date,
) -> str:
    """The coverage report as text in ``fmt`` (``csv`` or ``json``), for the command line.

    Raises :class:`outreach.errors.DomainError` for bad input (its ``body()`` says why).
    """
    exporter = EXPORTERS[fmt]
    report = await coverage_report(
        library=library, network=network, strategy=strategy, start=start, end=end
    )
    return exporter(report).get_data()
