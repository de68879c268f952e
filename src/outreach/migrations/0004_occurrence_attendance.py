"""Each occurrence carries its session's attendance by age band (all modes), copied from
``attendance`` (which stays the record), so that a report reads one table instead of
joining every session to its counts. Existing counts are copied in.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

BANDS = {
    "att_0_5": "0-5",
    "att_6_11": "6-11",
    "att_12_18": "12-18",
    "att_19": "19+",
    "att_unknown": "unknown",
}


def _count(band: str) -> str:
    return (
        "COALESCE((SELECT SUM(a.count) FROM attendance a"
        " WHERE a.event_id = occurrence.event_id"
        " AND a.original_start = occurrence.original_start"
        " AND COALESCE(a.stop_id, 0) = COALESCE(occurrence.stop_id, 0)"
        f" AND a.age_band = '{band}'), 0)"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0003_attendance_unique_session")]

    initial = False

    operations = [
        *(
            ops.AddField(model_name="Occurrence", name=name, field=fields.IntField(default=0, db_default=0))
            for name in BANDS
        ),
        ops.RunSQL(
            "UPDATE occurrence SET "
            + ", ".join(f"{name} = {_count(band)}" for name, band in BANDS.items())
            + " WHERE EXISTS (SELECT 1 FROM attendance a WHERE a.event_id = occurrence.event_id)",
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
