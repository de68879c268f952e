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
    assert '<h2>Lapin kirjasto\n    <span class="en">· Lapland Library</span></h2>' in page.text
    assert '<a href="/rovaniemi/">Knjižnica rovaniemi</a>' in page.text
    assert "Independent libraries" in page.text
    assert '<a href="/skopje/">' in page.text


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
    page = await client.get("/rovaniemi/")
    assert page.status_code == 200
    text = page.text
    assert "<strong>Pääkirjasto</strong>, Jorma Eton tie 6" in text
    assert '<span class="code">A</span>Uudistuva kirjasto' in text
    assert '<span class="en" lang="en">· A renewing library</span>' in text
    assert '<span class="code">A1</span>Prosessit vapauttavat' in text
    assert '<span class="en" lang="en">Processes free staff</span>' in text
    assert 'rohkeus <span class="en" lang="en">· courage</span>' in text
