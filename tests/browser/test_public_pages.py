"""The index, the library homes and the event pages in Chromium at 390 px: no
accessibility violation (axe-core) and nothing wider than the phone's screen. The
programme and bookmobile pages have theirs in test_programme.py and test_bookmobile.py, an
error page and Kranj's event page in test_patron_paths.py."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.conftest import axe_violations, overflow

# Kranj's home and event page are on the Slovenian path (test_patron_paths.py).
PAGES = ["/", "/maribor/", "/skopje/?lang=mk"]


async def _first_event(page: Page, library: str) -> str:
    await page.goto(f"/{library}/events")
    href = await page.locator(f'main a[href^="/{library}/events/"]').first.get_attribute("href")
    assert href is not None
    return href


@pytest.mark.parametrize("path", PAGES)
async def test_public_page_is_accessible_and_fits_a_phone(page: Page, path: str) -> None:
    await page.goto(path)
    assert await axe_violations(page) == []
    assert await overflow(page) == 0


@pytest.mark.parametrize("library", ["skopje", "rovaniemi"])
async def test_event_page_is_accessible_and_fits_a_phone(page: Page, library: str) -> None:
    await page.goto(await _first_event(page, library))
    assert await axe_violations(page) == []
    assert await overflow(page) == 0
