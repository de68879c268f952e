"""Upgrading a database that already holds data, as an operator does: ``outreach migrate``.

Each test migrates a private database of the backend to an earlier migration, writes rows
as that schema stores them, runs the remaining migrations and reads the rows back.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from outreach.reports.queries import AUDIENCES
from outreach.settings import PROJECT_ROOT, sqlite_url
from tests.databases import POSTGRES_ENV, asyncpg_dsn, with_database
from tests.test_cli import outreach

MIGRATIONS = PROJECT_ROOT / "src" / "outreach" / "migrations"
LIBRARY = """INSERT INTO library (id, slug, name, timezone, default_language, languages, website)
VALUES (7, 'kranj', '{"sl": "Kranj"}', 'Europe/Ljubljana', 'sl', '["sl"]', '')"""
EVENT = """INSERT INTO event (id, library_id, kind, title, description, starts_at, ends_at,
 timezone, all_day, exdates, place_name, place_address, format, online_url, visibility,
 status, revision, created_at, updated_at)
VALUES (3, 7, 'reading', '{"sl": "Pravljice"}', '{}', '2026-09-16 15:00:00+00:00',
 '2026-09-16 16:00:00+00:00', 'Europe/Ljubljana', FALSE, '[]', '', '', 'in_person', '',
 'public', 'published', 1, '2026-09-01 00:00:00+00:00', '2026-09-01 00:00:00+00:00')"""
ATTENDANCE = """INSERT INTO attendance (event_id, original_start, age_band, mode, count,
 recorded_at) VALUES (3, '2026-09-16 15:00:00+00:00', '0-5', 'on_site', 12,
 '2026-09-16 17:00:00+00:00')"""


def _applied_from(first: str) -> str:
    """What ``outreach migrate`` prints when it applies ``first`` and every later migration
    of the chain (the chain grows; each test names where its database starts)."""
    names = sorted(p.stem for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py") if p.stem >= first)
    listed = ", ".join(f"models.{name}" for name in names)
    return f"applied {len(names)} migration(s): {listed}\n"


@pytest_asyncio.fixture
async def empty_database(backend: str) -> AsyncIterator[tuple[str, str]]:
    """(dialect, URL) of a new, empty database of the backend under test."""
    if backend.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="outreach-migrate-") as tmp:
            yield "sqlite", sqlite_url(Path(tmp) / "old.sqlite3")
        return
    base = os.environ[POSTGRES_ENV]
    name = f"outreach_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(base))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield "postgres", with_database(base, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(dialect: str, url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run ``statements`` on the database at ``url``; the rows of the last one."""
    if dialect == "sqlite":
        path = url.removeprefix("sqlite://").split("?")[0]
        with closing(sqlite3.connect(path)) as lite, lite:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                rows = lite.execute(statement).fetchall()
            return rows
    server = await asyncpg.connect(asyncpg_dsn(url))
    try:
        records: list[asyncpg.Record] = []
        for statement in statements:
            records = await server.fetch(statement)
        return [tuple(r) for r in records]
    finally:
        await server.close()


async def test_attendance_gains_its_library_and_keeps_its_uniqueness(
    empty_database: tuple[str, str],
) -> None:
    dialect, url = empty_database
    code, out, err = await outreach(url, "migrate", "--to", "0001_initial")
    assert (code, out, err) == (0, "applied 1 migration(s): models.0001_initial\n", "")
    await _run(dialect, url, LIBRARY, EVENT, ATTENDANCE)

    code, out, err = await outreach(url, "migrate")

    assert (code, out, err) == (
        0,
        _applied_from("0002_attendance_library"),
        "",
    )
    rows = await _run(dialect, url, "SELECT event_id, library_id, count FROM attendance")
    assert rows == [(3, 7, 12)]
    # The SQLite rebuild of the table must not have dropped the unique constraint.
    if dialect == "sqlite":
        indexes = await _run(
            dialect, url, "SELECT name, \"unique\" FROM pragma_index_list('attendance')"
        )
    else:
        indexes = await _run(
            dialect,
            url,
            "SELECT c.relname, i.indisunique::int FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'attendance'::regclass AND NOT i.indisprimary",
        )
    assert sorted(indexes) == [
        ("attendance_library_start", 0),
        ("attendance_one_count", 1),
        ("uid_attendance_event_i_a02eef", 1),
    ]
    # The same session (no bookmobile stop), band and mode cannot be counted twice.
    duplicate = sqlite3.IntegrityError if dialect == "sqlite" else asyncpg.UniqueViolationError
    with pytest.raises(duplicate):
        await _run(
            dialect,
            url,
            ATTENDANCE.replace("(event_id,", "(library_id, event_id,").replace(
                "VALUES (3,", "VALUES (7, 3,"
            ),
        )
    # A required column now: a row without its library is refused.
    null_error = sqlite3.IntegrityError if dialect == "sqlite" else asyncpg.NotNullViolationError
    with pytest.raises(null_error):
        await _run(dialect, url, ATTENDANCE.replace("'0-5'", "'6-11'"))


