"""Strategies say where everything in them comes from, and what their documents state.

- ``source`` (JSON, NULL until known) on ``strategy``, ``strategy_value``, ``theme``, ``goal``
  and ``target``: the source document, its section and its exact words, or ``demo`` for
  what the project made up to show a feature (``outreach.models.strategy``). Rows stored
  before this migration keep NULL: nothing here can know where they came from; loading the
  fixtures again fills in those of the demo.
- ``strategy.stated_start`` / ``stated_end``: the period as the document gives it, NULL
  where it gives none (``period_start`` / ``period_end`` stay the span reports take the
  strategy to be in force).
- ``strategy_statement``: each statement of a document's vision, mission, values or
  quality policy, in the document's order and words.
- ``library.source`` and ``library.town``: where a library that is no demo library (a member
  of a network, without a programme) is known from, and its town.

Only columns and a table are added. Their way back drops just those columns: Tortoise's
own way back rebuilds the table on SQLite, and dropping ``strategy`` to rebuild it would
delete, by cascade, every value, theme and goal of every strategy.
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

_TABLES = {
    "Goal": "goal",
    "Library": "library",
    "Strategy": "strategy",
    "StrategyValue": "strategy_value",
    "Target": "target",
    "Theme": "theme",
}


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
    dependencies = [("models", "0008_idempotency_key")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Statement",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "strategy",
                    fields.ForeignKeyField(
                        "models.Strategy",
                        source_field="strategy_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="statements",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(max_length=32)),
                ("position", fields.SmallIntField(default=0)),
                ("kind", fields.CharField(max_length=32)),
                ("section", fields.CharField(max_length=200)),
                ("text", _json()),
                ("source", _json(null=True)),
            ],
            options={
                "table": "strategy_statement",
                "app": "models",
                "unique_together": (("strategy", "key"),),
                "pk_attr": "id",
                "table_description": "One statement of a strategy document, in its order and words.",
            },
            bases=["Model"],
        ),
        AddColumn(
            model_name="Goal",
            name="source",
            field=_json(null=True),
        ),
        AddColumn(
            model_name="Library",
            name="source",
            field=fields.CharField(null=True, max_length=300),
        ),
        AddColumn(
            model_name="Library",
            name="town",
            field=fields.CharField(null=True, max_length=100),
        ),
        AddColumn(
            model_name="Strategy",
            name="source",
            field=_json(null=True),
        ),
        AddColumn(
            model_name="Strategy",
            name="stated_end",
            field=fields.DateField(null=True),
        ),
        AddColumn(
            model_name="Strategy",
            name="stated_start",
            field=fields.DateField(null=True),
        ),
        AddColumn(
            model_name="StrategyValue",
            name="source",
            field=_json(null=True),
        ),
        AddColumn(
            model_name="Target",
            name="source",
            field=_json(null=True),
        ),
        AddColumn(
            model_name="Theme",
            name="source",
            field=_json(null=True),
        ),
    ]
