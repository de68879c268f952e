"""Test harness: every database test runs on SQLite and, when configured, on PostgreSQL.

Fixtures:
- ``backend``: a fresh, migrated database per backend for the whole session (a copy of
  the run's migrated template, tests/databases.py); Tortoise is initialised on it.
  PostgreSQL runs when ``OUTREACH_TEST_POSTGRES_URL`` is set and is skipped with a
  message otherwise.
- ``db``: a function-scoped clean database (every table emptied after the test).
- ``demo``: the demo fixtures loaded once per module; tests using it must not write.
- ``demo_rw``: the demo fixtures loaded for one test that may write.
- ``app`` / ``client``: the application and an ``httpx.AsyncClient`` speaking ASGI to it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from outreach.app import create_app
from outreach.settings import PROJECT_ROOT, Settings, tortoise_config
from tests.databases import (
    POSTGRES_ENV,
    drop_postgres,
    empty_database,
    end_run,
    migrated_postgres,
    migrated_sqlite,
    prebuild,
    start_run,
)

BACKENDS = ["sqlite", "postgres"]
TEMPLATES = pytest.StashKey[Path]()
BUILDERS = pytest.StashKey[list[subprocess.Popen[bytes]]]()


def pytest_configure(config: pytest.Config) -> None:
    """The run's migrated templates (tests/databases.py) live in a folder this process
    makes, unless it is an xdist worker, which uses its controller's. A controller of
    workers has them built while the workers start."""
    folder = start_run()
    if folder is not None:
        config.stash[TEMPLATES] = folder
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        config.stash[BUILDERS] = prebuild()
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(LongestGroupsFirst(), "outreach-longest-groups-first")


def pytest_unconfigure(config: pytest.Config) -> None:
    for builder in config.stash.get(BUILDERS, []):
        builder.wait()
    folder = config.stash.get(TEMPLATES, None)
    if folder is not None:
        end_run(folder)


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
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            # A module's SQLite and PostgreSQL tests are groups of their own: a worker
            # running one module on both would switch (tear down, set up) the
            # session's backend twice per module, and the two halves balance better.
            group = f"{group}[{callspec.params['backend']}]"
        item.add_marker(pytest.mark.xdist_group(group))


class LongestGroupsFirst:
    """An xdist worker's collection, which its controller hands out group by group in this
    order (``make test`` passes ``--no-loadscope-reorder``): the browser tests first, the
    longest group by far (one server and one Chromium for minutes), so the other worker
    takes the rest meanwhile, rather than it starting last and running on alone; then
    the groups with the most tests first, as xdist orders them by itself."""

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Iterator[None]:
        yield  # after every other hook: the groups are marked and the order is final
        groups = [_group(item) for item in items]
        sizes = Counter(groups)
        first = {group: index for index, group in reversed(list(enumerate(groups)))}
        order = sorted(
            range(len(items)),
            key=lambda i: (groups[i] != "browser", -sizes[groups[i]], first[groups[i]], i),
        )
        items[:] = [items[i] for i in order]


def _group(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return str(marker.args[0]) if marker is not None and marker.args else item.nodeid


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A migrated database of one backend, with Tortoise initialised on it."""
    name = None
    tmp = None
    if request.param == "postgres":
        base = os.environ.get(POSTGRES_ENV)
        if not base:
            pytest.skip(f"PostgreSQL pass skipped: {POSTGRES_ENV} is not set")
        name = f"outreach_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = await migrated_postgres(base, name)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="outreach-test-")
        url = await migrated_sqlite(Path(tmp.name) / "test.sqlite3")
    # Tortoise caches each model's SQL per connection name, in the dialect it first saw;
    # one process switching dialects (only tests do that) must start from a clean cache.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url))
    try:
        yield url
    finally:
        await Tortoise.close_connections()
        EXECUTOR_CACHE.clear()
        if name is not None:
            await drop_postgres(os.environ[POSTGRES_ENV], name)
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