STRATEGY = """INSERT INTO strategy (id, slug, library_id, name, source_language, period_start,
 period_end, vision, mission, source_document)
VALUES (5, 'kranj-2025', 7, '{"sl": "Strategija"}', 'sl', '2025-01-01', '2029-12-31', '{}',
 '{}', '')"""
VALUE = """INSERT INTO strategy_value (id, strategy_id, code, position, name, description)
VALUES (11, 5, 'V1', 1, '{"sl": "Trajnostni razvoj"}', '{}')"""
THEME = """INSERT INTO theme (id, strategy_id, code, position, name, description)
VALUES (2, 5, 'A', 1, '{"sl": "Bralna kultura"}', '{}')"""
GOAL = """INSERT INTO goal (id, strategy_id, theme_id, code, position, name, description, internal)
VALUES ({id}, 5, 2, 'A{id}', {id}, '{{"sl": "Cilj"}}', '{{}}', FALSE)"""
TAG = """INSERT INTO event_tag (event_id, value_id, goal_id, "primary")
VALUES (3, {value}, {goal}, FALSE)"""
AUDIENCE = "INSERT INTO event_audience (event_id, audience) VALUES (3, '{audience}')"
PROFILE = "SELECT tag_keys, audience_mask FROM event WHERE id = 3"


async def test_events_gain_a_profile_the_database_keeps(
    empty_database: tuple[str, str],
) -> None:
    """Migration 0005 fills each event's tag and audience copies, and its triggers keep
    them equal to the rows whatever writes them."""
    dialect, url = empty_database
    await outreach(url, "migrate", "--to", "0004_staff_session_epoch")
    await _run(
        dialect, url, LIBRARY, EVENT, STRATEGY, VALUE, THEME, GOAL.format(id=9),
        GOAL.format(id=10), TAG.format(value="NULL", goal=10), TAG.format(value=11, goal="NULL"),
        AUDIENCE.format(audience="6-11"), AUDIENCE.format(audience="seniors"),
    )  # fmt: skip

    code, out, err = await outreach(url, "migrate")

    assert (code, out, err) == (
        0,
        _applied_from("0005_event_profile"),
        "",
    )
    # Tokens sorted as text; audience bits in the order of Audience: 6-11 is 2, seniors 64.
    assert await _run(dialect, url, PROFILE) == [(",s5:g10,s5:v11,", 66)]
    assert await _run(
        dialect, url, "UPDATE event_tag SET goal_id = 9 WHERE goal_id = 10",
        "UPDATE event_audience SET audience = '0-5' WHERE audience = 'seniors'", PROFILE,
    ) == [(",s5:g9,s5:v11,", 3)]  # fmt: skip
    assert await _run(
        dialect, url, TAG.format(value="NULL", goal=10), AUDIENCE.format(audience="staff"), PROFILE
    ) == [(",s5:g10,s5:g9,s5:v11,", 131)]
    assert await _run(
        dialect, url, "DELETE FROM event_tag", "DELETE FROM event_audience", PROFILE
    ) == [("", 0)]


def test_the_profile_triggers_know_every_audience() -> None:
    """Reports read bit ``i`` of ``audience_mask`` as ``AUDIENCES[i]``: a new audience needs
    a migration that teaches the triggers its bit."""
    profile = importlib.import_module("outreach.migrations.0005_event_profile")
    assert tuple(AUDIENCES) == profile.AUDIENCE_BITS


async def test_migrate_to_an_unknown_migration_is_refused(
    empty_database: tuple[str, str],
) -> None:
    _, url = empty_database
    code, out, err = await outreach(url, "migrate", "--to", "0099_nothing")
    assert (code, out, err) == (2, "", "outreach: --to: no migration named '0099_nothing'\n")


EVENT_IN = """INSERT INTO event (id, library_id, kind, title, description, starts_at, ends_at,
 timezone, all_day, exdates, place_name, place_address, format, online_url, visibility,
 status, revision, created_at, updated_at)
VALUES ({id}, 7, 'reading', '{{"sl": "Pravljice"}}', '{{}}', '2026-09-16 15:00:00+00:00',
 '2026-09-16 16:00:00+00:00', 'Europe/Ljubljana', FALSE, '[]', '', '', 'in_person', '',
 'public', '{status}', 1, '2026-08-0{id} 00:00:00+00:00', '2026-09-0{id} 00:00:00+00:00')"""
