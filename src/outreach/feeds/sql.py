"""Plain SQL for the feed's read path, portable between SQLite and PostgreSQL.

Building a large feed through model objects spent more time turning rows into Tortoise
models than icalendar spent serialising them, so the feed reads exactly the columns it
needs as plain rows and converts the few typed ones (instants, JSON, booleans) itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from tortoise import connections

from outreach.db import instant
from outreach.models import Translated
from outreach.sql import dialect, numbered

UTC = dt.UTC

# A row read by column name: sqlite3.Row or asyncpg's Record (not copied into a dict).
Row = Any

E = TypeVar("E", bound=Enum)


def members(enum: type[E]) -> dict[Any, E]:
    """``enum``'s members by stored value: a dict lookup (10 ns) where calling the enum with
    the value runs the enum machinery's Python code (200 ns); a feed of 1,000 events
    reads 4,000 such values."""
    return {member.value: member for member in enum}


class Sql:
    """Queries written with ``?`` placeholders, run on the default connection."""

    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.dialect = dialect(self.conn)
        self.postgres = self.dialect == "postgres"

    def among(self, column: str, values: Sequence[int]) -> tuple[str, list[object]]:
        """``column`` is one of ``values``: one parameter, however long the list.

        Long ``IN (?, ?, …)`` lists would hit parameter limits and make every feed a new
        statement for the database to plan; an array (PostgreSQL) or a JSON array read by
        ``json_each`` (SQLite) keeps one statement and one parameter.
        """
        ids = [int(v) for v in values]
        if self.postgres:
            return f"{column} = ANY(?::bigint[])", [ids]
        return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(ids)]

    async def rows(self, query: str, params: Sequence[object] = ()) -> list[Row]:
        query = numbered(query, self.dialect)
        # ``execute_query`` hands back the driver's rows, which both read by column name;
        # ``execute_query_dict`` would copy each into a dict first, at a cost that shows.
        _, result = await self.conn.execute_query(query, list(params))
        return list(result)


def maybe_instant(value: Any) -> dt.datetime | None:
    return None if value is None else instant(value)


def time_of_day(value: Any) -> dt.time:
    """A stored time of day, naive."""
    if isinstance(value, str):
        value = dt.time.fromisoformat(value)
    assert isinstance(value, dt.time)
    return value.replace(tzinfo=None)


def loads(value: Any) -> Any:
    """A stored JSON value (both drivers return it as text unless a codec is set)."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def listed(value: Any) -> list[Any]:
    """A stored JSON list (mostly empty, so that case skips the parser)."""
    if value == "[]" or value is None:
        return []
    found = loads(value)
    return found if isinstance(found, list) else []


def translated(value: Any) -> Translated:
    if value == "{}":
        return {}
    found = loads(value)
    return found if isinstance(found, dict) else {}
