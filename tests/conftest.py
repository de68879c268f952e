"""Test harness: every database test runs on SQLite and, when configured, on PostgreSQL.

Fixtures:
- ``backend``: a fresh, migrated database per backend for the whole session; Tortoise is
  initialised on it. PostgreSQL runs when ``OUTREACH_TEST_POSTGRES_URL`` is set and is
  skipped with a message otherwise.
- ``db``: a function-scoped clean database (every table emptied after the test).
- ``demo``: the demo fixtures loaded once per module; tests using it must not write.
- ``demo_rw``: the demo fixtures loaded for one test that may write.
- ``app`` / ``client``: the application and an ``httpx.AsyncClient`` speaking ASGI to it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from outreach.app import create_app
from outreach.db import migrate
from outreach.settings import PROJECT_ROOT, Settings, sqlite_url, tortoise_config
from tests.databases import empty_database

POSTGRES_ENV = "OUTREACH_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get(POSTGRES_ENV):
        return f"databases: SQLite and PostgreSQL ({POSTGRES_ENV} is set)"
    return f"databases: SQLite only; PostgreSQL pass skipped ({POSTGRES_ENV} is not set)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get(POSTGRES_ENV):
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "[postgres" in r.nodeid]
    terminalreporter.write_line(
        f"PostgreSQL pass skipped: {len(skipped)} test(s) did not run on PostgreSQL because "
        f"{POSTGRES_ENV} is not set.",
        yellow=True,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With ``pytest -n 2 --dist loadgroup`` (``make test``), a module's tests run in one
    worker, so its module-scoped data is loaded once; the browser tests share one worker
    and so one server (tests/browser/conftest.py)."""
    for item in items:
        path = item.path.relative_to(PROJECT_ROOT).as_posix()
        group = "browser" if path.startswith("tests/browser/") else path
        item.add_marker(pytest.mark.xdist_group(group))


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A migrated database of one backend, with Tortoise initialised on it."""
    if request.param == "postgres":
        base = os.environ.get(POSTGRES_ENV)
        if not base:
            pytest.skip(f"PostgreSQL pass skipped: {POSTGRES_ENV} is not set")
        name = f"outreach_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(_asyncpg_dsn(base))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = _with_database(base, name)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="outreach-test-")
        url = sqlite_url(Path(tmp.name) / "test.sqlite3")
    # Tortoise caches each model's SQL per connection name, in the dialect it first saw;
    # one process switching dialects (only tests do that) must start from a clean cache.
    EXECUTOR_CACHE.clear()
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        yield url
    finally:
        await Tortoise.close_connections()
        EXECUTOR_CACHE.clear()
        if request.param == "postgres":
            admin = await asyncpg.connect(_asyncpg_dsn(os.environ[POSTGRES_ENV]))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
        if tmp is not None:
            tmp.cleanup()


@pytest_asyncio.fixture
async def db(backend: str) -> AsyncIterator[str]:
    """An empty migrated database, emptied again after the test."""
    await empty_database()
    try:
        yield backend
    finally:
        await empty_database()


async def _load_demo() -> None:
    from outreach.fixtures import load_fixtures

    await empty_database()
    await load_fixtures(PROJECT_ROOT / "fixtures")


@pytest_asyncio.fixture(scope="module")
async def demo(backend: str) -> AsyncIterator[str]:
    """The demo fixtures, loaded once for a module whose tests only read."""
    await _load_demo()
    try:
        yield backend
    finally:
        await empty_database()


@pytest_asyncio.fixture
async def demo_rw(backend: str) -> AsyncIterator[str]:
    """The demo fixtures, loaded for one test that writes."""
    await _load_demo()
    try:
        yield backend
    finally:
        await empty_database()


@pytest.fixture
def settings(backend: str) -> Settings:
    return Settings(
        database_url=backend,
        secret_key="test-secret-key-not-for-production",
        base_url="https://outreach.example.org",
    )


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, manage_database=False)


@pytest_asyncio.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://outreach.example.org") as c:
        yield c
