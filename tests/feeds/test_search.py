"""The search index: in step with every write to an event's title or description, inside
the write's transaction, built by its migration for the events already stored, and
dropped (only it) by the migration's way back."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.feeds.search import matching_events, words
from outreach.models import Event, EventKind, EventStatus, Library
from tests.factories import make_library


async def _found_within(connection: BaseDBAsyncClient, word: str) -> list[tuple[object, ...]]:
    """What the index finds for ``word`` as seen inside ``connection``'s transaction."""
    if connection.capabilities.dialect == "sqlite":
        query = "SELECT rowid FROM event_search WHERE event_search MATCH ?"
        param = f'"{word}"*'
    else:
        query = (
            "SELECT id FROM event WHERE outreach_search_document(title, description)"
            " @@ to_tsquery('simple', $1)"
        )
        param = f"{word}:*"
    _, rows = await connection.execute_query(query, [param])
    return [tuple(row) for row in rows]


async def _event(
    library: Library, title: dict[str, str], description: dict[str, str] | None = None
) -> Event:
    start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    return await Event.create(
        library=library,
        kind=EventKind.WORKSHOP,
        title=title,
        description=description or {},
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        timezone=library.timezone,
        status=EventStatus.PUBLISHED,
        updated_at=start,
    )


def test_a_query_is_only_its_words() -> None:
    assert words('"Delavn*" OR -(čitanje) AND_zgodbe!  delavn') == [
        "delavn",
        "or",
        "čitanje",
        "and",
        "zgodbe",
    ]
    assert words("* ! () \" '") == []
    assert len(words(" ".join(f"w{n}" for n in range(20)))) == 8


async def test_the_index_follows_writes_and_their_transactions(db: str) -> None:
    library = await make_library("kranj")
    event = await _event(library, {"sl": "Pravljična ura"}, {"en": "Stories for the youngest"})
    ids = [library.id]
    assert await matching_events(ids, ["pravljicn"]) == [event.id]
    assert await matching_events(ids, ["youngest"]) == [event.id]

    event.title = {"sl": "Ustvarjalna delavnica"}
    await event.save()
    assert await matching_events(ids, ["pravlj"]) == []
    assert await matching_events(ids, ["delavn", "stories"]) == [event.id]

    # A write that is rolled back leaves the index as it was.
    async def rename_and_fail() -> None:
        async with in_transaction("default") as connection:
            event.title = {"sl": "Bralni klub"}
            await event.save(using_db=connection)
            assert await _found_within(connection, "bralni") == [(event.id,)]
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        await rename_and_fail()
    assert await matching_events(ids, ["bralni"]) == []
    assert await matching_events(ids, ["delavn"]) == [event.id]

    await event.delete()
    assert await matching_events(ids, ["delavn"]) == []


async def test_the_migration_goes_back_and_indexes_stored_events(db: str) -> None:
    # The migration's own steps, run on this database (the whole chain through the command
    # line is tests/test_migrations.py's): back, an event stored meanwhile, forward again.
    migration = importlib.import_module("outreach.migrations.0013_event_search")
    connection = connections.get("default")
    editor = SimpleNamespace(client=connection)
    library = await make_library("kranj")
    await migration.backward(None, editor)
    try:
        if connection.capabilities.dialect == "sqlite":
            left = "SELECT name FROM sqlite_master WHERE name LIKE 'event_search%'"
        else:
            left = (
                "SELECT proname FROM pg_proc WHERE proname LIKE 'outreach_%'"
                " UNION ALL SELECT relname FROM pg_class WHERE relname = 'event_search_document'"
            )
        assert (await connection.execute_query(left))[1] == []
        event = await _event(library, {"mk": "Работилница за деца"})
    finally:
        await migration.forward(None, editor)
    assert await matching_events([library.id], ["работилн"]) == [event.id]
