"""The answers kept under an ``Idempotency-Key``, below the web layer: taking a key for a
transaction, finding its answer, and storing one beside what the write stored.

:mod:`outreach.web.idempotency` uses them around every keyed write that runs in the
serving process; work that runs in a worker process (a timetable import) uses them in
its own transaction there, so that the import and its answer commit together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach.models import IdempotentAnswer
from outreach.scheduling.conflicts import begin_write
from outreach.sql import is_postgres

KEEP = dt.timedelta(hours=24)


class KeyInUse(Exception):
    """Another request with this key has not finished: nothing was done."""


class KeyReused(Exception):
    """The key was kept for another request (method, path, query or body)."""


@dataclass(frozen=True)
class Key:
    """One user's key (``slot``) and the digest of the request it came with."""

    slot: str
    request: str


@dataclass(frozen=True)
class Kept:
    """An answer kept under a key, to be sent again as it was."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _lock_key(name: str) -> int:
    # pg_advisory_xact_lock(bigint): a key space apart from the (int, int) locks of
    # outreach.scheduling.conflicts.
    return int.from_bytes(bytes.fromhex(name)[:8], "big", signed=True)


async def claim(conn: BaseDBAsyncClient, key: Key, now: dt.datetime) -> Kept | None:
    """Take the key for this transaction and return its live answer, if one is kept:
    :class:`KeyInUse` while another transaction holds it (PostgreSQL; SQLite waits for
    its write lock), :class:`KeyReused` if it was kept for another request."""
    if is_postgres(conn):
        rows = await conn.execute_query_dict(
            "SELECT pg_try_advisory_xact_lock($1) AS taken", [_lock_key(key.slot)]
        )
        if not rows[0]["taken"]:
            raise KeyInUse
    else:
        await begin_write(conn)
    kept = await IdempotentAnswer.filter(key=key.slot).using_db(conn).first()
    if kept is None:
        return None
    if kept.created_at <= now - KEEP:
        await IdempotentAnswer.filter(key=key.slot).using_db(conn).delete()
        return None
    if kept.request != key.request:
        raise KeyReused
    return Kept(kept.status, [(k, v) for k, v in kept.headers], bytes(kept.body))


async def keep(
    conn: BaseDBAsyncClient,
    key: Key,
    answer: Kept,
    now: dt.datetime,
) -> None:
    """Store ``answer`` under the key, in the transaction of the write it answers."""
    await IdempotentAnswer.create(
        key=key.slot,
        request=key.request,
        status=answer.status,
        headers=[[k, v] for k, v in answer.headers],
        body=answer.body,
        created_at=now,
        using_db=conn,
    )
