"""What an emission factor is, in the interface's languages: ``description`` on
``emission_factor`` (``{"sl": "...", "mk": "...", "fi": "...", "en": "..."}``), the source's
fuel, vehicle class and unit translated for the staff who choose a factor; NULL for a factor
recorded without one. ``vehicle_class`` and ``source`` keep the source's own English words.

Only a column is added; its way back drops just that (Tortoise's own way back rebuilds the
table on SQLite).
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class AddColumn(ops.AddField):
    """AddField whose way back drops only its column (see the module's note)."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await state_editor.client.execute_script(
                f'ALTER TABLE "emission_factor" DROP COLUMN "{self.name}"'
            )


def _json(**options: Any) -> fields.JSONField[Any]:
    return fields.JSONField(
        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads, **options
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0017_held_changes")]

    initial = False

    operations = [
        AddColumn(model_name="EmissionFactor", name="description", field=_json(null=True)),
    ]
