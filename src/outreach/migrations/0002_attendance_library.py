"""Attendance carries its event's library, so that reports read one library's attendance
through an index (``attendance_library_start``) instead of the whole table.

The column is added nullable, filled from the events, then made required. Making it
required rebuilds the table on SQLite, and Tortoise's rebuild leaves out the table's
unique constraint, so the migration puts it back as a unique index of the same name (on
PostgreSQL the constraint's index already exists and nothing changes).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


def _library(*, null: bool) -> fields.ForeignKeyField:
    return fields.ForeignKeyField(
        "models.Library",
        source_field="library_id",
        db_constraint=True,
        to_field="id",
        related_name="attendance",
        on_delete=OnDelete.CASCADE,
        null=null,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Attendance",
            name="library",
            field=_library(null=True),
        ),
        ops.RunSQL(
            "UPDATE attendance SET library_id ="
            " (SELECT event.library_id FROM event WHERE event.id = attendance.event_id)",
            reverse_sql=ops.RunSQL.noop,
        ),
        ops.AlterField(
            model_name="Attendance",
            name="library",
            field=_library(null=False),
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX IF NOT EXISTS "uid_attendance_event_i_a02eef" ON attendance'
            " (event_id, original_start, stop_id, age_band, mode)",
            reverse_sql=ops.RunSQL.noop,
        ),
        ops.AddIndex(
            model_name="Attendance",
            index=Index(fields=["library_id", "original_start"], name="attendance_library_start"),
        ),
    ]
