"""The coverage report over HTTP: JSON, CSV, the director's page, access and bad input."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.reports.conftest import Programme

YEAR = "from=2025-01-01&to=2025-12-31"


async def test_json_for_a_director(programme: Programme, client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/api/reports/coverage?library=mkl&{YEAR}", headers=programme.headers["director"]
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "private, no-store"
    body = response.json()
    assert body["strategy"]["slug"] == "mkl-2025"
    assert (body["totals"]["delivered"], body["totals"]["hours"]) == (15, 25.0)
    assert [g["code"] for g in body["gaps"]] == ["A3"]


async def test_csv_has_one_row_per_value_theme_and_goal(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/api/reports/coverage.csv?library=mkl&strategy=mkl-2025&{YEAR}",
        headers=programme.headers["admin"],
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="coverage-mkl-2025-01-01-2025-12-31.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["kind"], r["code"]) for r in rows] == [
        ("value", "V1"),
        ("value", "V2"),
        ("theme", "A"),
        ("theme", "B"),
        ("goal", "A1"),
        ("goal", "A2"),
        ("goal", "A3"),
        ("goal", "B1"),
        ("outreach", "bookmobile"),
        ("outreach", "total"),
        ("library", "mkl"),
        ("co_organised", "mkl"),
    ]
    a1 = rows[4]
    assert {k: a1[k] for k in ("name_sl", "name_en", "theme", "delivered", "cancelled")} == {
        "name_sl": "Cilj A1",
        "name_en": "Goal A1",
        "theme": "A",
        "delivered": "10",
        "cancelled": "1",
    }
    assert (a1["hours"], a1["split_hours"], a1["attendance_19+"], a1["sdgs"]) == (
        "18.00",
        "6.00",
        "105",
        "4 10",
    )
    assert (a1["target_metric"], a1["target_figure"], a1["target_status"]) == (
        "occurrences",
        "10.0",
        "missed",
    )


async def test_network_report_for_its_coordinator(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    url = f"/api/reports/coverage?network=net&{YEAR}"
    allowed = await client.get(url, headers=programme.headers["coordinator"])
    assert allowed.status_code == 200
    assert allowed.json()["scope"]["libraries"] == ["mkl", "kam"]
    # A coordinator also reads the network's libraries; a library's director not the network.
    library = await client.get(
        f"/api/reports/coverage?library=kam&{YEAR}", headers=programme.headers["coordinator"]
    )
    assert library.status_code == 200
    refused = await client.get(url, headers=programme.headers["director"])
    assert refused.status_code == 403
    assert refused.json() == {"error": "forbidden: you may not read reports here"}


@pytest.mark.parametrize("who", ["editor", "far"])
async def test_others_are_refused(
    programme: Programme, client: httpx.AsyncClient, who: str
) -> None:
    response = await client.get(
        f"/api/reports/coverage.csv?library=mkl&{YEAR}", headers=programme.headers[who]
    )
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden: you may not read reports here"}


async def test_anonymous_is_asked_to_sign_in(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"/api/reports/coverage?library=mkl&{YEAR}")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        (
            "library=mkl&from=2025-12-31&to=2025-01-01",
            422,
            {
                "error": "the period ends before it starts",
                "fields": {"to": "the period ends before it starts"},
            },
        ),
        (
            "library=mkl&from=2025-13-01",
            422,
            {"error": "invalid input", "fields": {"from": "must be a date such as 2025-01-31"}},
        ),
        (
            "library=mkl&strategy=net-2025&from=2025-01-01&to=2025-12-31",
            200,
            None,
        ),
        (
            "library=far&strategy=mkl-2025&" + YEAR,
            422,
            {
                "error": "invalid input",
                "fields": {"strategy": "“Strategy” is not a strategy of the library far Library"},
            },
        ),
        ("library=nowhere&" + YEAR, 404, {"error": "library not found"}),
        ("network=999&" + YEAR, 404, {"error": "network not found"}),
        ("library=mkl&strategy=12345&" + YEAR, 404, {"error": "strategy not found"}),
        (
            YEAR,
            422,
            {
                "error": "give either library or network",
                "fields": {"library": "give either library or network"},
            },
        ),
        (
            "library=mkl&from=2000-01-01&to=2025-12-31",
            422,
            {"error": "invalid input", "fields": {"to": "a report covers at most 10 years"}},
        ),
    ],
)
async def test_bad_input_is_a_clear_json_answer(
    programme: Programme,
    client: httpx.AsyncClient,
    query: str,
    status: int,
    body: dict[str, object] | None,
) -> None:
    # Each asker may read the scope asked about, so only the input decides.
    who = "far" if "library=far" in query else "coordinator" if "network" in query else "admin"
    response = await client.get(f"/api/reports/coverage?{query}", headers=programme.headers[who])
    assert response.status_code == status
    if body is not None:
        assert response.json() == body


async def test_page_shows_neglected_goals_first_with_svg_charts(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/staff/reports/coverage?library=mkl&{YEAR}&lang=en", headers=programme.headers["director"]
    )

    assert response.status_code == 200
    html = response.text
    assert html.index('id="neglected"') < html.index("<h2>Goals</h2>")
    neglected = html[html.index('id="neglected"') : html.index("<h2>The programme</h2>")]
    cells = [
        row.split("</th><td>")[1].split("</td>")[0]
        for row in neglected.split('<th scope="row">')[1:]
    ]
    codes = [row.split(" ")[0] for row in neglected.split('<th scope="row">')[1:]]
    assert list(zip(codes, cells, strict=True)) == [
        ("A1", "target missed"),
        ("A3", "nothing delivered or planned"),
    ]
    assert html.count("<svg ") == 3
    assert '<span lang="sl">Cilj A1</span> <span class="en" lang="en">(Goal A1)</span>' in html
    assert "/api/reports/coverage.csv?library=mkl&amp;strategy=" in html
    assert "@media print" in html
    assert "<script" not in html


async def test_page_without_sign_in_redirects(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"/staff/reports/coverage?library=mkl&{YEAR}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")


async def test_page_explains_a_bad_period(programme: Programme, client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/staff/reports/coverage?library=mkl&from=2025-12-31&to=2025-01-01",
        headers=programme.headers["director"],
    )
    assert response.status_code == 422
    assert "obdobje se konča, preden se začne" in response.text  # the library speaks Slovenian
    assert 'name="to" value="2025-01-01" aria-invalid="true"' in response.text
