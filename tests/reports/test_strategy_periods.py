"""Coverage reports and the periods of strategies: the strategy in force, the one chosen,
a warning for a report outside the strategy's period, and demo targets said to be demo."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx

from outreach.models import Goal, Library, Network, RoleName, Strategy, Target, TargetMetric
from tests.factories import make_library, make_strategy, make_token_user

SEASON = "from=2026-09-01&to=2027-06-30"
DEMO_LABEL = "demo target, not from the strategy"
OUTSIDE_LAPLAND = {
    "code": "outside_strategy_period",
    "message": "the report's period 2026-09-01–2027-06-30 lies outside the strategy's period"
    " 2021-01-01–2024-12-31",
    "where": "outside",
    "period": {"from": "2026-09-01", "to": "2027-06-30"},
    "strategy_period": {"start": "2021-01-01", "end": "2024-12-31"},
}


async def test_the_demo_reports_say_what_their_strategies_state(
    demo_rw: str, client: httpx.AsyncClient
) -> None:
    lapland = await Network.get(slug="lapin-kirjasto")
    kranj = await Library.get(slug="kranj")
    token = await make_token_user(
        "reader@example.org",
        [(RoleName.COORDINATOR, lapland), (RoleName.DIRECTOR, kranj)],
    )
    headers = {"Authorization": f"Bearer {token}"}

    season = await client.get(
        f"/api/reports/coverage?network=lapin-kirjasto&{SEASON}", headers=headers
    )
    assert season.status_code == 200
    report = season.json()
    strategy = report["strategy"]
    assert (strategy["slug"], strategy["period"], strategy["approved_on"]) == (
        "lapin-kirjasto-2021-2024",
        {"start": "2021-01-01", "end": "2024-12-31"},
        "2021-09-02",
    )
    assert report["warnings"] == [OUTSIDE_LAPLAND]
    targets = {g["code"]: g["target"] for g in report["goals"] if g["target"]}
    assert sorted(targets) == ["A1", "A3"]
    for target in targets.values():
        assert (target["demo"], target["label"], target["source"]["kind"]) == (
            True,
            DEMO_LABEL,
            "demo",
        )
    # The network's whole membership, demo libraries and members known by name alike.
    assert len(report["scope"]["libraries"]) == 21
    assert {"rovaniemi", "sodankyla", "inari", "utsjoki"} <= set(report["scope"]["libraries"])

    within = await client.get(
        "/api/reports/coverage?network=lapin-kirjasto&from=2022-01-01&to=2022-12-31",
        headers=headers,
    )
    assert within.json()["warnings"] == []

    spreadsheet = await client.get(
        f"/api/reports/coverage.csv?network=lapin-kirjasto&{SEASON}", headers=headers
    )
    rows = list(csv.DictReader(io.StringIO(spreadsheet.text)))
    a3 = next(r for r in rows if (r["kind"], r["code"]) == ("goal", "A3"))
    assert (a3["target_source"], a3["target_label"]) == ("demo", DEMO_LABEL)
    assert [(r["kind"], r["code"], r["name_fi"], r["name_en"]) for r in rows[-1:]] == [
        (
            "warning",
            "outside_strategy_period",
            OUTSIDE_LAPLAND["message"],
            OUTSIDE_LAPLAND["message"],
        )
    ]
    assert [r["kind"] for r in rows].count("warning") == 1

    page = await client.get(
        f"/staff/reports/coverage?network=lapin-kirjasto&{SEASON}&lang=en", headers=headers
    )
    assert page.status_code == 200
    assert (
        '<p class="warning" role="alert" data-warning="outside_strategy_period">'
        "The report's period (September 1, 2026 – June 30, 2027) lies outside the"
        " strategy's period (January 1, 2021 – December 31, 2024).</p>"
    ) in page.text
    assert (
        "Strategy period: January 1, 2021 to December 31, 2024 · approved September 2, 2021"
        in page.text
    )
    # The same warning in the coordinator's language, its dates as Finnish writes them.
    finnish = await client.get(
        f"/staff/reports/coverage?network=lapin-kirjasto&{SEASON}&lang=fi", headers=headers
    )
    assert (
        "Raportin ajanjakso (1. syyskuuta 2026 – 30. kesäkuuta 2027) on strategiakauden"
        " (1. tammikuuta 2021 – 31. joulukuuta 2024) ulkopuolella."
    ) in finnish.text
    # Every target on the page (A1 and A3, one of them also among the neglected goals)
    # carries the label beside its status.
    assert page.text.count('<span class="pill status-') == 3
    assert page.text.count('<span class="pill demo-target"') == 3
    assert page.text.count(f">{DEMO_LABEL}</span>") == 3

    # Kranj's own strategy states no period; the demo takes it to be in force 2026–2030.
    own = (
        await client.get(f"/api/reports/coverage?library=kranj&{SEASON}", headers=headers)
    ).json()
    assert (own["strategy"]["slug"], own["strategy"]["period"], own["warnings"]) == (
        "kranj",
        None,
        [],
    )
    assert own["strategy"]["in_force"]["source"] == "demo"
    later = await client.get(
        "/api/reports/coverage?library=kranj&from=2031-01-01&to=2031-03-31", headers=headers
    )
    assert later.json()["warnings"] == [
        {
            "code": "outside_strategy_in_force",
            "message": "the report's period 2031-01-01–2031-03-31 lies outside 2026-01-01–"
            "2030-12-31, when the report takes the strategy to be in force; its document"
            " states no period",
            "where": "outside",
            "period": {"from": "2031-01-01", "to": "2031-03-31"},
            "strategy_period": {"start": "2026-01-01", "end": "2030-12-31"},
        }
    ]


async def _stated(strategy: Strategy, start: dt.date, end: dt.date) -> None:
    strategy.period_start, strategy.period_end = start, end
    strategy.stated_start, strategy.stated_end = start, end
    strategy.source = {"in_force": "document"}
    await strategy.save()


async def test_strategies_in_sequence(db: str, client: httpx.AsyncClient) -> None:
    library = await make_library("kemi", timezone="Europe/Helsinki", language="fi")
    first = await make_strategy(library=library, slug="kemi-2021-2024")
    await _stated(first, dt.date(2021, 1, 1), dt.date(2024, 12, 31))
    second = await make_strategy(library=library, slug="kemi-2025-2028")
    await _stated(second, dt.date(2025, 1, 1), dt.date(2028, 12, 31))
    goal = await Goal.get(strategy=second, code="A1")
    await Target.create(
        goal=goal,
        metric=TargetMetric.OCCURRENCES,
        minimum=12,
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2028, 12, 31),
        source={"kind": "document", "document": "kemi.txt", "section": "A", "words": ["12"]},
    )
    token = await make_token_user("director@example.org", [(RoleName.DIRECTOR, library)])
    headers = {"Authorization": f"Bearer {token}"}

    async def report(query: str) -> dict[str, Any]:
        response = await client.get(f"/api/reports/coverage?library=kemi&{query}", headers=headers)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    old = await report("from=2023-01-01&to=2023-12-31")
    new = await report("from=2026-01-01&to=2026-12-31")
    chosen = await report("strategy=kemi-2021-2024&from=2026-01-01&to=2026-12-31")
    across = await report("from=2024-07-01&to=2025-06-30")
    picked = [
        (r["strategy"]["slug"], [w["code"] for w in r["warnings"]])
        for r in (old, new, chosen, across)
    ]
    assert picked == [
        ("kemi-2021-2024", []),
        ("kemi-2025-2028", []),
        ("kemi-2021-2024", ["outside_strategy_period"]),
        # The newest strategy in force during the period, which began within it.
        ("kemi-2025-2028", ["outside_strategy_period"]),
    ]
    assert across["warnings"][0]["message"] == (
        "the report's period 2024-07-01–2025-06-30 lies partly outside the strategy's period"
        " 2025-01-01–2028-12-31"
    )
    # A target the strategy's own document sets is no demo target.
    [target] = [g["target"] for g in new["goals"] if g["target"]]
    assert (target["demo"], target["label"], target["source"]["document"]) == (
        False,
        None,
        "kemi.txt",
    )
