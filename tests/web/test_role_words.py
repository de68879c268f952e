"""What each demo role reads on its pages, in its language, over real HTTP on the demo
fixtures: rules in words (never RRULE text or a UTC instant), names glossed in the reader's
language only, a share-of-hours target as a percentage, audiences by name in the coverage
chart, age bands by name on the registration form, the room request page linked from the
library's home."""

from __future__ import annotations

import re

import httpx

from tests.web.test_workspace import _TOKEN

KRANJ_STORYTIME = "Pravljična ura"


async def _sign_in(client: httpx.AsyncClient, email: str, password: str, lang: str) -> None:
    page = await client.get("/staff/login")
    token = _TOKEN.search(page.text)
    assert token is not None
    response = await client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303
    # The language switch, as a click on it would: kept for the account.
    assert (await client.get(f"/staff/?lang={lang}")).status_code == 200


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


async def test_the_editors_programme_says_every_rule_in_words(
    demo: str, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, "editor@kranj.example", "demo-kranj-editor", "sl")
    listing = _main((await client.get("/staff/events?library=kranj")).text)
    assert "FREQ=" not in listing
    assert not re.search(r"\d{8}T\d{6}Z", listing)
    # The fixtures end this rule at 22:00 UTC, local midnight: its last day is 8 June.
    assert "<td>vsak drugi torek v mesecu do 8. junija 2027</td>" in listing
    assert "<td>vsako sredo do 2. junija 2027</td>" in listing


async def test_names_are_glossed_in_the_readers_language_only(
    demo: str, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, "editor@kranj.example", "demo-kranj-editor", "sl")
    dashboard = _main((await client.get("/staff/")).text)
    assert '<td><span lang="sl">Mestna knjižnica Kranj</span></td>' in dashboard
    assert "Kranj City Library" not in dashboard
    form = _main((await client.get("/staff/events/new?library=kranj")).text)
    assert "Strokovnost" in form
    assert "Professional excellence" not in form
    assert "Kranj City Library" not in form
    # A reader of another language reads the names as written, and in their own beside.
    assert (await client.get("/staff/?lang=en")).status_code == 200
    form = _main((await client.get("/staff/events/new?library=kranj")).text)
    assert 'Strokovnost <span class="en" lang="en">/ Professional excellence</span>' in form


async def test_the_network_report_words_targets_and_audiences_for_the_coordinator(
    demo: str, client: httpx.AsyncClient
) -> None:
    await _sign_in(
        client, "coordinator@lapin-kirjasto.example", "demo-lapin-kirjasto-coordinator", "fi"
    )
    report = _main((await client.get("/staff/reports/coverage?network=lapin-kirjasto")).text)
    # A1's demo target is 5 % of programme hours a year: a percentage, as the figure beside.
    assert re.search(r"\d+\xa0% / 5\xa0% osuus tunneista", report)
    # The chart's columns are the audiences' names, not their codes.
    for name in ("0–5-vuotiaat", "Kaikenikäiset", "Perheet", "Henkilökunta"):
        assert f">{name}</text>" in report
    for code in ("0-5", "all", "families", "staff"):
        assert f">{code}</text>" not in report


async def test_the_library_home_shows_a_share_target_and_links_the_room_requests(
    demo: str, client: httpx.AsyncClient
) -> None:
    kranj = (await client.get("/kranj/", headers={"Accept-Language": "sl"})).text
    assert "vsaj 20\xa0% ur programa na leto, 2026–2030" in kranj
    assert '<li><a href="/kranj/rooms">Prošnja za prostor</a></li>' in kranj
    # Skopje offers no room to ask for: no link to a page that would offer none.
    skopje = (await client.get("/skopje/", headers={"Accept-Language": "mk"})).text
    assert "/skopje/rooms" not in skopje


