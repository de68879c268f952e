"""The programme in Chromium at 390 px: a patron searches by part of a word with the form
(no JavaScript needed), subscribes to what they found, and reads the week and month
views and a page of problems; every page without axe violations or sideways overflow."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.conftest import axe_violations, overflow


async def test_a_patron_finds_a_workshop_by_part_of_its_name(page: Page) -> None:
    await page.goto("/maribor/events?lang=sl")
    await page.get_by_label("Iskanje po naslovih in opisih").fill("stripovsk")
    await page.get_by_label("Vrsta dogodka").select_option(label="Delavnica")
    await page.get_by_role("button", name="Prikaži dogodke").click()
    await page.wait_for_url("**/maribor/events?*q=stripovsk*")
    first = page.locator("main a.title").first
    assert (await first.inner_text()).startswith("Stripovska delavnica za mlade")
    address = await page.locator("input.copy").input_value()
    assert address.endswith("/feeds/maribor.ics?kind=workshop&q=stripovsk")
    assert await axe_violations(page) == []
    assert await overflow(page) == 0
    await page.get_by_role("link", name="Mesec", exact=True).click()
    assert await page.locator("table.month").count() == 1
    assert await axe_violations(page) == []
    assert await overflow(page) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/rovaniemi/events?lang=fi&view=month&date=2026-11-01",
        "/skopje/events?lang=mk&view=week&date=2026-10-26",
        "/kranj/events?lang=en&view=month&date=2026-11-01&kind=workshop",
        "/kranj/events?lang=sl&branch=nowhere&from=2026-13-01",
    ],
)
async def test_views_and_problems_are_accessible_on_a_phone(page: Page, path: str) -> None:
    response = await page.goto(path)
    assert response is not None
    assert response.status == (400 if "nowhere" in path else 200)
    assert await axe_violations(page) == []
    assert await overflow(page) == 0
