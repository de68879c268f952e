"""One count per session, age band and mode, also for sessions without a bookmobile stop.

The unique constraint on (event, original_start, stop, age_band, mode) never held for
ordinary sessions: their ``stop_id`` is NULL, and SQL counts NULLs as distinct, so two
concurrent recordings could store the same count twice and a report would add both. This
unique index reads a missing stop as 0 (same SQL on SQLite and PostgreSQL).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0002_attendance_library")]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE UNIQUE INDEX attendance_one_count ON attendance"
            " (event_id, original_start, COALESCE(stop_id, 0), age_band, mode)",
            reverse_sql="DROP INDEX attendance_one_count",
        ),
    ]
