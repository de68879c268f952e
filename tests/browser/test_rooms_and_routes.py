"""In Chromium, in Slovenian: an editor makes a route with three stops and reorders them by
clicking, without JavaScript of ours; a patron asks for a room, a director approves it and
the patron erases their data through the mailed link. axe-core finds nothing on any of
these pages."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, axe_violations, mailed_link
from tests.servers import AppServer

WIDE = 1280


async def _sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/staff/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("main button[type=submit]")
    await page.wait_for_url(lambda url: "/staff/login" not in url)


async def _stop_names(page: Page) -> list[str]:
    return [
        await page.locator(f"#stop-{i}-name").input_value()
        for i in range(await page.locator("input[id$='-name'][id^='stop-']").count())
    ]


async def test_an_editor_makes_a_route_of_three_stops_and_reorders_them(
    new_page: NewPage,
) -> None:
    page = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(page, "editor@maribor.example", "demo-maribor-editor")
    await page.goto("/staff/bookmobile")
    await page.click("a[href='/staff/bookmobile/routes/new?library=maribor']")
    assert await page.locator("h1").first.inner_text() == "Nova proga · Mariborska knjižnica"
    assert await axe_violations(page) == []
    await page.fill("#code", "T3")
    await page.fill("#name", "Bibliobus preizkus")
    # On Sundays, when no demo route needs a vehicle.
    today = dt.datetime.now(ZoneInfo("Europe/Ljubljana")).date()
    sunday = today + dt.timedelta(days=6 - today.weekday())
    await page.select_option("#weekday", "SU")
    await page.fill("#valid_from", sunday.isoformat())
    stops = [
        ("Limbuš", "46.556", "15.586", "09:00", "30"),
        ("Bresternica", "46.572", "15.549", "10:00", "45"),
        ("Selnica ob Dravi", "46.552", "15.494", "11:30", "60"),
    ]
    for i, (name, lat, lon, arrival, minutes) in enumerate(stops):
        await page.fill(f"#stop-{i}-name", name)
        await page.fill(f"#stop-{i}-lat", lat)
        await page.fill(f"#stop-{i}-lon", lon)
        await page.fill(f"#stop-{i}-arrival", arrival)
        await page.fill(f"#stop-{i}-minutes_parked", minutes)
    await page.click("main form button[name=save]:not(.visually-hidden)")
    await page.wait_for_url(re.compile(r"/staff/bookmobile/routes/\d+$"), timeout=10_000)
    assert "Proga T3 je shranjena." in await page.locator("main").inner_text()
    assert await _stop_names(page) == ["Limbuš", "Bresternica", "Selnica ob Dravi"]
    assert await axe_violations(page) == []

    await page.click("button[aria-label='Premakni postajališče 1 dol']")
    assert await _stop_names(page) == ["Bresternica", "Limbuš", "Selnica ob Dravi"]
    assert await page.locator("#stop-0-arrival").input_value() == "09:00"
    await page.click("button[aria-label='Premakni postajališče 3 gor']")
    assert await _stop_names(page) == ["Bresternica", "Selnica ob Dravi", "Limbuš"]
    await page.locator("#stop-1-minutes_parked").fill("40")
    await page.click("main form button[name=save]:not(.visually-hidden)")
    await page.wait_for_url(re.compile(r"/staff/bookmobile/routes/\d+#stops$"))
    assert await _stop_names(page) == ["Bresternica", "Selnica ob Dravi", "Limbuš"]
    assert [await page.locator(f"#stop-{i}-arrival").input_value() for i in range(3)] == [
        "09:00",
        "10:00",
        "11:30",
    ]
    assert await axe_violations(page) == []
    await page.goto("/staff/bookmobile/import?library=maribor")
    assert await page.locator("h1").first.inner_text() == "Uvoz voznega reda · Mariborska knjižnica"
    assert await axe_violations(page) == []


async def test_a_patron_asks_for_a_room_a_director_approves_it_and_the_patron_erases_it(
    new_page: NewPage, demo_server: AppServer
) -> None:
    patron = await new_page(locale="sl-SI")
    await patron.goto("/kranj/rooms")
    assert await patron.locator("h1").inner_text() == "Prošnja za prostor"
    assert await axe_violations(patron) == []
    day = dt.datetime.now(ZoneInfo("Europe/Ljubljana")).date() + dt.timedelta(days=40)
    await patron.select_option(
        "#room", label="Dvorana (Mestna knjižnica Kranj – osrednja knjižnica)"
    )
    await patron.fill("#day", day.isoformat())
    await patron.fill("#start", "21:00")
    await patron.fill("#end", "22:00")
    await patron.fill("#attendees", "25")
    await patron.fill("#purpose", "Letni zbor Društva ljubiteljev knjige")
    await patron.fill("#name", "Ana Novak")
    await patron.fill("#email", "ana.novak@example.org")
    await patron.click("button[type=submit]")
    # Without consent the form comes back, naming the box in Slovenian.
    assert "Strinjajte se s hrambo svojih podatkov" in await patron.locator("main").inner_text()
    assert await axe_violations(patron) == []
    await patron.check("#consent")
    await patron.click("button[type=submit]")
    await patron.wait_for_load_state()
    assert "sent=1" in patron.url, await patron.locator("main").inner_text()
    assert "Hvala: vaša prošnja je poslana." in await patron.locator("main").inner_text()

    director = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(director, "director@kranj.example", "demo-kranj-director")
    await director.goto("/staff/rooms/requests")
    card = director.locator("section.card", has_text="Letni zbor Društva ljubiteljev knjige")
    assert "ana.novak@example.org" in await card.inner_text()
    assert await axe_violations(director) == []
    await card.locator("textarea").fill("Ključ dobite na izposoji.")
    await card.locator("button[name=approve]").click()
    await director.wait_for_url(re.compile(r"/staff/rooms/requests$"))
    assert (
        "Prošnja je odobrena: prostor je rezerviran." in await director.locator("main").inner_text()
    )
    await patron.goto(f"/kranj/rooms?from={day.isoformat()}")
    taken = patron.locator("section.card", has_text="Dvorana").locator("tbody tr").first
    assert "21:00" in await taken.inner_text()
    assert "Letni zbor" not in await patron.locator("main").inner_text()

    # The requester erases their data through the mailed link: the first press only says
    # what goes and what becomes of the booking; confirmed, the room is free again.
    await patron.goto(
        mailed_link(demo_server, "ana.novak@example.org", r"/kranj/rooms/requests/[\w.-]+")
    )
    await patron.get_by_role("button", name="Izbriši moje podatke zdaj").click()
    await expect(patron.locator("h1")).to_have_text("Izbrisati vaše podatke?")
    asked = await patron.locator("main").inner_text()
    assert "vaše ime: Ana Novak" in asked
    assert "Vaša rezervacija bo nato umaknjena: prostor bo takrat prost za druge." in asked
    assert await axe_violations(patron) == []
    await patron.get_by_role("button", name="Da, izbriši moje podatke").click()
    await expect(patron.get_by_text("Vaši podatki so izbrisani.")).to_be_visible()
    await patron.goto(f"/kranj/rooms?from={day.isoformat()}")
    free = patron.locator("section.card", has_text="Dvorana").locator("tbody tr").first
    assert "21:00" not in await free.inner_text()
