"""The data version: one counter in the database, bumped by every write that can change
a feed or a report, so that caches in any number of processes know when to rebuild."""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from outreach.models import DataVersion

PROGRAMME = "programme"


async def bump_data_version(
    scope: str = PROGRAMME, *, using_db: BaseDBAsyncClient | None = None
) -> None:
    """Increment the counter; call it inside the transaction of the write it describes."""
    now = dt.datetime.now(dt.UTC)
    updated = (
        await DataVersion.filter(scope=scope)
        .using_db(using_db)
        .update(version=F("version") + 1, changed_at=now)
    )
    if not updated:
        await DataVersion.get_or_create(
            scope=scope, defaults={"version": 1, "changed_at": now}, using_db=using_db
        )


async def current_data_version(scope: str = PROGRAMME) -> tuple[int, dt.datetime]:
    """The counter and when it last changed (epoch start before the first write)."""
    row = await DataVersion.get_or_none(scope=scope)
    if row is None:
        return 0, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return row.version, row.changed_at
