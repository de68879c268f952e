"""A requester's own link to a room request: ``secret`` (random, signed into the link;
NULL once the personal data is erased, so the link opens nothing) and ``withdrawn_at``
(the requester withdrew it: a withdrawn booking no longer holds the room).

Only columns are added; their way back drops just those (Tortoise's own way back rebuilds
the table on SQLite).
"""

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
                f'ALTER TABLE "room_request" DROP COLUMN "{self.name}"'
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0015_accessibility")]

    initial = False

    operations = [
        AddColumn(
            model_name="RoomRequest",
            name="secret",
            field=fields.CharField(max_length=32, null=True),
        ),
        AddColumn(
            model_name="RoomRequest",
            name="withdrawn_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
