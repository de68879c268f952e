"""How a branch and a room can be reached and used (issue 13, item 3): ``accessibility``
on ``branch`` and ``room``, in several languages (``{"sl": "...", "en": "..."}``), NULL
where nothing is recorded. Event pages show it beside the place.

Only columns are added; their way back drops just those (Tortoise's own way back rebuilds
the table on SQLite, which would cascade into every room's events).
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_TABLES = {"Branch": "branch", "Room": "room"}


class AddColumn(ops.AddField):
    """AddField whose way back drops only its column (see the module's note)."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            table = _TABLES[self.model_name]
            await state_editor.client.execute_script(
                f'ALTER TABLE "{table}" DROP COLUMN "{self.name}"'
            )


def _json(**options: Any) -> fields.JSONField[Any]:
    return fields.JSONField(
        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads, **options
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0014_room_requests")]

    initial = False

    operations = [
        AddColumn(model_name="Branch", name="accessibility", field=_json(null=True)),
        AddColumn(model_name="Room", name="accessibility", field=_json(null=True)),
    ]
