"""Outreach services besides the bookmobile (Maribor's mobile collections, home and hospital
delivery) with their visits, and where a partner organisation is known from.

- ``outreach_service``: a library's service, its kind, names, provenance and usual vehicle.
- ``service_visit``: one round or deposit change, its local day, counts (people and
  institutions served, items), kilometres and the emission factor it was driven at.
- ``partner.source`` (JSON, NULL until known): the document that names the partner, or
  ``demo``.

The way back drops the two tables and the one column, nothing else (see 0009 on why a
column is dropped by itself on SQLite).
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from outreach.models.outreach import ServiceKind


class AddColumn(ops.AddField):
    """AddField whose way back drops only its column."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await state_editor.client.execute_script(
                f'ALTER TABLE "partner" DROP COLUMN "{self.name}"'
            )


def _json(**options: Any) -> fields.JSONField[Any]:
    return fields.JSONField(
        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads, **options
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0010_staff_workspace")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OutreachService",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("library", fields.ForeignKeyField("models.Library", source_field="library_id", db_constraint=True, to_field="id", related_name="outreach_services", on_delete=OnDelete.RESTRICT)),
                ("slug", fields.CharField(max_length=64)),
                ("kind", fields.CharEnumField(description="MOBILE_COLLECTION: mobile_collection\nHOME_DELIVERY: home_delivery\nHOSPITAL_DELIVERY: hospital_delivery", enum_type=ServiceKind, max_length=24)),
                ("name", _json()),
                ("description", _json(default=dict)),
                ("source", _json(null=True)),
                ("vehicle", fields.ForeignKeyField("models.Vehicle", source_field="vehicle_id", null=True, db_constraint=True, to_field="id", related_name="outreach_services", on_delete=OnDelete.RESTRICT)),
            ],
            options={"table": "outreach_service", "app": "models", "unique_together": (("library", "slug"),), "pk_attr": "id", "table_description": "A way a library reaches people outside its buildings other than a bookmobile route."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ServiceVisit",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("service", fields.ForeignKeyField("models.OutreachService", source_field="service_id", db_constraint=True, to_field="id", related_name="visits", on_delete=OnDelete.RESTRICT)),
                ("day", fields.DateField()),
                ("people_served", fields.IntField(default=0)),
                ("institutions_served", fields.IntField(default=0)),
                ("items", fields.IntField(default=0)),
                ("km", fields.FloatField(default=0.0)),
                ("vehicle", fields.ForeignKeyField("models.Vehicle", source_field="vehicle_id", null=True, db_constraint=True, to_field="id", related_name="service_visits", on_delete=OnDelete.RESTRICT)),
                ("kg_co2e_per_km", fields.FloatField(default=0.0)),
                ("recorded_by", fields.ForeignKeyField("models.StaffUser", source_field="recorded_by_id", null=True, db_constraint=True, to_field="id", related_name="service_visits", on_delete=OnDelete.SET_NULL)),
                ("recorded_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "service_visit", "app": "models", "constraints": [CheckConstraint(check="people_served >= 0 AND institutions_served >= 0 AND items >= 0", name="service_visit_counts_not_negative"), CheckConstraint(check="km >= 0", name="service_visit_km_not_negative"), CheckConstraint(check="kg_co2e_per_km >= 0", name="service_visit_factor_not_negative")], "pk_attr": "id", "table_description": "One delivery round or deposit change of an outreach service: counts and distance."},
            bases=["Model"],
        ),
        AddColumn(
            model_name="Partner",
            name="source",
            field=_json(null=True),
        ),
    ]
