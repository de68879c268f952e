"""The bookmobile pages in Chromium at 390 px, in two languages: the map is drawn from the
list of stops under the pages' own Content-Security-Policy, nothing is asked of another
site (no tile server is configured), axe-core finds nothing and nothing overflows."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize

from tests.browser.conftest import PHONE, NewPage, axe_violations, overflow
from tests.servers import AppServer

# Every violation of the page's policy, as the browser reports it.
_CSP_WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


async def _enforcing_page(browser: Browser, server: AppServer) -> tuple[Page, list[str]]:
    """A page that obeys the Content-Security-Policy (the fixture's pages bypass it for
    axe), with every request it makes recorded."""
    phone = ViewportSize(width=PHONE["width"], height=PHONE["height"])
    context = await browser.new_context(base_url=server.base_url, viewport=phone)
    await context.add_init_script(_CSP_WATCH)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    return page, requested


async def _stop_page(page: Page) -> str:
    await page.goto("/maribor/bookmobile")
    href = await page.locator(
        'main ol.stops a[href^="/maribor/bookmobile/stops/"]'
    ).first.get_attribute("href")
    assert href is not None
    return href


@pytest.mark.parametrize("lang", ["sl", "mk"])
async def test_the_map_is_drawn_under_the_pages_policy(
    browser: Browser, demo_server: AppServer, lang: str
) -> None:
    page, requested = await _enforcing_page(browser, demo_server)
    try:
        for path in (f"/maribor/bookmobile?lang={lang}", await _stop_page(page)):
            requested.clear()
            await page.goto(path)
            await page.locator("#stops-map.leaflet-container").wait_for(state="visible")
            stops = await page.locator("[data-stop-list] li[data-lat]").count()
            markers = await page.locator("#stops-map path.leaflet-interactive").count()
            assert (stops > 0, markers) == (True, stops)
            violations: list[Any] = await page.evaluate("window.__violations")
            assert violations == []
            assert [url for url in requested if not url.startswith(demo_server.base_url)] == []
            assert await overflow(page) == 0
    finally:
        await page.context.close()


@pytest.mark.parametrize("locale", ["sl-SI", "fi-FI"])
async def test_the_bookmobile_pages_are_accessible(new_page: NewPage, locale: str) -> None:
    page = await new_page(locale=locale)
    stop = await _stop_page(page)
    for path in ("/maribor/bookmobile", stop):
        await page.goto(path)
        await page.locator("#stops-map.leaflet-container").wait_for(state="visible")
        assert await axe_violations(page) == []
        assert await overflow(page) == 0
