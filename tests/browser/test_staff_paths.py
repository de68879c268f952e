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
