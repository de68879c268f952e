"""Partners and libraries in the coverage report: figures per partner organisation, and a
network's libraries side by side with the events each co-organises (issue 15, item 6)."""

from __future__ import annotations

import csv
import io

import httpx

from outreach.models import Event, EventKind, Partner, PartnerKind
from tests.reports.conftest import Programme

YEAR = "from=2025-01-01&to=2025-12-31"


async def _link_partners(programme: Programme) -> None:
    """E1 (the weekly workshop: 9 delivered of 10, 18 h, 18 attendances) and E3 (the park
    visit: 1 delivered, 1.5 h) with the museum; E3 with the school; the neighbour library
    co-organises E1. A third partner has no event."""
    library = programme.library
    museum = await Partner.create(
        library=library, slug="muzej", name="Mestni muzej", kind=PartnerKind.PUBLIC
    )
    school = await Partner.create(
        library=library, slug="sola", name="Osnovna šola", kind=PartnerKind.EDUCATION
    )
    await Partner.create(
        library=library,
        slug="drustvo",
        name="Društvo",
        kind=PartnerKind.COMMUNITY,
        source={"kind": "demo", "note": "made up"},
    )
    workshop = await Event.get(library_id=library.id, rrule__isnull=False)
    visit = await Event.get(library_id=library.id, kind=EventKind.OUTREACH_VISIT)
    await workshop.partners.add(museum)
    await visit.partners.add(museum, school)
    await workshop.co_organisers.add(programme.neighbour)


async def test_the_report_counts_per_partner_and_compares_a_networks_libraries(
    programme: Programme, client: httpx.AsyncClient
) -> None:
    await _link_partners(programme)
    response = await client.get(
        f"/api/reports/coverage?library=mkl&{YEAR}", headers=programme.headers["director"]
    )
    assert response.status_code == 200
    keys = ("slug", "events", "delivered", "cancelled", "hours", "attendance", "demo")
    partners = [{k: p[k] for k in keys} for p in response.json()["partners"]]
    # Busiest first; the partner with nothing is listed too, and says it is a demo one.
    assert partners == [
        {"slug": "muzej", "events": 2, "delivered": 10, "cancelled": 1, "hours": 19.5,
         "attendance": 18, "demo": False},
        {"slug": "sola", "events": 1, "delivered": 1, "cancelled": 0, "hours": 1.5,
         "attendance": 0, "demo": False},
        {"slug": "drustvo", "events": 0, "delivered": 0, "cancelled": 0, "hours": 0.0,
         "attendance": 0, "demo": True},
    ]  # fmt: skip

    csv_response = await client.get(
        f"/api/reports/coverage.csv?library=mkl&{YEAR}", headers=programme.headers["director"]
    )
    rows = [r for r in csv.DictReader(io.StringIO(csv_response.text)) if r["kind"] == "partner"]
    assert [(r["code"], r["name_sl"], r["delivered"], r["hours"], r["demo"]) for r in rows] == [
        ("muzej", "Mestni muzej", "10", "19.50", ""),
        ("sola", "Osnovna šola", "1", "1.50", ""),
        ("drustvo", "Društvo", "0", "0.00", "demo"),
    ]

    # The network's report: its libraries side by side (one programme built for both).
    response = await client.get(
        f"/api/reports/coverage?network=net&{YEAR}", headers=programme.headers["coordinator"]
    )
    assert response.status_code == 200
    libraries = {
        lib["slug"]: (
            lib["events"],
            lib["delivered"],
            lib["hours"],
            lib["co_organised"]["events"],
            lib["co_organised"]["delivered"],
            lib["co_organised"]["hours"],
        )
        for lib in response.json()["libraries"]
    }
    # mkl holds the programme of the library report (15 delivered, 25 h); kam its one
    # bookmobile day (4 h) and co-organises mkl's workshop.
    assert libraries == {"mkl": (8, 15, 25.0, 0, 0, 0.0), "kam": (1, 1, 4.0, 1, 9, 18.0)}

    page = await client.get(
        f"/staff/reports/coverage?network=net&{YEAR}", headers=programme.headers["coordinator"]
    )
    assert page.status_code == 200
    assert 'id="libraries"' in page.text
    assert 'id="partners"' in page.text
