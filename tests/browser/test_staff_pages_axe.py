"""axe-core finds nothing on any staff page, in Slovenian.

The pages are the app's own GET routes under /staff/, so a new staff page cannot be
forgotten: each role signs in once and opens every route it may see that no earlier role
has checked; a route's path parameters are filled from the links of the pages already
opened (the first event, partner, vehicle and route the demo data lists). The logout is
POST-only and the private calendar is a feed, not a page. The coverage report falls to the
director (editors may not see it); beyond the routes come the event form showing a
refusal and the coordinator's network report.

The demo data holds no registration, room request or approval request, so those lists are
first filled as people fill them (a patron registers and asks for a room, an editor
submits a draft) and each is checked again with its row, as is the page an import of a
timetable leads to, with what it imported and with a refused file; what was filled is then
answered (the request declined, the draft returned) so that no later test finds it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import FilePayload, Page
from starlette.routing import Route, compile_path

from outreach.app import create_app
from tests.browser.conftest import NewPage, axe_violations

WIDE = 1280
# Each role's sign-in, most pages first, so that later roles open only what is theirs.
# Maribor's editor first: Maribor runs the bookmobile.
ROLES = [
    ("editor@maribor.example", "demo-maribor-editor"),
    ("director@kranj.example", "demo-kranj-director"),
    ("coordinator@ook-slovenija.example", "demo-ook-slovenija-coordinator"),
    ("admin@outreach.example", "demo-admin"),
]


def _staff_pages() -> list[str]:
    """Every GET route under /staff/ that shows a page, fixed paths first."""
    paths = {
        route.path
        for route in create_app(manage_database=False).routes
        if isinstance(route, Route)
        and route.path.startswith("/staff/")
        and "GET" in (route.methods or set())
        and not route.path.endswith(".ics")
    }
    return sorted(paths, key=lambda path: ("{" in path, path))


async def _links(page: Page) -> list[str]:
    found: list[str] = await page.eval_on_selector_all(
        "a[href]", "links => links.map(a => new URL(a.href)).map(u => u.pathname + u.search)"
    )
    return found


async def _open(page: Page, url: str) -> bool:
    """Whether url shows its page to this role: not refused, not sent elsewhere."""
    response = await page.goto(url)
    assert response is not None, url
    return response.status == 200 and response.request.redirected_from is None


async def _axe(page: Page, url: str) -> list[dict[str, Any]]:
    """The violations on the page shown, which must be in Slovenian."""
    assert await page.get_attribute("html", "lang") == "sl", url
    return [{"url": url, **violation} for violation in await axe_violations(page)]


async def _check(page: Page, url: str) -> list[dict[str, Any]]:
    assert await _open(page, url), url
    return await _axe(page, url)


async def _sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/staff/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("main button[type=submit]")
    await page.wait_for_url(lambda url: "/staff/login" not in url)


async def test_every_staff_page_has_no_axe_violations(new_page: NewPage) -> None:
    pending = _staff_pages()
    pending.remove("/staff/login")
    violations = await _check(await new_page(locale="sl-SI", width=WIDE), "/staff/login")
    links: list[str] = []
    opened_by: dict[str, str] = {}
    for email, password in ROLES:
        page = await new_page(locale="sl-SI", width=WIDE)
        await _sign_in(page, email, password)
        # Each role's dashboard shows other things (approvals waiting, reports).
        violations += await _axe(page, email)
        refused: set[str] = set()
        while url_for := _next(pending, links, refused):
            path, url = url_for
            if not await _open(page, url):
                refused.add(url)
                continue
            violations += await _axe(page, url)
            links += await _links(page)
            pending.remove(path)
            opened_by[path] = email
        if email == "editor@maribor.example":
            violations += await _event_form_refusal(page)
        if email.startswith("coordinator@"):
            violations += await _check(page, "/staff/reports/coverage?network=ook-slovenija")
    assert pending == [], pending
    assert opened_by["/staff/reports/coverage"] == "director@kranj.example"
    assert opened_by["/staff/users"] == "admin@outreach.example"
    violations += await _lists_with_rows(new_page)
    assert violations == []


def _next(pending: list[str], links: list[str], refused: set[str]) -> tuple[str, str] | None:
    """The first route still to open, with the address to open it at: a link already seen
    (it carries the ids and the query, ?library=…, its page needs) or the bare path."""
    for path in pending:
        pattern, _, _ = compile_path(path)
        url = next(
            (link for link in links if pattern.match(link.split("?")[0]) and link not in refused),
            None if "{" in path else path,
        )
        if url is not None and url not in refused:
            return path, url
    return None


async def _event_form_refusal(page: Page) -> list[dict[str, Any]]:
    await page.goto("/staff/events/new")
    await page.select_option("#kind", "storytime")
    await page.fill("#title_sl", "Pravljična ura")
    await page.fill("#start_date", "2027-03-10")
    await page.fill("#start_time", "18:00")
    await page.fill("#end_date", "2027-03-10")
    await page.fill("#end_time", "17:00")
    await page.click("main form button[type=submit] >> text=Ustvari dogodek")
    await page.wait_for_load_state()
    assert await page.locator("#end_date[aria-invalid=true]").count() == 1
    assert await page.locator("#end-error").all_inner_texts() == ["mora biti po začetku"]
    return [{"url": "refused event form", **v} for v in await axe_violations(page)]


TZ = ZoneInfo("Europe/Ljubljana")
PATRON = "Ana Testna"
PURPOSE = "Sestanek bralnega krožka za preizkus dostopnosti"
DRAFT = "Delavnica za preizkus dostopnosti"
IMPORT_WAIT = 120_000  # milliseconds


async def _lists_with_rows(new_page: NewPage) -> list[dict[str, Any]]:
    """The registration, room request and approval lists each with a row, and the page an
    import leads to with what it did and with a refused file."""
    day = dt.datetime.now(TZ).date() + dt.timedelta(days=45)
    patron = await new_page(locale="sl-SI")
    await patron.goto("/kranj/rooms")
    await patron.select_option(
        "#room", label="Računalniška učilnica (Mestna knjižnica Kranj – osrednja knjižnica)"
    )
    await patron.fill("#day", day.isoformat())
    await patron.fill("#start", "18:00")
    await patron.fill("#end", "19:00")
    await patron.fill("#attendees", "8")
    await patron.fill("#purpose", PURPOSE)
    await patron.fill("#name", PATRON)
    await patron.fill("#email", "ana.testna@example.org")
    await patron.check("#consent")
    await patron.click("button[type=submit]")
    await patron.wait_for_url(re.compile(r"sent=1"))
    listed = await patron.request.get("/api/events?library=kranj&kind=digital_skills")
    event_id = next(
        e["id"]
        for e in (await listed.json())["events"]
        if e["title"]["sl"] == "Digitalne veščine za starejše"
    )
    await patron.goto(f"/kranj/events/{event_id}")
    await patron.get_by_role("link", name="Preverite prosta mesta in se prijavite").click()
    await patron.fill("#name", PATRON)
    await patron.fill("#email", "ana.testna@example.org")
    await patron.check("input[name=consent]")
    await patron.click("main button[type=submit]")
    await patron.wait_for_load_state()
    assert await patron.locator("h1").inner_text() == "Preverite e-pošto"

    editor = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(editor, "editor@kranj.example", "demo-kranj-editor")
    await editor.goto("/staff/events/new")
    await editor.select_option("#kind", "workshop")
    await editor.fill("#title_sl", DRAFT)
    for field in ("#start_date", "#end_date"):
        await editor.fill(field, day.isoformat())
    await editor.fill("#start_time", "10:00")
    await editor.fill("#end_time", "11:00")
    await editor.select_option("#status", "draft")
    await editor.click("main form button[type=submit] >> text=Ustvari dogodek")
    await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))
    await editor.click("text=Oddaj v odobritev")
    await editor.wait_for_url(re.compile(r"/staff/events/\d+$"))

    checked: list[dict[str, Any]] = []
    await editor.goto(f"/staff/events/{event_id}/registrations")
    assert PATRON in await editor.inner_text("main")
    checked += await _axe(editor, "registrations with a row")

    director = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(director, "director@kranj.example", "demo-kranj-director")
    await director.goto("/staff/rooms/requests")
    card = director.locator("section.card", has_text=PURPOSE)
    assert PATRON in await card.inner_text()
    checked += await _axe(director, "room requests with a row")
    await director.goto("/staff/approvals")
    draft = director.locator("section.card", has_text=DRAFT)
    assert await draft.count() == 1
    checked += await _axe(director, "approvals with a row")
    await draft.locator("textarea[required]").fill("Prosim, dodajte prostor.")
    await draft.locator("button.secondary").click()
    await director.wait_for_url(re.compile(r"/staff/approvals$"))
    await director.goto("/staff/rooms/requests")
    await card.locator("textarea").fill("Ta termin ni mogoč.")
    await card.locator("button[name=decline]").click()
    await director.wait_for_url(re.compile(r"/staff/rooms/requests$"))

    bookmobile = await new_page(locale="sl-SI", width=WIDE)
    await _sign_in(bookmobile, "editor@maribor.example", "demo-maribor-editor")
    await bookmobile.goto("/staff/bookmobile")
    route = await bookmobile.locator("a[href^='/staff/bookmobile/routes/']").first.get_attribute(
        "href"
    )
    assert route is not None
    export = await bookmobile.request.get(f"/api/routes/{route.rsplit('/', 1)[1]}/stops.csv")
    assert export.ok
    for name, body in (("urnik.csv", await export.body()), ("slab.csv", b"stop,route\nA,B\n")):
        await bookmobile.set_input_files(
            "#file-maribor", files=[FilePayload(name=name, mimeType="text/csv", buffer=body)]
        )
        # An import runs in a worker process, which may first have to start on a busy machine.
        await bookmobile.click(
            "form[action='/staff/bookmobile/import'] button[type=submit]", timeout=IMPORT_WAIT
        )
        await bookmobile.wait_for_url(re.compile(r"/staff/bookmobile$"), timeout=IMPORT_WAIT)
        said = await bookmobile.inner_text("main")
        # An export imported again changes nothing; the bad file is refused line by line.
        assert ("Nespremenjene proge:" if name == "urnik.csv" else "vrstica 1:") in said, said
        checked += await _axe(bookmobile, f"import result of {name}")
    return checked
