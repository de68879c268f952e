"""Vehicles of a library: the checks and writes the API and the staff forms share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from outreach.bookmobile.schemas import VehicleFields
from outreach.errors import Invalid
from outreach.i18n import N_
from outreach.i18n import gettext as _
from outreach.models import AuditEntry, EmissionFactor, Fuel, Library, StaffUser, Vehicle
from outreach.schemas import validate
from outreach.versions import bump_data_version

SLUG_TAKEN = N_("a vehicle of this library already has this slug")


async def vehicle_values(body: Mapping[str, Any] | VehicleFields) -> dict[str, Any]:
    """The vehicle's fields to store (``body`` is validated as :class:`VehicleFields`
    first); its factor is one on file (by slug) or a figure with its source."""
    fields = body if isinstance(body, VehicleFields) else validate(VehicleFields, dict(body))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "slug": fields.slug,
        "name": fields.name,
        "registration": fields.registration,
        "average_speed_kmh": fields.average_speed_kmh,
    }
    if fields.emission_factor is not None:
        factor = await EmissionFactor.get_or_none(slug=fields.emission_factor)
        if factor is None:
            errors["emission_factor"] = _("no emission factor with this slug")
        else:
            values["fuel"] = factor.fuel
            values["kg_co2e_per_km"] = factor.kg_co2e_per_km
            values["emission_factor_source"] = factor.source
            if fields.fuel is not None and fields.fuel != factor.fuel.value:
                errors["fuel"] = _("the emission factor is for %(fuel)s", fuel=factor.fuel.value)
    else:
        # VehicleFields requires the three when no factor on file is named.
        assert fields.fuel is not None
        values.update(
            fuel=Fuel(fields.fuel),
            kg_co2e_per_km=fields.kg_co2e_per_km,
            emission_factor_source=fields.emission_factor_source,
        )
    if errors:
        raise Invalid(errors)
    return values


async def save_vehicle(
    library: Library,
    user: StaffUser,
    body: Mapping[str, Any] | VehicleFields,
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
            raise Invalid({"slug": _(SLUG_TAKEN)})
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
