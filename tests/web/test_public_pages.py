from __future__ import annotations

import httpx

from outreach.models import Network
from tests.factories import make_branch, make_library, make_strategy


async def test_index_lists_libraries_by_network(db: str, client: httpx.AsyncClient) -> None:
    network = await Network.create(
        slug="lapin-kirjasto",
        name={"fi": "Lapin kirjasto", "en": "Lapland Library"},
        default_language="fi",
    )
    await make_library("rovaniemi", timezone="Europe/Helsinki", language="fi", network=network)
    await make_library("skopje", timezone="Europe/Skopje", language="mk")
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in page.text
    assert (
        '<h2><span lang="fi">Lapin kirjasto</span>\n'
        '    <span class="en" lang="en">· Lapland Library</span></h2>'
    ) in page.text
    assert '<a href="/rovaniemi/" lang="fi">Knjižnica rovaniemi</a>' in page.text
    assert "<h2>Independent libraries</h2>" in page.text
    assert '<a href="/skopje/" lang="mk">' in page.text
    finnish = await client.get("/", headers={"accept-language": "fi-FI,fi;q=0.9,en;q=0.5"})
    assert '<html lang="fi">' in finnish.text
    assert "<h1>Kirjastot</h1>" in finnish.text
    assert "<h2>Itsenäiset kirjastot</h2>" in finnish.text
    assert "Lapland Library" not in finnish.text


async def test_library_page_shows_strategy_in_own_language_with_english(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await Network.create(
        slug="lapin-kirjasto",
        name={"fi": "Lapin kirjasto", "en": "Lapland Library"},
        default_language="fi",
    )
    library = await make_library(
        "rovaniemi", timezone="Europe/Helsinki", language="fi", network=network
    )
    await make_branch(library, "paakirjasto", name="Pääkirjasto", address="Jorma Eton tie 6")
    await make_strategy(network=network)
    page = await client.get("/rovaniemi/?lang=en")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="en">' in text
    assert "<h2>Branches</h2>" in text
    assert "<strong>Pääkirjasto</strong>, Jorma Eton tie 6" in text
    assert '<span class="code">A</span>Uudistuva kirjasto' in text
    assert '<span class="en" lang="en">· A renewing library</span>' in text
    assert '<span class="code">A1</span>Prosessit vapauttavat' in text
    assert '<span class="en" lang="en">Processes free staff</span>' in text
    assert 'rohkeus <span class="en" lang="en">· courage</span>' in text


async def test_library_page_speaks_the_library_language_without_english(
    db: str, client: httpx.AsyncClient
) -> None:
    library = await make_library("rovaniemi", timezone="Europe/Helsinki", language="fi")
    await make_branch(library, "paakirjasto", name="Pääkirjasto", address="Jorma Eton tie 6")
    await make_strategy(library=library)
    page = await client.get("/rovaniemi/")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="fi">' in text
    assert "<h2>Toimipisteet</h2>" in text
    assert '<li><a href="/rovaniemi/events">Ohjelma</a></li>' in text
    # No routes, so no bookmobile link.
    assert "/rovaniemi/bookmobile" not in text
    assert 'lang="en"' not in text.split("<main>", 1)[1]
    # The switch names each language in itself and keeps the page.
    assert '<a href="/rovaniemi/?lang=sl" lang="sl" hreflang="sl">Slovenščina</a>' in text
    assert '<a href="/rovaniemi/?lang=mk" lang="mk" hreflang="mk">Македонски</a>' in text
    current = '<a href="/rovaniemi/?lang=fi" lang="fi" hreflang="fi" aria-current="true">Suomi</a>'
    assert current in text
