"""Maribor's outreach services (issue 16, item 4): the services as its mission names them,
rounds recorded in one form or through the API, counted in the coverage report beside the
bookmobile, and a delivery round's stop order planned by the bookmobile's optimiser."""

from __future__ import annotations

import csv
import io

import httpx

from outreach.bookmobile.distance import matrix_km
from outreach.bookmobile.optimise import route_km
from outreach.models import (
    AuditEntry,
    Branch,
    Fuel,
    Library,
    OutreachService,
    RoleName,
    ServiceKind,
    ServiceVisit,
    Vehicle,
)
from tests.factories import make_branch, make_library, make_token_user
from tests.web.test_staff_pages import csrf_of

YEAR = "from=2026-01-01&to=2026-12-31"
MISSION = (
    "Z bibliobusom, premičnimi zbirkami gradiva, izposojo na domu in v bolnišnico pridemo"
    " tudi tja, kjer ni krajevne knjižnice."
)


async def test_maribor_services_rounds_and_report(demo_rw: str, client: httpx.AsyncClient) -> None:
    listed = await client.get("/api/libraries/maribor/outreach-services")
    assert listed.status_code == 200
    services = listed.json()["services"]
    assert [(s["slug"], s["kind"], s["name"]["sl"], s["demo"]) for s in services] == [
        ("izposoja-na-domu", "home_delivery", "Izposoja na domu", False),
        ("izposoja-v-bolnisnico", "hospital_delivery", "Izposoja v bolnišnico", False),
        ("premicne-zbirke", "mobile_collection", "Premične zbirke gradiva", False),
    ]
    for service in services:
        assert service["source"] == {
            "kind": "document",
            "document": "002_178e180b2901e94f.txt",
            "section": "POSLANSTVO IN VREDNOTE",
            "words": [MISSION],
            "match": "loose",
        }

    maribor = await Library.get(slug="maribor")
    director = {
        "Authorization": "Bearer "
        + await make_token_user("direktor@mb.example", [(RoleName.DIRECTOR, maribor)])
    }
    editor = {
        "Authorization": "Bearer "
        + await make_token_user("urednica@mb.example", [(RoleName.EDITOR, maribor)])
    }
    report = (
        await client.get(f"/api/reports/coverage?library=maribor&{YEAR}", headers=director)
    ).json()
    figures = {
        s["slug"]: (
            s["visits"],
            s["people_served"],
            s["institutions_served"],
            s["items"],
            s["distance_km"],
            s["kg_co2e"],
        )
        for s in report["outreach_services"]["services"]
    }
    # The demo rounds of 2026, driven by the electric van (0.05176 kg CO2e/km).
    assert figures == {
        "izposoja-na-domu": (9, 75, 0, 363, 411.2, 21.3),
        "izposoja-v-bolnisnico": (9, 223, 9, 640, 111.6, 5.8),
        "premicne-zbirke": (3, 0, 19, 965, 211.1, 10.9),
    }
    bookmobile = report["footprint"]
    assert report["outreach_total"] == {
        "distance_km": round(bookmobile["distance_km"] + 411.2 + 111.6 + 211.1, 1),
        "kg_co2e": round(bookmobile["kg_co2e"] + 21.3 + 5.8 + 10.9, 1),
    }

    # A director cannot record a round; an editor records one in one form.
    home = next(s for s in services if s["slug"] == "izposoja-na-domu")
    refused = await client.post(
        f"/api/outreach-services/{home['id']}/visits",
        json={"day": "2026-11-24", "people_served": 8, "items": 40, "km": 44.6},
        headers=director,
    )
    assert refused.status_code == 403
    page = await client.get("/staff/outreach?lang=sl", headers=editor)
    assert page.status_code == 200
    assert "Zabeleži obhod" in page.text
    assert "Izposoja v bolnišnico" in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "service": str(home["id"]),
        "day": "2026-11-24",
        "people_served": "8",
        "institutions_served": "",
        "items": "40",
        "km": "44,6",
    }
    recorded = await client.post("/staff/outreach", data=form, headers=editor)
    assert recorded.status_code == 303
    visit = await ServiceVisit.get(service_id=home["id"], day="2026-11-24")
    assert (visit.people_served, visit.institutions_served, visit.items, visit.km) == (
        8,
        0,
        40,
        44.6,
    )
    assert visit.kg_co2e_per_km == 0.05176
    entry = await AuditEntry.get(entity="service_visit", entity_id=str(visit.id))
    assert entry.changes["service"] == "izposoja-na-domu"

    # Bad input: every field named, nothing written.
    before = await ServiceVisit.all().count()
    bad = await client.post(
        "/staff/outreach",
        data={**form, "day": "2099-01-01", "items": "many", "km": "-3"},
        headers=editor,
    )
    assert bad.status_code == 422
    assert 'name="items" min="0" value="many" aria-invalid="true"' in bad.text
    assert "Vpišite celo število od 0 do 100.000." in bad.text
    assert "Vpišite prevožene kilometre, od 0 do 1.500." in bad.text
    late = await client.post("/staff/outreach", data={**form, "day": "2099-01-01"}, headers=editor)
    assert late.status_code == 422
    assert "Vpišite dan obhoda; ne sme biti po današnjem." in late.text
    api_bad = await client.post(
        f"/api/outreach-services/{home['id']}/visits",
        json={"day": "2099-01-01", "people_served": -1, "km": 2000},
        headers=editor,
    )
    assert api_bad.status_code == 422
    assert set(api_bad.json()["fields"]) == {"people_served", "km"}
    future = await client.post(
        f"/api/outreach-services/{home['id']}/visits",
        json={"day": "2099-01-01", "people_served": 3},
        headers=editor,
    )
    assert future.status_code == 422
    assert future.json()["fields"] == {
        "day": "must not be after today: record a round once it has been driven"
    }
    assert await ServiceVisit.all().count() == before

    # The round counts in the report, its JSON, CSV and page.
    again = (
        await client.get(f"/api/reports/coverage?library=maribor&{YEAR}", headers=director)
    ).json()
    row = next(s for s in again["outreach_services"]["services"] if s["slug"] == home["slug"])
    assert (row["visits"], row["people_served"], row["items"], row["distance_km"]) == (
        10,
        83,
        403,
        455.8,
    )
    spreadsheet = await client.get(
        f"/api/reports/coverage.csv?library=maribor&{YEAR}", headers=director
    )
    rows = {
        r["code"]: r
        for r in csv.DictReader(io.StringIO(spreadsheet.text))
        if r["kind"] == "outreach"
    }
    assert list(rows) == [
        "bookmobile",
        "izposoja-na-domu",
        "izposoja-v-bolnisnico",
        "premicne-zbirke",
        "total",
    ]
    assert (rows["izposoja-na-domu"]["name_sl"], rows["izposoja-na-domu"]["people_served"]) == (
        "Izposoja na domu",
        "83",
    )
    assert (rows["izposoja-na-domu"]["distance_km"], rows["izposoja-na-domu"]["kg_co2e"]) == (
        "455.8",
        "23.6",
    )
    report_page = await client.get(
        f"/staff/reports/coverage?library=maribor&{YEAR}&lang=sl", headers=director
    )
    assert report_page.status_code == 200
    assert "Dejavnosti izven knjižnice: kilometri in CO2e" in report_page.text
    assert '<span lang="sl">Izposoja na domu</span>' in report_page.text
    assert "455,8" in report_page.text


