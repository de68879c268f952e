"""No CSV the service writes runs in a spreadsheet: each one read back with hostile text.

The bookmobile timetable (``/api/routes/{id}/stops.csv``) and the coverage report
(``/api/reports/coverage.csv`` and ``outreach report coverage``) are written from stored
text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: each such cell
must come back with a leading ``'``, while numbers (``-5``, ``-12.5``) stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx

from outreach.models import Fuel, Goal, RoleName, Strategy, StrategyValue, Theme, Vehicle
from outreach.spreadsheet import cell, plain
from tests.factories import make_branch, make_library, make_token_user
from tests.test_cli import outreach

FORMULAS = ("=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@x", "\tTab", "\rCR", "-", "- 5")
NUMBERS = ("-5", "-12.5", "-1e-05", "0", "12", "")


def test_formulas_get_a_quote_and_numbers_stay() -> None:
    assert [cell(text) for text in FORMULAS] == [f"'{text}" for text in FORMULAS]
    assert [cell(text) for text in NUMBERS] == list(NUMBERS)
    assert [cell(value) for value in (-5, 2.5, None)] == [-5, 2.5, None]
    assert [cell(text) for text in ("'=x", "a=b", " =x")] == ["'=x", "a=b", " =x"]
    assert [plain(str(cell(text))) for text in (*FORMULAS, *NUMBERS, "'quoted")] == [
        *FORMULAS,
        *NUMBERS,
        "'quoted",
    ]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_the_timetable_csv_cannot_run_and_reimports_unchanged(
    db: str, client: httpx.AsyncClient
) -> None:
    library = await make_library("mkl", name={"sl": "@Knjižnica", "en": "@Library"})
    await make_branch(library, "depot")
    await Vehicle.create(
        library=library,
        slug="bus",
        name="-Bus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=0.5,
        emission_factor_source="test",
    )
    auth = {
        "Authorization": f"Bearer {await make_token_user('e@mkl.si', [(RoleName.EDITOR, library)])}"
    }
    stop = {
        "name": "=cmd|' /C calc'!A0",
        "community": "+SUM(1,2)",
        "address": "@x",
        "postcode": "-5",
        "lat": 46.5,
        "lon": -12.5,
        "arrival": "09:00",
        "minutes_parked": 30,
    }
    created = await client.post(
        "/api/routes",
        json={
            "library": "mkl",
            "code": "Z",
            "name": "Zahod",
            "vehicle": "bus",
            "depot": "depot",
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "valid_from": "2026-01-06",
            "valid_until": "2026-12-29",
            "stops": [stop],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    route = created.json()["id"]

    exported = (await client.get(f"/api/routes/{route}/stops.csv")).text

    [row] = _rows(exported)
    assert {k: row[k] for k in ("organisation", "mobile", "stop", "community", "address")} == {
        "organisation": "'@Knjižnica",
        "mobile": "'-Bus",
        "stop": "'=cmd|' /C calc'!A0",
        "community": "'+SUM(1,2)",
        "address": "'@x",
    }
    assert (row["postcode"], row["geox"], row["geoy"]) == ("-5", "-12.5", "46.5")
    again = await client.post(
        "/api/routes/import?library=mkl", content=exported.encode(), headers=auth
    )
    assert again.status_code == 200, again.text
    assert (again.json()["unchanged"], again.json()["vehicles_created"]) == (["Z"], [])


async def test_the_coverage_csv_cannot_run_over_http_or_from_the_command(
    db: str, client: httpx.AsyncClient
) -> None:
    library = await make_library("mkl")
    strategy = await Strategy.create(
        slug="mkl-2026",
        library=library,
        name={"sl": "Strategija"},
        source_language="sl",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )
    await StrategyValue.create(
        strategy=strategy, code="V1", name={"sl": '=HYPERLINK("http://x")', "en": "+SUM(1,2)"}
    )
    theme = await Theme.create(strategy=strategy, code="A", name={"sl": "@tema", "en": "-5"})
    for position, name in enumerate(
        ({"sl": "@x", "en": "-2+3"}, {"sl": "\tTab", "en": "\rCR"}, {"sl": "-12.5", "en": "x"}),
        start=1,
    ):
        await Goal.create(
            strategy=strategy, theme=theme, code=f"A{position}", position=position, name=name
        )
    director = await make_token_user("d@mkl.si", [(RoleName.DIRECTOR, library)])

    response = await client.get(
        "/api/reports/coverage.csv?library=mkl&from=2026-01-01&to=2026-12-31",
        headers={"Authorization": f"Bearer {director}"},
    )
    code, printed, err = await outreach(
        db, "report", "coverage", "--library", "mkl", "--from", "2026-01-01", "--to", "2026-12-31"
    )

    assert (response.status_code, code, err) == (200, 0, "")
    assert printed == response.text
    assert [(r["kind"], r["code"], r["name_sl"], r["name_en"]) for r in _rows(printed)] == [
        ("value", "V1", '\'=HYPERLINK("http://x")', "'+SUM(1,2)"),
        ("theme", "A", "'@tema", "-5"),
        ("goal", "A1", "'@x", "'-2+3"),
        ("goal", "A2", "'\tTab", "'\rCR"),
        ("goal", "A3", "-12.5", "x"),
        ("outreach", "bookmobile", "Bibliobus", "Bookmobile"),
        ("outreach", "total", "Skupaj izven knjižnice", "Outreach in total"),
        ("library", "mkl", "Knjižnica mkl", "mkl Library"),
        ("co_organised", "mkl", "Knjižnica mkl", "mkl Library"),
    ]
