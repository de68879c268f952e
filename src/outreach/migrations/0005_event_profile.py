"""Each event carries a copy of its tags and audiences, kept by the database.

The coverage report groups a period's events by the values and goals they serve and
counts their sessions per audience. Looking both up per event (``event_tag``,
``event_audience``) was the largest part of a library's report on PostgreSQL (9 of 23 ms
on the benchmark). Two columns on ``event`` now hold them:

- ``tag_keys``: the event's tags as sorted text, one token per value or goal with its
  strategy, between commas: ``,s1:g3,s1:v1,`` (empty: tagged to nothing). A report groups
  events by it, and ``tag_keys LIKE '%,s1:%'`` tells whether an event serves strategy 1.
- ``audience_mask``: the event's audiences as bits, in the order of
  :class:`outreach.models.Audience` (bit 0: ``0-5`` … bit 7: ``staff``).

Triggers on ``event_tag`` and ``event_audience`` recompute them whenever a row is added,
changed or removed, whoever writes (the scheduling service, the fixtures loader, bulk
loads, cascades), so the copy cannot drift from the rows. (The scheduling service takes
the event's row lock before it rewrites tags and audiences, so two writers of one event
are serialised and each recomputation sees the rows its transaction wrote.)

They are deliberately not model fields: ``Event.save()`` would write back a copy read
before the tags changed. A later migration that rebuilds ``event`` on SQLite must carry
the columns over; ``tests/test_migrations.py`` and the report tests fail if it does not.

The SQL is written out here, not imported, so that this migration keeps doing what it did
when the application changes.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

AUDIENCE_BITS = ("0-5", "6-11", "12-18", "19+", "all", "families", "seniors", "staff")
_MASK = (
    "COALESCE((SELECT SUM(CASE a.audience "
    + " ".join(f"WHEN '{name}' THEN {1 << bit}" for bit, name in enumerate(AUDIENCE_BITS))
    + " ELSE 0 END) FROM event_audience a WHERE a.event_id = event.id), 0)"
)
_TOKENS = """(SELECT CASE WHEN t.goal_id IS NULL THEN 's' || v.strategy_id || ':v' || t.value_id
                   ELSE 's' || g.strategy_id || ':g' || t.goal_id END AS k
      FROM event_tag t
      LEFT JOIN goal g ON g.id = t.goal_id
      LEFT JOIN strategy_value v ON v.id = t.value_id
      WHERE t.event_id = event.id"""
_KEYS = {
    # SQLite 3.40 has no ORDER BY inside an aggregate; it concatenates in the order of an
    # ordered subquery.
    "sqlite": (
        f"COALESCE((SELECT ',' || group_concat(k, ',') || ','"
        f" FROM {_TOKENS} ORDER BY k) s), '')"
    ),
    "postgres": (
        f"COALESCE((SELECT ',' || string_agg(k, ',' ORDER BY k) || ','"
        f" FROM {_TOKENS}) s), '')"
    ),
}

_COLUMNS = [
    "ALTER TABLE event ADD COLUMN tag_keys TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE event ADD COLUMN audience_mask INTEGER NOT NULL DEFAULT 0",
]


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, column, expression in (
        ("event_tag", "tag_keys", _KEYS["sqlite"]),
        ("event_audience", "audience_mask", _MASK),
    ):
        for when, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE", "NEW")):
            also = " OR id = OLD.event_id" if when == "UPDATE" else ""
            statements.append(
                f"CREATE TRIGGER {table}_{when.lower()}_profile AFTER {when} ON {table}"
                f" BEGIN UPDATE event SET {column} = {expression}"
                f" WHERE id = {row}.event_id{also}; END"
            )
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table, column, expression in (
        ("event_tag", "tag_keys", _KEYS["postgres"]),
        ("event_audience", "audience_mask", _MASK),
    ):
        statements += [
            f"""CREATE FUNCTION {table}_profile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE event SET {column} = {expression} WHERE id = OLD.event_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE event SET {column} = {expression} WHERE id = NEW.event_id;
    END IF;
    RETURN NULL;
END $$""",
            f"CREATE TRIGGER {table}_profile AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {table}_profile()",
        ]
    return statements


async def forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = str(client.capabilities.dialect)
    triggers = _sqlite_triggers() if dialect == "sqlite" else _postgres_triggers()
    backfill = f"UPDATE event SET tag_keys = {_KEYS[dialect]}, audience_mask = {_MASK}"
    for statement in [*_COLUMNS, *triggers, backfill]:
        await client.execute_script(statement)


async def backward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if str(client.capabilities.dialect) == "sqlite":
        drops = [
            f"DROP TRIGGER {table}_{when}_profile"
            for table in ("event_tag", "event_audience")
            for when in ("insert", "delete", "update")
        ]
    else:
        drops = [
            f"DROP TRIGGER {table}_profile ON {table}; DROP FUNCTION {table}_profile()"
            for table in ("event_tag", "event_audience")
        ]
    for statement in [
        *drops,
        "ALTER TABLE event DROP COLUMN audience_mask",
        "ALTER TABLE event DROP COLUMN tag_keys",
    ]:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0004_staff_session_epoch")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