AUDIT = """INSERT INTO audit_entry (at, action, entity, entity_id, changes)
VALUES ('2026-08-{day} 10:00:00+00:00', '{action}', '{entity}', '{id}', '{changes}')"""


def _created(status: str) -> str:
    return f'{{"event": {{"title": {{"sl": "Pravljice"}}, "status": "{status}"}}}}'


def _status(before: str, after: str) -> str:
    return f'{{"status": ["{before}", "{after}"]}}'


async def test_events_learn_since_when_they_are_public(
    empty_database: tuple[str, str],
) -> None:
    """Migration 0007: published events are listed since their last change; a cancelled
    one only if its audit entries show it published when it was cancelled."""
    dialect, url = empty_database
    await outreach(url, "migrate", "--to", "0006_occurrence_library_sessions")
    await _run(
        dialect, url, LIBRARY,
        EVENT_IN.format(id=1, status="published"),
        EVENT_IN.format(id=2, status="draft"),
        # Created as a draft and cancelled: never public.
        EVENT_IN.format(id=3, status="cancelled"),
        AUDIT.format(day=10, action="create", entity="event", id=3, changes=_created("draft")),
        AUDIT.format(day=11, action="cancel", entity="event", id=3,
                     changes=_status("draft", "cancelled")),
        # A route's entry names the route, not the event: it must not count.
        AUDIT.format(day=11, action="update", entity="route", id=3,
                     changes=_status("draft", "published")),
        # Published on the 13th, then cancelled.
        EVENT_IN.format(id=4, status="cancelled"),
        AUDIT.format(day=12, action="create", entity="event", id=4, changes=_created("draft")),
        AUDIT.format(day=13, action="update", entity="event", id=4,
                     changes=_status("draft", "published")),
        AUDIT.format(day=14, action="cancel", entity="event", id=4,
                     changes=_status("published", "cancelled")),
        # Published, taken back to draft, then cancelled: not public when cancelled.
        EVENT_IN.format(id=5, status="cancelled"),
        AUDIT.format(day=15, action="create", entity="event", id=5, changes=_created("published")),
        AUDIT.format(day=16, action="update", entity="event", id=5,
                     changes=_status("published", "draft")),
        AUDIT.format(day=17, action="cancel", entity="event", id=5,
                     changes=_status("draft", "cancelled")),
        # Published by a writer that logs no event entry (a route): public since created.
        EVENT_IN.format(id=6, status="cancelled"),
        AUDIT.format(day=18, action="cancel", entity="event", id=6,
                     changes=_status("published", "cancelled")),
        # Cancelled with no entry at all (loaded from fixtures): nothing shows it public.
        EVENT_IN.format(id=7, status="cancelled"),
    )  # fmt: skip

    code, out, err = await outreach(url, "migrate")

    assert (code, out, err) == (
        0,
        _applied_from("0007_event_published_at"),
        "",
    )
    rows = await _run(dialect, url, "SELECT id, published_at FROM event ORDER BY id")
    assert [(ident, None if at is None else _instant(at).isoformat()) for ident, at in rows] == [
        (1, "2026-09-01T00:00:00+00:00"),
        (2, None),
        (3, None),
        (4, "2026-08-13T10:00:00+00:00"),
        (5, None),
        (6, "2026-08-06T00:00:00+00:00"),
        (7, None),
    ]


def _instant(value: object) -> dt.datetime:
    """A timestamp as the driver returns it (text from SQLite) as an aware UTC instant."""
    instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return instant.astimezone(dt.UTC)


async def test_stored_legacy_zones_get_their_canonical_names(
    empty_database: tuple[str, str],
) -> None:
    """Migration 0008: zones are read through the canonical-names check from now on, so a
    legacy name stored before becomes the zone tzdata links it to, and feeds rebuild."""
    dialect, url = empty_database
    await outreach(url, "migrate", "--to", "0007_event_published_at")

    def event(ident: int, zone: str) -> str:
        return EVENT_IN.format(id=ident, status="published").replace(
            "'Europe/Ljubljana'", f"'{zone}'"
        )

    await _run(
        dialect, url, LIBRARY.replace("'Europe/Ljubljana'", "'Asia/Calcutta'"),
        event(3, "US/Eastern"), event(4, "Factory"), event(5, "Europe/Ljubljana"),
        "INSERT INTO data_version (scope, version, changed_at)"
        " VALUES ('programme', 4, '2026-09-01 00:00:00+00:00')",
    )  # fmt: skip

    code, out, err = await outreach(url, "migrate")

    assert (code, out, err) == (
        0,
        _applied_from("0008_idempotency_key"),
        "",
    )
    assert await _run(dialect, url, "SELECT timezone FROM library") == [("Asia/Kolkata",)]
    assert await _run(dialect, url, "SELECT id, timezone FROM event ORDER BY id") == [
        (3, "America/New_York"),
        (4, "Factory"),  # a link of no canonical zone: left for an operator
        (5, "Europe/Ljubljana"),
    ]
    assert await _run(dialect, url, "SELECT version FROM data_version") == [(5,)]
    assert await _run(dialect, url, "SELECT count(*) FROM idempotent_answer") == [(0,)]


