"""The coverage page's refusals in the reader's language, naming libraries and strategies
by their names (never a slug or an id), inside the page's form rather than an error page."""

from __future__ import annotations

import html

import httpx

from tests.reports.conftest import Programme

YEAR = "from=2025-01-01&to=2025-12-31"


async def test_a_strategy_of_another_library_is_named_in_slovenian(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/staff/reports/coverage?library=far&strategy=mkl-2025&{YEAR}&lang=sl",
        headers=programme.headers["far"],
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Poročila ni mogoče prikazati: popravite, kar je navedeno spodaj." in text
    assert "Strategija: strategija »Strategija« ne velja za knjižnico Knjižnica far" in text
    alert = text[text.index('role="alert"') :]
    assert "mkl-2025" not in alert
    assert "invalid input" not in alert


async def test_a_library_without_a_strategy_is_named_in_finnish(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/staff/reports/coverage?library=far&{YEAR}&lang=fi", headers=programme.headers["far"]
    )
    assert response.status_code == 422
    assert (
        # The library has no Finnish name: its own language's.
        "Strategia: tällä kirjastolla (Knjižnica far) ei ole strategiaa"
    ) in html.unescape(response.text)


async def test_an_unknown_strategy_or_a_foreign_library_is_said_on_the_page(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    unknown = await client.get(
        f"/staff/reports/coverage?library=mkl&strategy=12345&{YEAR}&lang=mk",
        headers=programme.headers["director"],
    )
    assert unknown.status_code == 404
    assert "Нема таква стратегија." in unknown.text
    assert 'name="library"' in unknown.text  # the form stays, to choose again

    foreign = await client.get(
        f"/staff/reports/coverage?library=kam&{YEAR}&lang=sl",
        headers=programme.headers["director"],
    )
    assert foreign.status_code == 403
    assert "Poročil te knjižnice ali mreže ne smete brati." in html.unescape(foreign.text)

    api = await client.get(
        f"/api/reports/coverage?library=mkl&strategy=12345&{YEAR}",
        headers={**programme.headers["director"], "Accept-Language": "sl"},
    )
    assert api.json() == {"error": "strategy not found"}
