"""Room requests (issue 15, item 3): ``room.requestable`` says which rooms patrons and
partner organisations may ask for; ``room_request`` holds each request, its decision, and
its requester's personal data until it is erased.

Only a column and a table are added; their way back drops just those (Tortoise's own way
back rebuilds ``room`` on SQLite, which would cascade into every room's events).
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from outreach.models.programme import Visibility
from outreach.models.rooms import RoomRequestStatus


class AddColumn(ops.AddField):
    """AddField whose way back drops only its column (see the module's note)."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await state_editor.client.execute_script(
                f'ALTER TABLE "room" DROP COLUMN "{self.name}"'
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0013_event_search")]

    initial = False

    operations = [
        AddColumn(
            model_name="Room",
            name="requestable",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.CreateModel(
            name="RoomRequest",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "library",
                    fields.ForeignKeyField(
                        "models.Library",
                        source_field="library_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="room_requests",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "room",
                    fields.ForeignKeyField(
                        "models.Room",
                        source_field="room_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="requests",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("attendees", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=RoomRequestStatus.PENDING,
                        description="PENDING: pending\nAPPROVED: approved\nDECLINED: declined",
                        enum_type=RoomRequestStatus,
                        max_length=16,
                    ),
                ),
                (
                    "visibility",
                    fields.CharEnumField(
                        default=Visibility.INTERNAL,
                        description="PUBLIC: public\nINTERNAL: internal",
                        enum_type=Visibility,
                        max_length=16,
                    ),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.Event",
                        source_field="event_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="room_requests",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("language", fields.CharField(max_length=8)),
                ("purpose", fields.CharField(null=True, max_length=500)),
                ("name", fields.CharField(null=True, max_length=200)),
                ("organisation", fields.CharField(null=True, max_length=200)),
                ("email", fields.CharField(null=True, max_length=254)),
                ("phone", fields.CharField(null=True, max_length=32)),
                ("consented_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("message", fields.TextField(default="")),
                (
                    "decided_by",
                    fields.ForeignKeyField(
                        "models.StaffUser",
                        source_field="decided_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="room_decisions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("erased_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "room_request",
                "app": "models",
                "indexes": [Index(fields=["room_id", "starts_at"], name="room_request_room_start")],
                "constraints": [
                    CheckConstraint(
                        check="ends_at > starts_at", name="room_request_ends_after_start"
                    )
                ],
                "pk_attr": "id",
                "table_description": "One request for a room at one time: approved, it is a booking of the room.",
            },
            bases=["Model"],
        ),
    ]
