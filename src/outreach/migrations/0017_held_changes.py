"""Held changes that grow (issue 15): an editor's change to a published event, where every
change waits for a director, is one request per event that later changes amend.

- ``occurrences``: the held changes of single occurrences, by original start in UTC
  (``{"2027-01-27T16:00:00Z": {"start": …, "end": …, "room": 3}}``), NULL for none.
- ``base``: what the held change replaces as it was when it was first held (the event's
  fields and each occurrence's own values), to refuse approving it over a later change.
- ``editors``: the ids of the staff who submitted or amended it, in order.
- ``amended_at``: when it was last amended.

Only columns are added; their way back drops just those (Tortoise's own way back rebuilds
the table on SQLite).
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
                f'ALTER TABLE "approval_request" DROP COLUMN "{self.name}"'
            )


def _json(**options: Any) -> fields.JSONField[Any]:
    return fields.JSONField(
        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads, **options
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0016_room_request_link")]

    initial = False

    operations = [
        AddColumn(model_name="ApprovalRequest", name="occurrences", field=_json(null=True)),
        AddColumn(model_name="ApprovalRequest", name="base", field=_json(null=True)),
        AddColumn(model_name="ApprovalRequest", name="editors", field=_json(null=True)),
        AddColumn(
            model_name="ApprovalRequest",
            name="amended_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
