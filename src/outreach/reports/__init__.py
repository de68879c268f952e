"""Reports: value coverage (aggregated in SQL), its exporters, and the footprint hook."""

from __future__ import annotations

from outreach.reports.coverage import (
    CoverageRequest,
    TargetStatus,
    build_coverage,
    coverage_report,
    resolve_request,
)
from outreach.reports.exporters import (
    EXPORTERS,
    CoverageCsvExporter,
    CoverageJsonExporter,
    export_coverage,
)

__all__ = [
    "EXPORTERS",
    "CoverageCsvExporter",
    "CoverageJsonExporter",
    "CoverageRequest",
    "TargetStatus",
    "build_coverage",
    "coverage_report",
    "export_coverage",
    "resolve_request",
]
