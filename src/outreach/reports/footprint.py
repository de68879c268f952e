"""The sustainability footprint section of the coverage report (outreach kilometres, CO2e).

Filled by the bookmobile engineer from ``outreach.bookmobile.emissions``: for the
libraries of the report and the period as UTC instants ``[start, end)``, the kilometres
and kg CO2e of bookmobile runs by vehicle and by route, per occurrence (stop visit) and
per recorded visitor, as a JSON-ready dict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from outreach import settings as settings_module
from outreach.bookmobile.distance import RoutingClient
from outreach.bookmobile.emissions import Figures, footprint
from outreach.models import Library


def _figures(figures: Figures) -> dict[str, Any]:
    data = figures.as_dict()
    return {
        "runs": data["runs"],
        "occurrences": data["visits"],
        "visitors": data["visitors"],
        "distance_km": data["km"],
        "kg_co2e": data["kg_co2e"],
        "km_per_run": data["km_per_run"],
        "kg_co2e_per_occurrence": data["kg_co2e_per_visit"],
        "kg_co2e_per_visitor": data["kg_co2e_per_visitor"],
    }


async def footprint_section(
    libraries: Sequence[Library],
    start: dt.datetime,
    end: dt.datetime,
    *,
    client: RoutingClient | None = None,
) -> dict[str, Any]:
    """Distance driven and CO2e of the libraries' outreach in ``[start, end)``.

    Distances come from the routing service when ``OUTREACH_ROUTING_URL`` is set (or
    ``client`` is given), with a note when it fails and great-circle distances are used.
    """
    if client is None:
        url = settings_module.load().routing_url
        client = RoutingClient(url) if url else None
    total = Figures()
    routes: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    notes: set[str] = set()
    sources: set[str] = set()
    for library in libraries:
        found = await footprint(library.id, start, end, client=client)
        total.add(found.total())
        notes.update(found.notes())
        for item in found.routes:
            sources.add(item.distance_source)
            electric_kg = item.electric_kg
            routes.append(
                {
                    "library": library.slug,
                    "route": {
                        "id": item.route.id,
                        "code": item.route.code,
                        "name": item.route.name,
                    },
                    "vehicle": item.vehicle.slug,
                    **_figures(item.figures),
                    "kg_co2e_if_electric": None if electric_kg is None else round(electric_kg, 1),
                }
            )
        for vehicle, figures in found.by_vehicle():
            vehicles.append(
                {
                    "library": library.slug,
                    "vehicle": {"id": vehicle.id, "slug": vehicle.slug, "name": vehicle.name},
                    "fuel": vehicle.fuel.value,
                    "kg_co2e_per_km": vehicle.kg_co2e_per_km,
                    "emission_factor_source": vehicle.emission_factor_source,
                    **_figures(figures),
                }
            )
    return {
        "available": bool(routes),
        **_figures(total),
        "by_vehicle": vehicles,
        "routes": routes,
        "distance_sources": sorted(sources),
        "notes": sorted(notes),
    }
