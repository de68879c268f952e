"""Raw SQL that runs unchanged on SQLite and PostgreSQL: the one place that knows each
driver's placeholders.

Where the ORM costs more than the work (feeds, conflict checks, reports, the data
version), queries are written once, with either

- named parameters (``:name``): :func:`positional` rewrites them for the connection (``?``
  for Tortoise's SQLite client, ``$1`` for asyncpg; a name used twice is one asyncpg
  parameter) and converts values where the two drivers disagree; :func:`fetch` and
  :func:`fetch_rows` run them. Write no ``:word`` inside a string literal and no
  PostgreSQL ``::`` cast: the rewrite would not tell them apart;
- or ``?`` in order (:func:`numbered`), for queries assembled from fragments.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection

_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def dialect(connection: BaseDBAsyncClient | None = None) -> str:
    """``"postgres"`` or ``"sqlite"``: the dialect of ``connection`` (default connection)."""
    conn = connection or get_connection("default")
    return str(conn.capabilities.dialect)


def is_postgres(connection: BaseDBAsyncClient | None = None) -> bool:
    return dialect(connection) == "postgres"


_QUESTION = re.compile(r"\?")


def numbered(sql: str, dialect_name: str) -> str:
    """``sql`` written with ``?`` in order, for ``dialect_name`` (``$1``, ``$2``… for
    asyncpg)."""
    if dialect_name != "postgres":
        return sql
    numbers = iter(range(1, sql.count("?") + 1))
    return _QUESTION.sub(lambda _: f"${next(numbers)}", sql)


def positional(sql: str, params: Mapping[str, Any], dialect_name: str) -> tuple[str, list[Any]]:
    """``sql`` with ``:name`` rewritten for ``dialect_name``, and its argument list."""
    text, order = _rewritten(sql, dialect_name)
    missing = [name for name in order if name not in params]
    if missing:
        raise KeyError(f"no value for SQL parameter :{missing[0]}")
    values = [params[name] for name in order]
    if dialect_name == "sqlite":
        values = [_sqlite_value(v) for v in values]
    return text, values


@functools.lru_cache(maxsize=256)
def _rewritten(sql: str, dialect_name: str) -> tuple[str, tuple[str, ...]]:
    """The rewritten text and the names its placeholders take, in order; the same few
    statements run again and again (the data version on every feed request, a report's
    long statement), so each is rewritten once."""
    order: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if dialect_name == "postgres":
            # asyncpg numbers its parameters, so a repeated name reuses its number.
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"
        order.append(name)
        return "?"

    return _NAMED.sub(replace, sql), tuple(order)


def _sqlite_value(value: Any) -> Any:
    # Tortoise stores aware datetimes as ISO text in UTC with a space separator; compare
    # with the same spelling (Python's default sqlite3 adapter is deprecated).
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


async def fetch(
    sql: str, params: Mapping[str, Any], *, connection: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    """Run ``sql`` with named ``params``; rows as dicts, numbers as ``int``/``float``."""
    conn = connection or get_connection("default")
    text, values = positional(sql, params, dialect(conn))
    rows = await conn.execute_query_dict(text, values)
    # PostgreSQL sums integers into NUMERIC; callers want plain numbers.
    return [
        {
            k: (int(v) if isinstance(v, Decimal) and v == v.to_integral() else v)
            for k, v in r.items()
        }
        for r in rows
    ]


async def fetch_rows(
    sql: str, params: Mapping[str, Any], *, connection: BaseDBAsyncClient | None = None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` with named ``params``; rows as tuples, values as the driver reads them
    (for large results read by position; cast sums to ``BIGINT`` for plain integers)."""
    conn = connection or get_connection("default")
    text, values = positional(sql, params, dialect(conn))
    _, rows = await conn.execute_query(text, values)
    return [tuple(row) for row in rows]


def seconds_between(start: str, end: str, dialect_name: str) -> str:
    """An SQL expression: whole seconds from ``start`` to ``end`` (two timestamp columns)."""
    if dialect_name == "postgres":
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS BIGINT)"
    # julianday() reads the stored ISO text, offset included, as fractional days (faster
    # than strftime('%s'), which formats and parses text again); rounded to the second.
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"