async def test_strategies_keep_their_rows_and_learn_where_they_come_from(
    empty_database: tuple[str, str],
) -> None:
    """Migration 0009 only adds: every value, theme, goal and target stored before it stays,
    with no provenance (NULL: nothing can know it), and a strategy states no period."""
    dialect, url = empty_database
    await outreach(url, "migrate", "--to", "0008_idempotency_key")
    target = (
        "INSERT INTO target (id, goal_id, metric, minimum, period_start, period_end)"
        " VALUES (4, 9, 'occurrences', 24, '2025-01-01', '2025-12-31')"
    )
    await _run(dialect, url, LIBRARY, STRATEGY, VALUE, THEME, GOAL.format(id=9), target)

    code, out, err = await outreach(url, "migrate")

    assert (code, out, err) == (
        0,
        _applied_from("0009_strategy_provenance"),
        "",
    )
    assert await _run(
        dialect,
        url,
        "SELECT slug, period_start, stated_start, stated_end, source FROM strategy",
    ) == [("kranj-2025", _day(dialect, "2025-01-01"), None, None, None)]
    for table, ident in (("strategy_value", 11), ("theme", 2), ("goal", 9), ("target", 4)):
        assert await _run(dialect, url, f"SELECT id, source FROM {table}") == [(ident, None)]
    assert await _run(dialect, url, "SELECT source FROM library") == [(None,)]
    assert await _run(dialect, url, "SELECT count(*) FROM strategy_statement") == [(0,)]
    # A statement belongs to one strategy and is keyed in it.
    statement = (
        "INSERT INTO strategy_statement (strategy_id, key, position, kind, section, text)"
        """ VALUES (5, 'vizija', 0, 'vision', 'VIZIJA', '{"sl": "Naša knjižnica"}')"""
    )
    await _run(dialect, url, statement)
    duplicate = sqlite3.IntegrityError if dialect == "sqlite" else asyncpg.UniqueViolationError
    with pytest.raises(duplicate):
        await _run(dialect, url, statement)


def _day(dialect: str, text: str) -> object:
    return text if dialect == "sqlite" else dt.date.fromisoformat(text)


async def test_stored_libraries_and_events_need_no_approval_after_the_workspace(
    empty_database: tuple[str, str],
) -> None:
    """Migration 0010 only adds: a library stored before asks for no approval, a published
    event stays published and public (approval not_needed), a user has no language and no
    private feed; going back drops just what it added."""
    dialect, url = empty_database
    await outreach(url, "migrate", "--to", "0009_strategy_provenance")
    user = (
        "INSERT INTO staff_user (id, email, name, password_hash, is_active, created_at,"
        " session_epoch) VALUES (2, 'ana@kranj.si', 'Ana', '-', TRUE,"
        " '2026-09-01 00:00:00+00:00', 0)"
    )
    await _run(dialect, url, LIBRARY, EVENT, user)

    code, out, err = await outreach(url, "migrate", "--to", "0010_staff_workspace")

    assert (code, out, err) == (0, "applied 1 migration(s): models.0010_staff_workspace\n", "")
    assert await _run(dialect, url, "SELECT slug, approval FROM library") == [("kranj", "none")]
    assert await _run(dialect, url, "SELECT id, status, approval FROM event") == [
        (3, "published", "not_needed")
    ]
    assert await _run(dialect, url, "SELECT id, language FROM staff_user") == [(2, None)]
    counts = "SELECT (SELECT count(*) FROM approval_request), (SELECT count(*) FROM staff_feed)"
    assert await _run(dialect, url, counts) == [(0, 0)]

    code, out, err = await outreach(url, "migrate", "--to", "0009_strategy_provenance")

    assert code == 0
    assert await _run(dialect, url, "SELECT id, status FROM event") == [(3, "published")]
    assert await _run(dialect, url, "SELECT slug FROM library") == [("kranj",)]
