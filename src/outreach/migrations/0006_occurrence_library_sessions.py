"""The occurrences' library-and-start index also holds the original start.

The coverage report reads the first and last original start of a period's sessions to
bound the attendance it reads (a library's attendance of earlier years stays unread);
with ``original_start`` in the index that read never touches the table. The new index
replaces the old one, whose columns it begins with, so every query that used it still can.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_event_profile")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Occurrence",
            index=Index(
                fields=["library_id", "starts_at", "original_start"],
                name="occurrence_library_sessions",
            ),
        ),
        ops.RemoveIndex(
            model_name="Occurrence",
            name="occurrence_library_start",
            fields=None,
        ),
    ]
