"""Emptying a test database between tests, touching only the tables that hold rows."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models


async def empty_database() -> None:
    """Delete every row of every model's table.

    PostgreSQL's ``TRUNCATE`` of all ~40 tables costs 0.2–0.7 s whether or not they hold
    rows (it replaces each table's and index's files), and every test empties its database
    before and after: most tables are empty by then. One query finds those that hold rows and
    only they are truncated (``CASCADE`` takes the many-to-many tables that point at them).
    SQLite's ``DELETE``s are cheap: Tortoise's own emptying runs there when anything is left.
    """
    models = list(Tortoise.apps.get_models_iterable())
    db = models[0]._meta.db
    tables = sorted({model._meta.db_table for model in models})
    holding = " UNION ALL ".join(
        f"SELECT '{table}' AS name WHERE EXISTS (SELECT 1 FROM \"{table}\")" for table in tables
    )
    filled = [row["name"] for row in await db.execute_query_dict(holding)]
    if not filled:
        return
    if db.capabilities.dialect == "postgres":
        await db.execute_script(
            "TRUNCATE " + ", ".join(f'"{table}"' for table in filled) + " CASCADE"
        )
    else:
        await truncate_all_models()
