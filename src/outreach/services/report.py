"""The outreach services' part of the coverage report: visits, counts, km and CO2e.

A visit counts in the period when its local day lies inside it. CO2e is each visit's
kilometres at the factor it was driven at (kept with the visit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from outreach.models import Library, OutreachService, ServiceVisit


@dataclass
class ServiceFigures:
    visits: int = 0
    people_served: int = 0
    institutions_served: int = 0
    items: int = 0
    km: float = 0.0
    kg_co2e: float = 0.0

    def add(self, visit: ServiceVisit) -> None:
        self.visits += 1
        self.people_served += visit.people_served
        self.institutions_served += visit.institutions_served
        self.items += visit.items
        self.km += visit.km
        self.kg_co2e += visit.km * visit.kg_co2e_per_km

    def as_dict(self) -> dict[str, Any]:
        return {
            "visits": self.visits,
            "people_served": self.people_served,
            "institutions_served": self.institutions_served,
            "items": self.items,
            "distance_km": round(self.km, 1),
            "kg_co2e": round(self.kg_co2e, 1),
        }


async def services_section(
    libraries: Sequence[Library], first: dt.date, last: dt.date
) -> dict[str, Any]:
    """Each outreach service of ``libraries`` with its figures for the days
    ``first``…``last``, and their total."""
    services = await OutreachService.filter(
        library_id__in=[lib.id for lib in libraries] or [0]
    ).order_by("library_id", "kind", "slug")
    visits = await ServiceVisit.filter(
        service_id__in=[s.id for s in services] or [0], day__gte=first, day__lte=last
    )
    figures = {s.id: ServiceFigures() for s in services}
    for visit in visits:
        figures[visit.service_id].add(visit)  # type: ignore[attr-defined]
    slugs = {lib.id: lib.slug for lib in libraries}
    total = ServiceFigures()
    rows = []
    for service in services:
        found = figures[service.id]
        total.visits += found.visits
        total.people_served += found.people_served
        total.institutions_served += found.institutions_served
        total.items += found.items
        total.km += found.km
        total.kg_co2e += found.kg_co2e
        rows.append(
            {
                "library": slugs[service.library_id],  # type: ignore[attr-defined]
                "slug": service.slug,
                "kind": service.kind.value,
                "name": service.name,
                "demo": service.source is not None and service.source.get("kind") == "demo",
                **found.as_dict(),
            }
        )
    return {"available": bool(rows), **total.as_dict(), "services": rows}
