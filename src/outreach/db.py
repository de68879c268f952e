"""Database set-up: applying the checked-in migrations, health checks, and telling an
unreachable database apart from a failing query."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import asyncpg
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.exceptions import DBConnectionError, OperationalError
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


# SQLSTATE classes of a PostgreSQL server that cannot serve now, whatever the statement:
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57 operator intervention (shutting down, starting up, terminated, cancelled), 58 system
# error (I/O). Class 40 is a transaction that lost a race (deadlock, serialisation).
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_LOST_RACE_CLASS = "40"
# SQLite says so in words only: another process holds the write lock past busy_timeout,
# or the file cannot be read, written or opened.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "unable to open database file",
    "database or disk is full",
)
_LOST_RACE = ("deadlock detected", "could not serialize access")
# An OSError (refused, reset, timed out) is the database's only if a driver raised it.
_DRIVERS = frozenset({"asyncpg", "aiosqlite", "sqlite3", "tortoise"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the exceptions it was raised from or during, and those of its groups."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] in _DRIVERS:
            return True
        tb = tb.tb_next
    return False


def _sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "sqlstate", "") or "") if isinstance(exc, asyncpg.PostgresError) else ""


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached or cannot serve right now
    (a retry later may succeed), rather than a fault of the statement or of the code.

    Tortoise passes asyncpg's connection errors through untranslated and wraps SQLite's in
    its ``OperationalError``, so the whole chain of causes is read.
    """
    for error in _chain(exc):
        if isinstance(error, DBConnectionError):
            return True
        if _sqlstate(error)[:2] in _UNAVAILABLE_CLASSES:
            return True
        # "connection is closed", "the underlying connection is closed", "pool is closing"
        if isinstance(error, asyncpg.InterfaceError) and "clos" in str(error):
            return True
        # The driver lost the thread of the conversation: the server ended the session
        # while it was idle in a transaction (a shutdown's FATAL message arrives unasked),
        # and the next statement finds the protocol still reading that error. The pool
        # discards the connection when it comes back.
        if isinstance(error, asyncpg.InternalClientError):
            return True
        message = str(error).lower()
        if isinstance(error, sqlite3.Error | OperationalError) and any(
            marker in message for marker in _SQLITE_UNAVAILABLE
        ):
            return True
        if isinstance(error, OSError) and _raised_by_driver(error):
            return True
    return False


def lost_race(exc: BaseException) -> bool:
    """Whether ``exc`` is a transaction rolled back by the database because a simultaneous
    one got in the way (deadlock, serialisation failure): nothing was saved, retry."""
    for error in _chain(exc):
        if _sqlstate(error)[:2] == _LOST_RACE_CLASS:
            return True
        if isinstance(error, OperationalError) and any(m in str(error) for m in _LOST_RACE):
            return True
    return False