async def test_the_registration_form_names_the_age_bands(
    demo: str, client: httpx.AsyncClient
) -> None:
    programme = (await client.get("/kranj/events?lang=sl")).text
    found = re.search(rf'href="/kranj/events/(\d+)[^"]*"><strong>{KRANJ_STORYTIME}<', programme)
    assert found is not None
    form = (await client.get(f"/kranj/events/{found.group(1)}/register?lang=sl")).text
    labels = re.findall(r"<label>([^<]+) <input name=\"band_", form)
    assert labels == ["Od 0 do 5 let", "Od 6 do 11 let", "Od 12 do 18 let", "Odrasli"]


async def test_the_network_report_names_libraries_and_values_never_their_slugs(
    demo: str, client: httpx.AsyncClient
) -> None:
    await _sign_in(
        client, "coordinator@ook-slovenija.example", "demo-ook-slovenija-coordinator", "sl"
    )
    report = _main((await client.get("/staff/reports/coverage?network=ook-slovenija")).text)
    assert '<tr><th scope="row">Knjižnica Rotovž</th><td>Mariborska knjižnica</td>' in report
    assert "<td>kranj</td>" not in report
    assert "<td>maribor</td>" not in report
    assert "<td>Enoten in enakopraven dostop do informacij, V2</td>" in report
    assert "enakopraven-dostop" not in report


async def test_the_programme_quotes_a_search_and_ends_its_feed_note_in_the_readers_style(
    demo: str, client: httpx.AsyncClient
) -> None:
    page = (await client.get("/skopje/events?q=подкаст", headers={"Accept-Language": "mk"})).text
    assert "Градска библиотека Скопје · „подкаст“" in page
    assert "“подкаст”" not in page
    note = re.search(r"Календарот опфаќа 30 дена наназад и трае до ([^<]+)</", page)
    assert note is not None
    assert re.fullmatch(r"\d{1,2} \w+ \d{4}\.", note.group(1))
    sl = (await client.get("/kranj/events?q=pravlj", headers={"Accept-Language": "sl"})).text
    assert "Mestna knjižnica Kranj · »pravlj«" in sl


async def test_a_route_page_says_its_depot_and_days_as_a_sentence_would(
    demo: str, client: httpx.AsyncClient
) -> None:
    await _sign_in(client, "editor@maribor.example", "demo-maribor-editor", "sl")
    routes = (await client.get("/staff/bookmobile?library=maribor")).text
    found = re.search(r'href="(/staff/bookmobile/routes/\d+)"><span class="code">ZAHOD<', routes)
    assert found is not None
    page = _main((await client.get(found.group(1))).text)
    assert "· izhodišče: " in page
    assert "· od 1. septembra 2026 do 30. junija 2027" in page
    assert (await client.get("/staff/?lang=fi")).status_code == 200
    page = _main((await client.get(found.group(1))).text)
    assert "· 1.9.2026 alkaen 30.6.2027 asti" in page


async def test_the_event_form_asks_for_a_missing_time_in_its_own_words(
    demo: str, client: httpx.AsyncClient
) -> None:
    """A day without its time is refused in the form's words, not the API's ISO example."""
    await _sign_in(client, "editor@rovaniemi.example", "demo-rovaniemi-editor", "fi")
    form = (await client.get("/staff/events/new?library=rovaniemi")).text
    token = _TOKEN.search(form)
    assert token is not None
    refused = await client.post(
        "/staff/events/new?library=rovaniemi",
        data={
            "csrf_token": token.group(1),
            "kind": "workshop",
            "title_fi": "Työpaja",
            "start_date": "2027-01-12",
            "start_time": "",
            "end_date": "",
            "end_time": "",
            "repeat": "none",
            "format": "in_person",
            "visibility": "public",
            "status": "draft",
        },
    )
    assert refused.status_code == 422
    page = _main(refused.text)
    assert "Anna alkamisaika tai merkitse, että se kestää koko päivän." in page
    assert "Anna päättymisaika tai merkitse, että se kestää koko päivän." in page
    assert "2026-12-01T10:00:00" not in page
