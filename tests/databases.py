"""Test databases: migrated copies of one template per backend, and emptying them.

Migrating a fresh database runs Tortoise's migration planner over every operation of the
chain (seconds of CPU each time). A test run migrates one template per backend, once, and
hands out copies: a SQLite file copied byte for byte, a PostgreSQL database made with
``CREATE DATABASE … TEMPLATE``. The processes of one run (pytest-xdist's workers, and the
run's own process) share the templates through a folder named in ``TEMPLATES_ENV``:
whichever needs a template first builds it, under a file lock, and the process that made
the folder drops the templates when the run ends. Tests of the migrations themselves
(tests/test_migrations.py) migrate their own databases for real.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models

from outreach.settings import PROJECT_ROOT, sqlite_url

POSTGRES_ENV = "OUTREACH_TEST_POSTGRES_URL"
# The folder of this run's templates, shared by its processes (set by ``start_run``).
TEMPLATES_ENV = "OUTREACH_TEST_TEMPLATES"


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def start_run() -> Path | None:
    """Make this run's template folder, unless it is named in ``TEMPLATES_ENV`` already (an
    xdist worker inherits its controller's; ``make test`` gives one to both its passes and
    ends the run itself); the folder if this process made it, to end the run with."""
    if os.environ.get(TEMPLATES_ENV):
        return None
    folder = Path(tempfile.mkdtemp(prefix="outreach-templates-"))
    os.environ[TEMPLATES_ENV] = str(folder)
    return folder


def end_run(folder: Path) -> None:
    """Drop the run's PostgreSQL template (if one was made) and remove its folder."""
    marker = folder / "postgres.ready"
    base = os.environ.get(POSTGRES_ENV)
    if marker.exists() and base:
        asyncio.run(_drop_database(base, marker.read_text()))
    shutil.rmtree(folder, ignore_errors=True)
    if os.environ.get(TEMPLATES_ENV) == str(folder):
        del os.environ[TEMPLATES_ENV]


def _folder() -> Path:
    folder = os.environ.get(TEMPLATES_ENV)
    if not folder:  # tests/conftest.py's pytest_configure starts the run
        raise RuntimeError(f"{TEMPLATES_ENV} is not set: no test run was started")
    return Path(folder)


async def migrate(url: str) -> None:
    """``outreach migrate`` on ``url``, in a process of its own: Tortoise's state in this
    one (a test's database may be open) is left alone."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from outreach.cli import main; main()", "migrate",
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"outreach migrate failed ({process.returncode}): {out.decode()}")


def _acquire(path: Path) -> int:
    """Wait for an exclusive lock on ``path``, shared by the run's processes."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _release(handle: int) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
    os.close(handle)


async def sqlite_template() -> Path:
    """The run's migrated SQLite file (built by the first process that asks)."""
    folder = _folder()
    template = folder / "template.sqlite3"
    if template.exists():
        return template
    lock = folder / "sqlite.lock"
    # A thread waits for the lock, so a process building the other template goes on.
    held = await asyncio.to_thread(_acquire, lock)
    try:
        if not template.exists():
            building = folder / "building.sqlite3"
            building.unlink(missing_ok=True)  # what a failed attempt left
            await migrate(sqlite_url(building))
            # Every page in the main file, so a copy of that file alone is the database
            # (WAL mode stays recorded in it); closing the last connection removes the WAL.
            with closing(sqlite3.connect(building)) as lite:
                lite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for leftover in (Path(f"{building}-wal"), Path(f"{building}-shm")):
                leftover.unlink(missing_ok=True)
            building.rename(template)
    finally:
        _release(held)
    return template


async def migrated_sqlite(path: Path) -> str:
    """A migrated SQLite database at ``path`` (a copy of the run's template); its URL."""
    shutil.copyfile(await sqlite_template(), path)
    return sqlite_url(path)


async def postgres_template(base: str) -> str:
    """The name of the run's migrated PostgreSQL database on the server of ``base``."""
    folder = _folder()
    marker = folder / "postgres.ready"
    if marker.exists():
        return marker.read_text()
    held = await asyncio.to_thread(_acquire, folder / "postgres.lock")
    try:
        if not marker.exists():
            name = f"outreach_template_{uuid.uuid4().hex[:12]}"
            await _execute(base, f'CREATE DATABASE "{name}"')
            try:
                await migrate(with_database(base, name))
            except BaseException:
                await _drop_database(base, name)
                raise
            # Written whole, then renamed: a process that finds the marker reads the name.
            building = folder / "postgres.building"
            building.write_text(name)
            building.rename(marker)
    finally:
        _release(held)
    return marker.read_text()


async def migrated_postgres(base: str, name: str) -> str:
    """A migrated PostgreSQL database ``name`` (a copy of the run's template); its URL."""
    template = await postgres_template(base)
    # One copy at a time: PostgreSQL refuses to copy a database another session is in.
    held = await asyncio.to_thread(_acquire, _folder() / "postgres.lock")
    try:
        await _execute(base, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        _release(held)
    return with_database(base, name)


async def drop_postgres(base: str, name: str) -> None:
    await _drop_database(base, name)


async def _drop_database(base: str, name: str) -> None:
    await _execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _execute(base: str, statement: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(base))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


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


def prebuild() -> list[subprocess.Popen[bytes]]:
    """Start building the run's templates now, each in a process of its own, while the
    run's xdist workers start and collect: neither waits for the other to build one."""
    backends = ["sqlite", "postgres"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tests.databases", "build", backend],
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # a failed build fails again, and says why, in a test
        )
        for backend in backends
    ]


async def _build(backend: str) -> None:
    if backend == "sqlite":
        await sqlite_template()
    else:
        await postgres_template(os.environ[POSTGRES_ENV])


if __name__ == "__main__":
    # ``python -m tests.databases end-run FOLDER``: how ``make test`` ends its run;
    # ``python -m tests.databases build BACKEND``: ``prebuild``'s processes.
    match sys.argv[1:]:
        case ["end-run", folder]:
            end_run(Path(folder))
        case ["build", ("sqlite" | "postgres") as backend]:
            asyncio.run(_build(backend))
        case _:
            sys.exit("usage: python -m tests.databases end-run FOLDER | build sqlite|postgres")
