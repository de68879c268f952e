"""Bookmobile vehicles, routes, their ordered stops, and emission factors."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Branch, Library, Translated
from outreach.models.programme import Event, Visibility


class Fuel(StrEnum):
    DIESEL = "diesel"
    PETROL = "petrol"
    HVO = "hvo"
    HYBRID = "hybrid"
    ELECTRIC = "electric"


class EmissionFactor(Model):
    """A published conversion factor (kg CO2e per km) and where it comes from."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    fuel = fields.CharEnumField(Fuel, max_length=16)
    # The source's own words (English), cited as they stand.
    vehicle_class = fields.CharField(max_length=200)
    kg_co2e_per_km = fields.FloatField()
    source = fields.CharField(max_length=500)
    year = fields.SmallIntField()
    # What the factor is (fuel, vehicle class, unit) in each interface language, for the
    # staff who choose it; None where none was recorded (then ``vehicle_class`` is shown).
    description: Translated | None = fields.JSONField(null=True)

    class Meta:
        table = "emission_factor"
        constraints = (
            CheckConstraint(check="kg_co2e_per_km >= 0", name="emission_factor_not_negative"),
        )


class Vehicle(Model):
    """A bookmobile with its own emission factor."""

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="vehicles", on_delete=fields.RESTRICT
    )
    slug = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    registration = fields.CharField(max_length=32, default="")
    fuel = fields.CharEnumField(Fuel, max_length=16)
    kg_co2e_per_km = fields.FloatField()
    emission_factor_source = fields.CharField(max_length=500)
    average_speed_kmh = fields.FloatField(default=40.0)

    class Meta:
        table = "vehicle"
        unique_together = (("library", "slug"),)
        constraints = (
            CheckConstraint(check="kg_co2e_per_km >= 0", name="vehicle_factor_not_negative"),
            CheckConstraint(check="average_speed_kmh > 0", name="vehicle_speed_positive"),
        )


class Route(Model):
    """A bookmobile route, scheduled by the rule of the event it owns."""

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="routes", on_delete=fields.RESTRICT
    )
    vehicle: fields.ForeignKeyRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="routes", on_delete=fields.RESTRICT
    )
    depot: fields.ForeignKeyRelation[Branch] = fields.ForeignKeyField(
        "models.Branch", related_name="depot_routes", on_delete=fields.RESTRICT
    )
    event: fields.OneToOneRelation[Event] = fields.OneToOneField(
        "models.Event", related_name="route", on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    valid_from: dt.date = fields.DateField()
    valid_until: dt.date | None = fields.DateField(null=True)
    detour_factor = fields.FloatField(default=1.3)

    stops: fields.ReverseRelation[Stop]

    class Meta:
        table = "route"
        unique_together = (("library", "code"),)
        constraints = (
            CheckConstraint(check="detour_factor >= 1", name="route_detour_at_least_one"),
        )


class Stop(Model):
    """A place the bookmobile parks on a route, in order, at a local arrival time."""

    id = fields.IntField(primary_key=True)
    route: fields.ForeignKeyRelation[Route] = fields.ForeignKeyField(
        "models.Route", related_name="stops", on_delete=fields.CASCADE
    )
    position = fields.SmallIntField()
    name = fields.CharField(max_length=200)
    community = fields.CharField(max_length=200, default="")
    address = fields.CharField(max_length=300, default="")
    postcode = fields.CharField(max_length=16, default="")
    lat = fields.FloatField()
    lon = fields.FloatField()
    arrival: dt.time = fields.TimeField()
    minutes_parked = fields.SmallIntField()
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)

    class Meta:
        table = "stop"
        unique_together = (("route", "position"),)
        constraints = (
            CheckConstraint(check="minutes_parked > 0", name="stop_parked_positive"),
            CheckConstraint(check="lat BETWEEN -90 AND 90", name="stop_lat_range"),
            CheckConstraint(check="lon BETWEEN -180 AND 180", name="stop_lon_range"),
        )
