"""The staff workspace: approvals, private staff feeds, a staff member's language.

- ``library.approval``: what its directors approve (``none``, ``new_events``,
  ``all_changes``); every library stored before keeps ``none``, i.e. works as before.
- ``event.approval``: where an event stands (``not_needed``, ``submitted``, ``returned``,
  ``approved``); every stored event gets ``not_needed`` and so stays as public as it was.
- ``approval_request``: each submission and its decision (who, when, what, comment).
- ``staff_feed``: the SHA-256 of a staff member's private feed secret, one per user.
- ``staff_user.language``: the interface language the user chose, NULL for none.

Only columns and tables are added. The columns' way back drops just those columns:
Tortoise's own way back rebuilds the table on SQLite, which would lose the columns
migration 0005 keeps beside ``event``'s fields.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_TABLES = {"Event": "event", "Library": "library", "StaffUser": "staff_user"}


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


def _key(name: str, model: str, related_name: str, on_delete: OnDelete, **options: Any) -> Any:
    return fields.ForeignKeyField(
        f"models.{model}",
        source_field=f"{name}_id",
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=on_delete,
        **options,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0009_strategy_provenance")]

    initial = False

    operations = [
        AddColumn(
            model_name="Library",
            name="approval",
            field=fields.CharField(default="none", db_default="none", max_length=16),
        ),
        AddColumn(
            model_name="Event",
            name="approval",
            field=fields.CharField(default="not_needed", db_default="not_needed", max_length=16),
        ),
        AddColumn(
            model_name="StaffUser",
            name="language",
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.CreateModel(
            name="ApprovalRequest",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("event", _key("event", "Event", "approval_requests", OnDelete.CASCADE)),
                ("library", _key("library", "Library", "approval_requests", OnDelete.CASCADE)),
                ("kind", fields.CharField(max_length=16)),
                ("changes", fields.JSONField(default=dict)),
                ("revision", fields.IntField()),
                ("note", fields.CharField(default="", max_length=2000)),
                (
                    "submitted_by",
                    _key("submitted_by", "StaffUser", "submissions", OnDelete.SET_NULL, null=True),
                ),
                ("submitted_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("decision", fields.CharField(default="pending", max_length=16)),
                (
                    "decided_by",
                    _key("decided_by", "StaffUser", "decisions", OnDelete.SET_NULL, null=True),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("comment", fields.CharField(default="", max_length=2000)),
            ],
            options={
                "table": "approval_request",
                "app": "models",
                "indexes": [
                    Index(fields=["library_id", "decision"]),
                    Index(fields=["event_id", "decision"]),
                ],
                "pk_attr": "id",
                "table_description": None,
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StaffFeed",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.OneToOneField(
                        "models.StaffUser",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="feed",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("prefix", fields.CharField(max_length=16)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "staff_feed",
                "app": "models",
                "pk_attr": "id",
                "table_description": None,
            },
            bases=["Model"],
        ),
    ]
