"""Database set-up: applying the checked-in migrations, and health checks."""

from __future__ import annotations

import datetime as dt
import sqlite3

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from outreach.settings import tortoise_config

# Tortoise's SQLite client adapts dates and datetimes but not times (``Stop.arrival``),
# and the sqlite3 module has none for them: stored as ISO text, which Tortoise reads back.
# Registered here because every process that touches the database imports this module.
sqlite3.register_adapter(dt.time, dt.time.isoformat)


def instant(value: object) -> dt.datetime:
    """A stored instant as an aware UTC datetime.

    Raw queries get ISO text from SQLite and datetimes (naive or aware) from asyncpg.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def migrate(database_url: str, target: str | None = None) -> list[str]:
    """Apply every pending migration, or those up to ``target`` (a migration's name, such
    as ``0001_initial``); return the names applied (needs no prior init)."""
    config = tortoise_config(database_url)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    await Tortoise.init(config=config, _create_db=False)
    try:
        executor = MigrationExecutor(get_connection("default"), config["apps"])
        targets = None if target is None else [MigrationTarget(app_label="models", name=target)]
        await executor.migrate(targets, progress=progress)
    finally:
        await Tortoise.close_connections()
    return applied


async def ping() -> bool:
    """Whether the database answers a trivial query."""
    try:
        await get_connection("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True
