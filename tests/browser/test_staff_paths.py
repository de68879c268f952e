"""Each staff role's daily path in Chromium, in Slovenian, by clicking from the sign-in
page: an editor creates a draft and submits it, a director approves it, a coordinator
opens the network's report, an admin revokes a token. axe-core finds nothing on any of
these pages, and no page shows an id or a UTC time where a person reads it."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page

from tests.browser.conftest import NewPage, axe_violations
from tests.servers import AppServer

WIDE = 1280
TZ = ZoneInfo("Europe/Ljubljana")
TITLE = "Pravljična ura za preizkus"


async def _sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/staff/login")
    assert await axe_violations(page) == []
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("main button[type=submit]")
    await page.wait_for_url(lambda url: "/staff/login" not in url)


async def _nav(page: Page) -> list[str]:
    return [
        text.strip()
        for text in await page.locator("header.site nav:not(.languages) a").all_inner_texts()
    ]


async def test_an_editor_submits_a_draft_and_the_director_approves_it(
    new_page: NewPage, demo_server: AppServer
) -> None:
    editor = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(editor, "editor@kranj.example", "demo-kranj-editor")
    assert await editor.locator("h1").inner_text() == "Dobrodošli, Maja Novak"
    assert await axe_violations(editor) == []
    assert await _nav(editor) == [
        "Program",
        "Nov dogodek",
        "Bibliobus",
        "Prošnje za prostore",
        "Partnerji",
        "Storitve izven knjižnice",
        "Moj koledarski vir",
    ]
    await editor.click("header.site >> text=Nov dogodek")
    await editor.wait_for_url(re.compile(r"/staff/events/new"))
    assert await axe_violations(editor) == []
    day = dt.datetime.now(TZ).date() + dt.timedelta(days=30)
    await editor.select_option("#kind", "storytime")
    await editor.fill("#title_sl", TITLE)
    await editor.fill("#start_date", day.isoformat())
    await editor.fill("#start_time", "17:00")
    await editor.fill("#end_date", day.isoformat())
    await editor.fill("#end_time", "18:00")
    await editor.select_option("#branch", "osrednja")
    # The room list follows the branch: only the main library's rooms are offered.
    offered = await editor.locator("#room option:not([hidden])").all_inner_texts()
    assert offered[0] == "Brez prostora"
    assert all("sedež" in text for text in offered[1:])
    await editor.select_option("#status", "draft")
    await editor.click("main form button[type=submit] >> text=Ustvari dogodek")
    await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))
    assert await editor.locator("h1").inner_text() == TITLE
    assert await axe_violations(editor) == []
    await editor.fill("#submit-note", "Prosim za objavo v decembrskem programu.")
    await editor.click("text=Oddaj v odobritev")
    await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))
    assert "Oddano v odobritev; čaka na direktorja." in await editor.inner_text("main")
    event_url = editor.url

    director = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(director, "director@kranj.example", "demo-kranj-director")
    assert "Nov dogodek" not in await _nav(director)
    assert "1 dogodek čaka na vašo odobritev." in await director.inner_text("main")
    await director.click("header.site >> text=Odobritve")
    await director.wait_for_url(re.compile(r"/staff/approvals$"))
    assert await axe_violations(director) == []
    card = director.locator("section.card", has_text=TITLE)
    assert "Prosim za objavo v decembrskem programu." in await card.inner_text()
    await card.locator("button", has_text="Odobri in objavi").click()
    await director.wait_for_url(re.compile(r"/staff/approvals$"))
    assert "Odobreno: dogodek je objavljen, kot je bil oddan." in await director.inner_text("main")
    assert await axe_violations(director) == []

    await editor.goto(event_url)
    shown = await editor.inner_text("main")
    assert "objavljeno" in shown
    assert "Odobril direktor." in shown
    # The times a person reads are local and in words: no UTC instant, no internal code.
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\bZ\b|storytime|in_person", shown)
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        programme = await client.get("/kranj/events", headers={"Accept-Language": "sl"})
    assert TITLE in programme.text


async def test_a_coordinator_opens_the_network_report(new_page: NewPage) -> None:
    page = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(page, "coordinator@ook-slovenija.example", "demo-ook-slovenija-coordinator")
    assert await _nav(page) == ["Program", "Poročila", "Moj koledarski vir"]
    await page.click("header.site >> text=Poročila")
    await page.wait_for_url(re.compile(r"/staff/reports/coverage\?network=ook-slovenija"))
    assert await page.locator("h1").count() == 1


async def _token(demo_server: AppServer, email: str) -> str:
    command = Path(sys.executable).with_name("outreach")
    process = await asyncio.create_subprocess_exec(
        str(command), "tokens", "create", email, "--name", "urnik",
        env=demo_server.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0
    return out.decode().strip()


async def test_an_admin_revokes_a_token(new_page: NewPage, demo_server: AppServer) -> None:
    secret = await _token(demo_server, "editor@maribor.example")
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        assert (
            await client.get("/api/approvals?library=maribor", headers=bearer)
        ).status_code == 200
    page = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(page, "admin@outreach.example", "demo-admin")
    await page.click("header.site >> text=Uporabniki in žetoni")
    await page.wait_for_url(re.compile(r"/staff/users$"))
    assert await axe_violations(page) == []
    await page.click("button:has-text('Prekliči »urnik«')")
    await page.wait_for_url(re.compile(r"/staff/users$"))
    assert "Žeton »urnik« je preklican." in await page.inner_text("main")
    assert await axe_violations(page) == []
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        assert (
            await client.get("/api/approvals?library=maribor", headers=bearer)
        ).status_code == 401


async def test_the_private_feed_page_and_the_language_switch(new_page: NewPage) -> None:
    page = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(page, "editor@kranj.example", "demo-kranj-editor")
    await page.click("header.site >> text=Moj koledarski vir")
    assert await axe_violations(page) == []
    await page.click("text=Ustvari naslov mojega vira")
    address = await page.locator("#feed-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/staff/calendar/otk_[\w-]+\.ics", address)
    assert await axe_violations(page) == []
    # The switch keeps the choice for the account: the next page is Finnish too.
    await page.click("nav.languages >> text=suomi")
    assert await page.locator("h1").inner_text() == "Oma kalenterisyötteeni"
    await page.click("header.site >> text=Ohjelma")
    assert await page.locator("h1").inner_text() == "Ohjelma"
    assert await axe_violations(page) == []


async def _main_text(page: Page) -> str:
    return await page.locator("main").inner_text()


async def test_a_kranj_editor_runs_a_series_and_a_bookmobile_route_in_slovenian(
    new_page: NewPage,
) -> None:
    """The editor's day: the programme's rules in words, a weekly series with goals, one
    date moved, the series cancelled after a confirmation; a vehicle with a published
    factor, a route of four stops, a shorter order proposed and applied, all in Slovenian."""
    page = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(page, "editor@kranj.example", "demo-kranj-editor")
    # Another test leaves this account in Finnish: the switch, as the editor would.
    await page.click("nav.languages >> text=Slovenščina")
    assert await page.locator("main table tbody td").first.inner_text() == "Mestna knjižnica Kranj"
    await page.click("header.site >> text=Program")
    row = page.locator("tr", has_text="Knjižnica na obisku: Dom upokojencev Kranj")
    assert "vsak drugi torek v mesecu do 8. junija 2027" in await row.inner_text()
    assert "FREQ=" not in await _main_text(page)

    await page.click("header.site >> text=Nov dogodek")
    assert "Professional excellence" not in await _main_text(page)
    saturday = dt.datetime.now(TZ).date() + dt.timedelta(days=40)
    saturday += dt.timedelta(days=(5 - saturday.weekday()) % 7)
    await page.select_option("#kind", "workshop")
    await page.fill("#title_sl", "Sobotna ustvarjalnica za preizkus")
    await page.fill("#start_date", saturday.isoformat())
    await page.fill("#start_time", "10:00")
    await page.fill("#end_date", saturday.isoformat())
    await page.fill("#end_time", "11:30")
    await page.check("input[name=repeat][value=weekly]")
    await page.fill("#repeat_count", "4")
    await page.select_option("#branch", "osrednja")
    await page.check("input[name=tags][value='goal:kranj:P2']")
    await page.check("input[name=tags][value='goal:kranj:P6']")
    await page.click("main form button[type=submit] >> text=Ustvari dogodek")
    await page.wait_for_url(re.compile(r"/staff/events/\d+$"))
    shown = await _main_text(page)
    assert "vsako soboto, skupaj 4-krat" in shown
    assert "P2 Informacijsko opismenjevanje za vse generacije" in shown
    second = page.locator("#occ-2")
    await second.locator("summary").click()
    sunday = saturday + dt.timedelta(days=8)
    await second.locator("input[name=start]").fill(f"{sunday}T10:00")
    await second.locator("input[name=end]").fill(f"{sunday}T11:30")
    await second.locator("button", has_text="Prestavi").click()
    await page.wait_for_load_state()
    assert "prestavljeno s sob.," in await page.locator("#occ-2").inner_text()
    assert await axe_violations(page) == []
    await page.click("text=Odpovej celoten dogodek …")
    assert await page.locator("h1").inner_text() == "Odpovem celoten dogodek?"
    assert "S tem odpoveste vse 4 prihodnje izvedbe." in await _main_text(page)
    assert await axe_violations(page) == []
    await page.click("text=Da, odpovej celoten dogodek")
    await page.wait_for_url(re.compile(r"/staff/events/\d+$"))
    cancelled = await _main_text(page)
    assert "Dogodek je odpovedan. Ostane v programu, označen kot odpovedan." in cancelled
    assert await page.locator("h1.status-cancelled").count() == 1

    await page.click("header.site >> text=Bibliobus")
    await page.click("text=Dodaj vozilo")
    await page.fill("#name", "Bibliobus Gorenjska")
    await page.fill("#slug", "bibliobus-gorenjska")
    await page.fill("#registration", "KR BB-515")
    assert await page.locator("label[for=registration]").inner_text() == "Registrska številka"
    await page.select_option("#fuel", "diesel")
    await page.select_option(
        "#emission_factor", "desnz-2024-hgv-diesel-rigid-3.5-7.5t-average-laden"
    )
    await page.click("main form button[type=submit]")
    await page.wait_for_url(re.compile(r"/staff/bookmobile(\?.*)?$"))
    assert "Vozilo Bibliobus Gorenjska je dodano." in await _main_text(page)

    await page.click("text=Dodaj progo")
    await page.fill("#code", "G5")
    await page.fill("#name", "Gorenjske vasi")
    await page.select_option("#vehicle", label="Bibliobus Gorenjska (KR BB-515)")
    await page.select_option("#weekday", "WE")
    await page.fill("#valid_from", (saturday + dt.timedelta(days=4)).isoformat())
    await page.click("button[name=add]")
    stops = [
        ("Golnik", "46.332", "14.333", "09:00"),
        ("Britof", "46.265", "14.380", "10:00"),
        ("Šenčur", "46.243", "14.419", "11:00"),
        ("Naklo", "46.274", "14.317", "12:00"),
    ]
    for i, (name, lat, lon, arrival) in enumerate(stops):
        await page.fill(f"#stop-{i}-name", name)
        await page.fill(f"#stop-{i}-lat", lat)
        await page.fill(f"#stop-{i}-lon", lon)
        await page.fill(f"#stop-{i}-arrival", arrival)
        await page.fill(f"#stop-{i}-minutes_parked", "30")
    await page.click("main form button[name=save]:not(.visually-hidden)")
    await page.wait_for_url(re.compile(r"/staff/bookmobile/routes/\d+"))
    assert await page.locator("h1").inner_text() == "G5 Gorenjske vasi"
    assert "čaka na direktorjevo odobritev" in await _main_text(page)
    await page.fill("#tolerance", "180")
    await page.click("text=Predlagaj")
    await page.wait_for_load_state()
    proposal = await _main_text(page)
    assert "Razdalje: zračna razdalja × faktor ovinkov 1,3." in proposal
    assert "great-circle" not in proposal
    assert await axe_violations(page) == []
    await page.click("form[action$='/apply'] button")
    await page.wait_for_load_state()
    assert "Novi vrstni red postajališč je shranjen" in await _main_text(page)
    names = [await page.locator(f"#stop-{i}-name").input_value() for i in range(4)]
    assert sorted(names) == sorted(name for name, *_ in stops)
    assert names != [name for name, *_ in stops]


async def test_a_skopje_director_reads_the_coverage_report_in_macedonian(
    new_page: NewPage,
) -> None:
    page = await new_page(locale="mk-MK", width=WIDE)
    await _sign_in(page, "director@skopje.example", "demo-skopje-director")
    assert await _nav(page) == [
        "Програма",
        "Одобрувања",
        "Подвижна библиотека",
        "Извештаи",
        "Барања за простории",
        "Мојот календарски канал",
    ]
    assert await page.locator("main table tbody td").first.inner_text() == (
        "Градска библиотека Скопје"
    )
    await page.click("header.site >> text=Програма")
    row = page.locator("tr", has_text="Фестивал на детската книга")
    assert "секој ден, вкупно 3 пати" in await row.inner_text()
    await page.click("header.site >> text=Извештаи")
    await page.wait_for_url(re.compile(r"/staff/reports/coverage"))
    assert await page.locator("h1").inner_text() == "Извештај за покриеност"
    headings = await page.locator("figure.chart svg text").all_text_contents()
    assert {"Од 0 до 5 години", "Сите возрасти", "Семејства"} <= set(headings)
    assert not {"0-5", "all", "families", "seniors", "staff"} & set(headings)
    partners = page.locator("table", has_text="Универзитет „Св. Кирил и Методиј“ во Скопје")
    assert await partners.count() == 1
    assert "kg CO2e" in await _main_text(page)
    assert await axe_violations(page) == []


async def test_the_lapland_coordinator_reads_the_network_in_finnish_and_opens_the_feed(
    new_page: NewPage,
) -> None:
    page = await new_page(locale="fi-FI", width=WIDE)
    await _sign_in(page, "coordinator@lapin-kirjasto.example", "demo-lapin-kirjasto-coordinator")
    assert await _nav(page) == ["Ohjelma", "Raportit", "Oma kalenterisyötteeni"]
    await page.click("header.site >> text=Raportit")
    await page.wait_for_url(re.compile(r"network=lapin-kirjasto"))
    report = await _main_text(page)
    assert "Kirjastojen vertailu" in report
    row = page.locator("tr", has_text="A1 Kirjaston prosesseja kehitetään")
    assert re.search(r"\d+\xa0% / 5\xa0% osuus tunneista", await row.last.inner_text())
    headings = await page.locator("figure.chart svg text").all_text_contents()
    assert {"0–5-vuotiaat", "Kaikenikäiset", "Henkilökunta"} <= set(headings)
    await page.click("header.site >> text=Oma kalenterisyötteeni")
    await page.click("main button[type=submit]")
    address = await page.locator("#feed-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/staff/calendar/otk_[\w-]+\.ics", address)
    assert await axe_violations(page) == []


async def test_an_admin_makes_a_token_by_clicking_and_it_works(
    new_page: NewPage, demo_server: AppServer
) -> None:
    page = await new_page(locale="en-GB", width=WIDE)
    await _sign_in(page, "admin@outreach.example", "demo-admin")
    await page.click("header.site >> text=Users and tokens")
    card = page.locator("section.card", has_text="editor@rovaniemi.example")
    await card.get_by_label("New token for Laura Niemelä: what it is for").fill("Verkkosivu")
    await card.locator("button", has_text="Make a token").click()
    await page.wait_for_load_state()
    assert "The token “Verkkosivu” is made." in await _main_text(page)
    assert await axe_violations(page) == []
    secret = await page.locator("#new-token").input_value()
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        listed = await client.get("/api/approvals?library=rovaniemi", headers=bearer)
    assert listed.status_code == 200
    await page.click("header.site >> text=Users and tokens")
    assert secret not in await page.content()
    await page.click("button:has-text('Revoke “Verkkosivu”')")
    assert "The token “Verkkosivu” is revoked." in await _main_text(page)
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        listed = await client.get("/api/approvals?library=rovaniemi", headers=bearer)
    assert listed.status_code == 401


def _demo_database(demo_server: AppServer) -> str:
    url = demo_server.env["DATABASE_URL"]
    return url.removeprefix("sqlite://").split("?", 1)[0]


def _set_approval(demo_server: AppServer, library: str, policy: str) -> str:
    """Set a demo library's approval rule (no staff page sets it); the rule it had."""
    with sqlite3.connect(_demo_database(demo_server)) as db:
        (before,) = db.execute("SELECT approval FROM library WHERE slug = ?", (library,)).fetchone()
        db.execute("UPDATE library SET approval = ? WHERE slug = ?", (policy, library))
    return str(before)


