"""Outreach services besides bookmobile routes, and their recorded visits.

Maribor's strategy names them: "Z bibliobusom, premičnimi zbirkami gradiva, izposojo na
domu in v bolnišnico pridemo tudi tja, kjer ni krajevne knjižnice." Besides the bookmobile
(``outreach.models.bookmobile``) a library runs mobile collections (deposits of books
placed in institutions and changed periodically), home delivery and hospital delivery.

A visit is one delivery round or one change of a deposit: its local day, how many people
and institutions it served and how many items it brought, as counts only (no patron's
name or address is stored: the round's stops are used to optimise it and then dropped),
the kilometres driven and their CO2e at the emission factor of that day.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Library, Translated

if TYPE_CHECKING:
    from outreach.models.bookmobile import Vehicle
    from outreach.models.people import StaffUser


class ServiceKind(StrEnum):
    MOBILE_COLLECTION = "mobile_collection"
    HOME_DELIVERY = "home_delivery"
    HOSPITAL_DELIVERY = "hospital_delivery"


class OutreachService(Model):
    """A way a library reaches people outside its buildings other than a bookmobile route."""

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="outreach_services", on_delete=fields.RESTRICT
    )
    slug = fields.CharField(max_length=64)
    kind = fields.CharEnumField(ServiceKind, max_length=24)
    name: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    # Provenance as for strategies (``outreach.models.strategy``): the document, section
    # and words the service is modelled on, or ``{"kind": "demo", ...}``.
    source: dict[str, Any] | None = fields.JSONField(null=True)
    # The car or van that usually drives its rounds (a visit may name another).
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="outreach_services", null=True, on_delete=fields.RESTRICT
    )

    visits: fields.ReverseRelation[ServiceVisit]

    class Meta:
        table = "outreach_service"
        unique_together = (("library", "slug"),)


class ServiceVisit(Model):
    """One delivery round or deposit change of an outreach service: counts and distance."""

    id = fields.IntField(primary_key=True)
    service: fields.ForeignKeyRelation[OutreachService] = fields.ForeignKeyField(
        "models.OutreachService", related_name="visits", on_delete=fields.RESTRICT
    )
    # The library's local day of the round.
    day: dt.date = fields.DateField()
    people_served = fields.IntField(default=0)
    institutions_served = fields.IntField(default=0)
    items = fields.IntField(default=0)
    km = fields.FloatField(default=0.0)
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="service_visits", null=True, on_delete=fields.RESTRICT
    )
    # The factor the round was driven at, kept so that a later change of the vehicle's
    # factor does not rewrite what was reported.
    kg_co2e_per_km = fields.FloatField(default=0.0)
    recorded_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="service_visits", null=True, on_delete=fields.SET_NULL
    )
    recorded_at: dt.datetime = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_visit"
        constraints = (
            CheckConstraint(
                check="people_served >= 0 AND institutions_served >= 0 AND items >= 0",
                name="service_visit_counts_not_negative",
            ),
            CheckConstraint(check="km >= 0", name="service_visit_km_not_negative"),
            CheckConstraint(check="kg_co2e_per_km >= 0", name="service_visit_factor_not_negative"),
        )