async def test_a_delivery_round_planned_never_longer(db: str, client: httpx.AsyncClient) -> None:
    library = await make_library("mb")
    depot = await make_branch(library, "rotovz")
    van = await Vehicle.create(
        library=library,
        slug="kombi",
        name="Kombi",
        fuel=Fuel.ELECTRIC,
        kg_co2e_per_km=0.05,
        emission_factor_source="test",
        average_speed_kmh=30,
    )
    service = await OutreachService.create(
        library=library,
        slug="dostava",
        kind=ServiceKind.HOME_DELIVERY,
        name={"sl": "Izposoja na domu"},
        vehicle=van,
    )
    token = await make_token_user("urednica@mb.si", [(RoleName.EDITOR, library)])
    # Four homes given as a zig-zag west, east, west, east of the depot.
    homes = [(46.5575, 15.60), (46.5575, 15.70), (46.5600, 15.61), (46.5600, 15.69)]
    answer = await client.post(
        f"/api/outreach-services/{service.id}/rounds/plan",
        json={
            "depot": "rotovz",
            "stops": [{"lat": lat, "lon": lon, "minutes": 10} for lat, lon in homes],
            "time_limit_seconds": 0.2,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    matrix = matrix_km([(depot.lat, depot.lon), *homes])
    given = route_km([0, 1, 2, 3], matrix)
    assert plan["km_as_given"] == round(given, 2)
    # Both western homes, then both eastern ones (or the mirror image): never a zig-zag.
    assert plan["order"] in ([0, 2, 3, 1], [1, 3, 2, 0], [2, 0, 1, 3], [3, 1, 0, 2])
    assert plan["km"] == round(route_km(plan["order"], matrix), 2)
    assert plan["km_saved"] == round(given - route_km(plan["order"], matrix), 2)
    assert plan["kg_co2e_saved"] == round((given - route_km(plan["order"], matrix)) * 0.05, 2)
    assert (plan["arrivals"], plan["vehicle"]) == (None, "kombi")
    # The homes are not kept anywhere: nothing was written.
    assert await ServiceVisit.all().count() == 0
    assert not await Branch.filter(library_id=library.id, slug__not="rotovz").exists()

    mixed = await client.post(
        f"/api/outreach-services/{service.id}/rounds/plan",
        json={
            "depot": "nowhere",
            "stops": [
                {"lat": 46.55, "lon": 15.6, "minutes": 10, "arrival": "09:00"},
                {"lat": 46.56, "lon": 15.7, "minutes": 10},
            ],
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert mixed.status_code == 422
    assert mixed.json()["fields"] == {"depot": "is not a branch of this library"}
