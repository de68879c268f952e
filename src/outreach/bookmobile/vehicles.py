"""Vehicles of a library: the checks and writes the API and the staff forms share."""

from __future__ import annotations

import math
import re
from typing import Any

from tortoise.transactions import in_transaction

from outreach.errors import Invalid
from outreach.models import AuditEntry, EmissionFactor, Fuel, Library, StaffUser, Vehicle
from outreach.schemas import text_problem
from outreach.versions import bump_data_version

SLUG_TAKEN = "a vehicle of this library already has this slug"


VEHICLE_FIELDS = (
    "slug",
    "name",
    "registration",
    "fuel",
    "kg_co2e_per_km",
    "emission_factor_source",
    "emission_factor",
    "average_speed_kmh",
)


async def vehicle_values(body: dict[str, Any]) -> dict[str, Any]:
    """Checked vehicle fields; the factor is one on file (by slug) or a figure and source."""
    errors: dict[str, str] = {}
    for field in body:
        if field not in (*VEHICLE_FIELDS, "library"):
            errors[field] = "is not a vehicle field"
    slug = body.get("slug")
    if not isinstance(slug, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", slug):
        errors["slug"] = "must be 1 to 64 lower-case letters, digits and '-'"
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "is required (at most 200 characters)"
    elif (problem := text_problem(name)) is not None:
        errors["name"] = problem
    registration: Any = body.get("registration", "")
    if not isinstance(registration, str) or len(registration) > 32:
        errors["registration"] = "must be text of at most 32 characters"
    elif (problem := text_problem(registration)) is not None:
        errors["registration"] = problem
    speed = body.get("average_speed_kmh", 40.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 5 <= speed <= 130:
        errors["average_speed_kmh"] = "must be a number between 5 and 130"
    values: dict[str, Any] = {}
    if body.get("emission_factor") is not None:
        wanted = body["emission_factor"]
        factor = (
            await EmissionFactor.get_or_none(slug=wanted)
            if isinstance(wanted, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", wanted)
            else None
        )
        if factor is None:
            errors["emission_factor"] = "no emission factor with this slug"
        else:
            values["fuel"] = factor.fuel
            values["kg_co2e_per_km"] = factor.kg_co2e_per_km
            values["emission_factor_source"] = factor.source
            if "fuel" in body and body["fuel"] != factor.fuel.value:
                errors["fuel"] = f"the emission factor is for {factor.fuel.value}"
    else:
        raw_factor, raw_source = body.get("kg_co2e_per_km"), body.get("emission_factor_source")
        try:
            values["fuel"] = Fuel(str(body.get("fuel")))
        except ValueError:
            errors["fuel"] = "must be one of " + ", ".join(f.value for f in Fuel)
        if (
            isinstance(raw_factor, bool)
            or not isinstance(raw_factor, int | float)
            or not math.isfinite(raw_factor)
            or not 0 <= raw_factor <= 10
        ):
            errors["kg_co2e_per_km"] = "must be a number of kg CO2e per km between 0 and 10"
        else:
            values["kg_co2e_per_km"] = float(raw_factor)
        if not isinstance(raw_source, str) or not raw_source.strip() or len(raw_source) > 500:
            errors["emission_factor_source"] = "must name where the figure comes from"
        elif (problem := text_problem(raw_source)) is not None:
            errors["emission_factor_source"] = problem
        else:
            values["emission_factor_source"] = raw_source.strip()
    if errors:
        raise Invalid(errors)
    assert isinstance(name, str)
    assert isinstance(registration, str)
    return {
        **values,
        "slug": slug,
        "name": name.strip(),
        "registration": registration.strip(),
        "average_speed_kmh": float(speed),
    }


async def save_vehicle(
    library: Library,
    user: StaffUser,
    body: dict[str, Any],
    *,
    vehicle: Vehicle | None = None,
    changes: dict[str, Any] | None = None,
) -> Vehicle:
    """Create a vehicle of ``library`` from ``body`` (every field), or change ``vehicle`` to
    it; :class:`Invalid` names each field that is wrong, and nothing is written then.
    ``changes`` is what the audit log records (default: the checked values)."""
    values = await vehicle_values(body)
    async with in_transaction("default") as conn:
        taken = Vehicle.filter(library_id=library.id, slug=values["slug"])
        if vehicle is not None:
            taken = taken.exclude(id=vehicle.id)
        if await taken.using_db(conn).exists():
            raise Invalid({"slug": SLUG_TAKEN})
        if vehicle is None:
            vehicle = await Vehicle.create(library=library, using_db=conn, **values)
            action = "create"
        else:
            vehicle.update_from_dict(values)
            await vehicle.save(using_db=conn)
            action = "update"
        # Feeds show no vehicle data, but the public bookmobile page names the vehicle and
        # is kept until the data version changes.
        await bump_data_version(using_db=conn)
        logged = values if changes is None else changes
        await AuditEntry.record(
            conn,
            user=user,
            library_id=library.id,
            action=action,
            entity="vehicle",
            entity_id=vehicle.id,
            changes={k: v.value if isinstance(v, Fuel) else v for k, v in logged.items()},
        )
    return vehicle
