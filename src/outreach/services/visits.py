"""Recording a visit of an outreach service: a delivery round or a deposit change.

Counts only: how many people and institutions a round served and how many items it
brought; never who. The kilometres are what the round drove (a planned round's length,
:mod:`outreach.services.rounds`, or the odometer's), and the CO2e is computed at the
emission factor of the vehicle that drove it, kept with the visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from outreach.errors import Invalid, NotFound
from outreach.i18n import gettext as _
from outreach.models import AuditEntry, Library, OutreachService, ServiceVisit, StaffUser, Vehicle
from outreach.scheduling.recurrence import zone

# A round of one day: more than this is a typing error, not a round.
MAX_KM = 1500.0
MAX_COUNT = 100_000


@dataclass(frozen=True)
class VisitInput:
    """What staff record of one round (checked by :func:`record_visit`)."""

    day: dt.date
    people_served: int = 0
    institutions_served: int = 0
    items: int = 0
    km: float = 0.0
    vehicle: str | None = None  # a vehicle slug of the library; default: the service's


async def services_of(library: Library) -> list[OutreachService]:
    """The library's outreach services, in a stable order."""
    return await OutreachService.filter(library_id=library.id).order_by("kind", "slug")


async def service_by_id(service_id: int) -> OutreachService:
    service = await OutreachService.get_or_none(id=service_id)
    if service is None:
        raise NotFound("outreach service")
    return service


def _checked(new: VisitInput, today: dt.date) -> dict[str, str]:
    problems: dict[str, str] = {}
    if new.day > today:
        problems["day"] = _("must not be after today: record a round once it has been driven")
    for name in ("people_served", "institutions_served", "items"):
        value = getattr(new, name)
        if not 0 <= value <= MAX_COUNT:
            problems[name] = _("must be between %(low)s and %(high)s", low=0, high=MAX_COUNT)
    if not 0 <= new.km <= MAX_KM:
        problems["km"] = _("must be between %(low)s and %(high)s", low=0, high=format(MAX_KM, "g"))
    if new.people_served == new.institutions_served == new.items == 0:
        problems["people_served"] = "a round serves someone: give people, institutions or items"
    return problems


async def record_visit(
    service: OutreachService,
    new: VisitInput,
    *,
    user: StaffUser | None,
    now: dt.datetime | None = None,
) -> ServiceVisit:
    """Store one visit of ``service``; :class:`Invalid` names every field at fault and
    nothing is written then. Audited."""
    library = await Library.get(id=service.library_id)  # type: ignore[attr-defined]
    today = (now or dt.datetime.now(dt.UTC)).astimezone(zone(library.timezone)).date()
    problems = _checked(new, today)
    vehicle: Vehicle | None = None
    if new.vehicle is not None:
        vehicle = await Vehicle.get_or_none(library_id=library.id, slug=new.vehicle)
        if vehicle is None:
            problems["vehicle"] = _("is not a vehicle of this library")
    elif service.vehicle_id is not None:  # type: ignore[attr-defined]
        vehicle = await Vehicle.get(id=service.vehicle_id)  # type: ignore[attr-defined]
    if problems:
        raise Invalid(problems)
    async with in_transaction("default") as conn:
        visit = await ServiceVisit.create(
            service=service,
            day=new.day,
            people_served=new.people_served,
            institutions_served=new.institutions_served,
            items=new.items,
            km=new.km,
            vehicle=vehicle,
            kg_co2e_per_km=vehicle.kg_co2e_per_km if vehicle is not None else 0.0,
            recorded_by=user,
            using_db=conn,
        )
        await AuditEntry.record(
            conn,
            user=user,
            library_id=library.id,
            action="create",
            entity="service_visit",
            entity_id=visit.id,
            changes={
                "service": service.slug,
                "day": new.day.isoformat(),
                "people_served": new.people_served,
                "institutions_served": new.institutions_served,
                "items": new.items,
                "km": new.km,
                "vehicle": vehicle.slug if vehicle is not None else None,
            },
        )
    return visit


async def visits_of(
    service: OutreachService, first: dt.date | None = None, last: dt.date | None = None
) -> list[ServiceVisit]:
    """The service's visits on the days ``first``…``last`` (both included), newest first."""
    query = ServiceVisit.filter(service_id=service.id)
    if first is not None:
        query = query.filter(day__gte=first)
    if last is not None:
        query = query.filter(day__lte=last)
    return await query.order_by("-day", "-id")


def visit_json(visit: ServiceVisit, vehicle_slug: str | None) -> dict[str, Any]:
    return {
        "id": visit.id,
        "day": visit.day.isoformat(),
        "people_served": visit.people_served,
        "institutions_served": visit.institutions_served,
        "items": visit.items,
        "km": round(visit.km, 1),
        "vehicle": vehicle_slug,
        "kg_co2e": round(visit.km * visit.kg_co2e_per_km, 1),
    }


def service_json(service: OutreachService) -> dict[str, Any]:
    return {
        "id": service.id,
        "slug": service.slug,
        "kind": service.kind.value,
        "name": service.name,
        "description": service.description,
        "source": service.source,
        "demo": service.source is not None and service.source.get("kind") == "demo",
    }