async def _public_starts(demo_server: AppServer, path: str) -> list[str]:
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        page = await client.get(path, headers={"Accept-Language": "sl"})
    assert page.status_code == 200
    return re.findall(r'<time datetime="([^"]+)"', page.text)


async def test_a_moved_occurrence_waits_until_the_director_approves_it(
    new_page: NewPage, demo_server: AppServer
) -> None:
    before = _set_approval(demo_server, "maribor", "all_changes")
    try:
        editor = await new_page(locale="sl-SI", width=WIDE)
        await _sign_in(editor, "editor@maribor.example", "demo-maribor-editor")
        await editor.click("header.site >> text=Program")
        await editor.click("main a >> text=Bralni krožek za starejše")
        await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))
        event_id = editor.url.rsplit("/", 1)[1]
        public = f"/maribor/events/{event_id}"
        published = await _public_starts(demo_server, public)
        row = editor.locator("#occ-2")
        await row.locator("summary").click()
        start = await row.locator("input[name=start]").input_value()
        end = await row.locator("input[name=end]").input_value()
        later = [
            (dt.datetime.fromisoformat(value) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            for value in (start, end)
        ]
        await row.locator("input[name=start]").fill(later[0])
        await row.locator("input[name=end]").fill(later[1])
        await row.locator("button", has_text="Prestavi").click()
        await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))
        shown = await editor.inner_text("main")
        assert "čaka na odobritev direktorja; izvedba ostaja nespremenjena." in shown
        assert "Sprememba čaka na direktorja" in shown
        assert await axe_violations(editor) == []
        # The public still sees the approved time, on the page and in the feed.
        assert await _public_starts(demo_server, public) == published

        director = await new_page(locale="sl-SI", width=WIDE)
        await _sign_in(director, "director@maribor.example", "demo-maribor-director")
        await director.click("text=1 dogodek čaka na vašo odobritev.")
        await director.wait_for_url(re.compile(r"/staff/approvals$"))
        card = director.locator("section.card", has_text="Bralni krožek za starejše")
        words = await card.inner_text()
        old_clock, new_clock = start[11:16], later[0][11:16]
        assert old_clock in words
        assert new_clock in words
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\bZ\b", words)
        assert await axe_violations(director) == []
        await card.locator("button", has_text="Odobri spremembo").click()
        await director.wait_for_url(re.compile(r"/staff/approvals$"))
        assert "Odobreno: sprememba je objavljena." in await director.inner_text("main")

        moved = await _public_starts(demo_server, public)
        assert moved[0] == published[0]
        assert moved[1].startswith(later[0])
        assert moved[2:] == published[2:]
    finally:
        _set_approval(demo_server, "maribor", before)
