"""The bookmobile pages in Chromium at 390 px, in Macedonian and Finnish: the map is drawn from the
list of stops under the pages' own Content-Security-Policy, nothing is asked of another
site (no tile server is configured), axe-core finds nothing and nothing overflows."""

from __future__ import annotations

from typing import Any

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


async def test_the_map_is_drawn_under_the_pages_policy(
    browser: Browser, demo_server: AppServer
) -> None:
    page, requested = await _enforcing_page(browser, demo_server)
    try:
        # Macedonian from the switch's ?lang= on, kept by its cookie on the stop page.
        for path in ("/maribor/bookmobile?lang=mk", await _stop_page(page)):
            requested.clear()
            await page.goto(path)
            await page.locator("#stops-map.leaflet-container").wait_for(state="visible")
            assert await page.locator("html").get_attribute("lang") == "mk"
            stops = await page.locator("[data-stop-list] li[data-lat]").count()
            markers = await page.locator("#stops-map path.leaflet-interactive").count()
            assert (stops > 0, markers) == (True, stops)
            violations: list[Any] = await page.evaluate("window.__violations")
            assert violations == []
            assert [url for url in requested if not url.startswith(demo_server.base_url)] == []
            assert await overflow(page) == 0
    finally:
        await page.context.close()


async def test_a_stop_page_is_accessible(new_page: NewPage) -> None:
    """In Finnish, from the browser's language (the bookmobile page itself is among the
    public pages test_public_pages.py checks, in Slovenian)."""
    page = await new_page(locale="fi-FI")
    await page.goto(await _stop_page(page))
    await page.locator("#stops-map.leaflet-container").wait_for(state="visible")
    assert await page.locator("html").get_attribute("lang") == "fi"
    assert await axe_violations(page) == []
    assert await overflow(page) == 0
