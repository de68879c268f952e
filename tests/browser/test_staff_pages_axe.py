"""axe-core finds nothing on any staff page, in Slovenian.

The pages are the app's own GET routes under /staff/, so a new staff page cannot be
forgotten: each role signs in once and opens every route it may see that no earlier role
has checked; a route's path parameters are filled from the links of the pages already
opened (the first event, partner, vehicle and route the demo data lists). The logout is
POST-only and the private calendar is a feed, not a page. The coverage report falls to the
director (editors may not see it); beyond the routes come the event form showing a
refusal and the coordinator's network report."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page
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
