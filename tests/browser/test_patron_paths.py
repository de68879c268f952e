"""A patron's way through the public pages in Chromium, in Slovenian and in Macedonian:
open a library, switch language, open an event, download its .ics, and meet no English
word of the interface on the way."""

from __future__ import annotations

import re
from pathlib import Path

from icalendar import Calendar
from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, axe_violations, mailed_link, overflow
from tests.servers import AppServer

# Interface words of the English pages that must not show through a translated one.
ENGLISH = (
    "Programme",
    "Branches",
    "Coming dates",
    "Add to calendar",
    "Cancelled",
    "Where",
    "Subscribe",
    "Language",
    "Libraries",
)


async def _no_english(page: Page) -> None:
    text = await page.locator("main").inner_text()
    found = [word for word in ENGLISH if re.search(rf"\b{word}\b", text)]
    assert found == [], f"English on {page.url}: {found}"


async def _download_first_date(page: Page, tmp_path: Path) -> Calendar:
    first = page.locator("ul.coming > li").filter(has=page.locator("details")).first
    await first.locator("summary").click()
    async with page.expect_download() as waiting:
        await first.locator('a[type="text/calendar"]').click()
    download = await waiting.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    return Calendar.from_ical(target.read_bytes())


async def _open_first_event(page: Page) -> str:
    link = page.locator('main a[href*="/events/"]').filter(has_not_text=".ics").first
    await link.click()
    await page.wait_for_load_state()
    title = await page.locator("h1").inner_text()
    return title.strip()


async def test_slovenian_patron_from_the_index_to_a_calendar_file(
    new_page: NewPage, demo_server: AppServer, tmp_path: Path
) -> None:
    page = await new_page(locale="sl-SI")
    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "sl")
    await expect(page.locator("h1")).to_have_text("Knjižnice")
    await page.get_by_role("link", name="Mestna knjižnica Kranj").click()
    await expect(page.locator("h2").first).to_have_text("Enote")
    await _no_english(page)
    # Kranj has no bookmobile route, so no bookmobile link.
    assert await page.locator('a[href="/kranj/bookmobile"]').count() == 0
    await page.get_by_role("link", name="Program", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/kranj/events"))
    # Without BASE_URL the subscribe box links to the address (and port) the browser used,
    # with its QR code named for screen readers.
    feed = await page.locator("input.copy").first.input_value()
    assert feed.startswith(f"{demo_server.base_url}/feeds/kranj.ics")
    qr = page.locator("figure.qr svg").first
    assert await qr.get_attribute("role") == "img"
    assert feed in (await qr.get_attribute("aria-label") or "")
    title = await _open_first_event(page)
    await expect(page.get_by_role("heading", name="Prihodnji termini")).to_be_visible()
    await _no_english(page)
    assert await axe_violations(page) == []
    assert await overflow(page) == 0
    cal = await _download_first_date(page, tmp_path)
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == title
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Ljubljana"]


async def test_macedonian_patron_switches_language_and_it_holds(page: Page, tmp_path: Path) -> None:
    await page.goto("/skopje/")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_role("link", name="Македонски").click()
    await expect(page.locator("html")).to_have_attribute("lang", "mk")
    await expect(page.get_by_role("link", name="Македонски")).to_have_attribute(
        "aria-current", "true"
    )
    await _no_english(page)
    # The cookie keeps the choice on the next pages, which have no ?lang= of their own.
    await page.get_by_role("link", name="Програма", exact=True).click()
    await expect(page.locator("html")).to_have_attribute("lang", "mk")
    title = await _open_first_event(page)
    await expect(page.locator("html")).to_have_attribute("lang", "mk")
    await expect(page.get_by_role("heading", name="Претстојни термини")).to_be_visible()
    await _no_english(page)
    cal = await _download_first_date(page, tmp_path)
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == title
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Skopje"]


async def test_the_library_home_links_the_bookmobile_only_where_there_are_routes(
    page: Page,
) -> None:
    await page.goto("/maribor/?lang=sl")
    await page.get_by_role("link", name="Bibliobus").click()
    await expect(page).to_have_url(re.compile(r"/maribor/bookmobile"))


async def test_a_missing_page_is_a_page_in_the_readers_language(new_page: NewPage) -> None:
    page = await new_page(locale="fi-FI")
    response = await page.goto("/rovaniemi/events/999999")
    assert response is not None
    assert response.status == 404
    await expect(page.locator("h1")).to_have_text("Sivua ei löydy")
    await expect(page.locator("main p").first).to_have_text(
        "Tätä tapahtumaa ei ole, tai se ei ole julkinen."
    )
    assert await axe_violations(page) == []
    assert await overflow(page) == 0


async def test_slovenian_patron_asks_for_a_room_registers_and_cancels(
    new_page: NewPage, demo_server: AppServer
) -> None:
    """From the library's home: the room request page by its link, then an event's
    registration with the age bands by name, and its cancellation through the mailed link."""
    page = await new_page(locale="sl-SI")
    await page.goto("/kranj/")
    await page.get_by_role("link", name="Prošnja za prostor").click()
    await expect(page).to_have_url(re.compile(r"/kranj/rooms"))
    await expect(page.locator("h1")).to_have_text("Prošnja za prostor")
    await page.go_back()
    await page.get_by_role("link", name="Program", exact=True).click()
    await page.get_by_role("link", name="Pravljična ura").first.click()
    await page.get_by_role("link", name="Preverite prosta mesta in se prijavite").click()
    await _no_english(page)
    await page.fill("#name", "Mojca")
    await page.fill("#email", "mojca@example.org")
    await page.fill("#party_size", "2")
    await page.get_by_label("Od 0 do 5 let").fill("1")
    await page.get_by_label("Odrasli").fill("1")
    assert await page.locator("label", has_text="0-5").count() == 0
    await page.check("input[name=consent]")
    assert await axe_violations(page) == []
    await page.click("main button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Preverite e-pošto")
    await page.goto(
        mailed_link(demo_server, "mojca@example.org", r"/\w[\w-]*/registrations/[\w.-]+")
    )
    await expect(page.get_by_text("Imate mesto.")).to_be_visible()
    await page.get_by_role("button", name="Prekliči mojo prijavo").click()
    await expect(page.get_by_text("Vaša prijava je preklicana.")).to_be_visible()
    assert await axe_violations(page) == []
