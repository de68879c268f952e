"""Browser tests: Debian's Chromium driven by playwright against a real server process
with the demo fixtures, and axe-core injected into the pages.

Fixtures:
- ``demo_server``: one ``uvicorn`` process for the whole session on a SQLite file loaded
  with the demo fixtures (a copy of the run's database migrated by ``outreach migrate``,
  tests/databases.py, then ``outreach load-fixtures``, as ``make run`` does). No
  BASE_URL, so links follow the address the browser used.
- ``browser``: Chromium (``/usr/bin/chromium``), launched once per session.
- ``page``: a fresh context (no cookies) per test, 390 px wide like a phone, whose
  relative URLs go to ``demo_server``; ``new_page(locale=...)`` opens more, e.g. with
  another ``Accept-Language``.

Helpers: ``await axe_violations(page)`` (axe-core's violations, as short dicts) and
``await overflow(page)`` (how many pixels the document is wider than the viewport).

Without Chromium, playwright or axe-core (``make test`` installs them) every browser test
is skipped with a message saying which is missing. They run on SQLite only: the pages read
what the database-level tests already check on both databases, and one more server
session would double their time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from tests.databases import migrated_sqlite
from tests.servers import AppServer

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Debian's Chromium ({CHROMIUM}) is not installed"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not AXE.exists():
        return "axe-core is not installed (npm ci --prefix tests/browser)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing()
    if missing is None:
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {missing} (make test installs it)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(skip)


async def _outreach(*args: str, env: dict[str, str]) -> None:
    command = Path(sys.executable).with_name("outreach")
    process = await asyncio.create_subprocess_exec(
        str(command),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"outreach {' '.join(args)} failed: {out.decode(errors='replace')}")


@pytest_asyncio.fixture(scope="session")
async def demo_server() -> AsyncIterator[AppServer]:
    """The app under uvicorn on the demo fixtures, for every browser test of the session."""
    folder = Path(tempfile.mkdtemp(prefix="outreach-browser-"))
    try:
        database_url = await migrated_sqlite(folder / "demo.sqlite3")
        env = {**os.environ, "DATABASE_URL": database_url}
        env.pop("BASE_URL", None)
        await _outreach("load-fixtures", env=env)
        async with AppServer(database_url, BASE_URL="") as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        # No sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
        launched = await driver.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


NewPage = Callable[..., Awaitable["Page"]]


@pytest_asyncio.fixture
async def new_page(browser: Browser, demo_server: AppServer) -> AsyncIterator[NewPage]:
    """Opens a page in a context of its own: ``await new_page(locale="mk-MK")``."""
    contexts = []

    async def open_page(*, locale: str | None = None, width: int = PHONE["width"]) -> Page:
        options: dict[str, Any] = {
            "base_url": demo_server.base_url,
            "viewport": {"width": width, "height": PHONE["height"]},
            "accept_downloads": True,
            # axe-core is injected as a script of its own; a page's Content-Security-Policy
            # (rightly) forbids that, and is itself checked over HTTP, not here.
            "bypass_csp": True,
        }
        if locale is not None:
            options["locale"] = locale
        context = await browser.new_context(**options)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


@pytest_asyncio.fixture
async def page(new_page: NewPage) -> Page:
    """A fresh page, 390 px wide, in a context with no cookies."""
    return await new_page()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now: rule, impact, help and the nodes."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    return found


async def overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when it fits)."""
    excess: int = await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return max(excess, 0)


def mailed_link(server: AppServer, email: str, path: str) -> str:
    """The path matching the pattern ``path`` in the newest notice to ``email`` that has
    one, as the server's outbox holds it (a registration's or a room request's own link)."""
    database = server.env["DATABASE_URL"].removeprefix("sqlite://").split("?")[0]
    with closing(sqlite3.connect(database)) as db:
        texts = db.execute(
            "SELECT text FROM notice WHERE recipient = ? ORDER BY id DESC", (email,)
        ).fetchall()
    found = [match.group(0) for (text,) in texts if (match := re.search(path, text or ""))]
    assert found, f"no notice to {email} holds {path}"
    return found[0]
