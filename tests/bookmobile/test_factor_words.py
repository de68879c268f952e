"""Words a bookmobile's staff read: every published factor on file may be chosen (their short
names carry the source's dotted figures, as the demo's DESNZ factors do), and the distances'
method is said in the reader's language (the API's in English)."""

from __future__ import annotations

import httpx

from outreach import i18n
from outreach.bookmobile.distance import distances
from outreach.models import EmissionFactor, Fuel, Vehicle
from tests.bookmobile.conftest import Bookmobiles

DOTTED = "desnz-2024-hgv-diesel-rigid-3.5-7.5t-average-laden"
POINTS = [(46.5575, 15.6467), (46.5520, 15.4940)]


async def test_a_factor_whose_short_name_holds_dots_is_chosen(
    bm: Bookmobiles, client: httpx.AsyncClient
) -> None:
    await EmissionFactor.create(
        slug=DOTTED,
        fuel=Fuel.DIESEL,
        vehicle_class="Rigid (>3.5 - 7.5 tonnes)",
        kg_co2e_per_km=0.495,
        source="DESNZ 2024",
        year=2024,
    )
    created = await client.post(
        "/api/vehicles",
        json={"library": "mb", "slug": "mali", "name": "Mali bibliobus", "emission_factor": DOTTED},
        headers=bm.auth(),
    )
    assert created.status_code == 201
    assert (created.json()["fuel"], created.json()["kg_co2e_per_km"]) == ("diesel", 0.495)
    assert await Vehicle.filter(slug="mali", kg_co2e_per_km=0.495).exists()
    unknown = await client.post(
        "/api/vehicles",
        json={"library": "mb", "slug": "x", "name": "X", "emission_factor": "Desnz 2024!"},
        headers=bm.auth(),
    )
    assert unknown.status_code == 422
    assert unknown.json()["fields"] == {
        "emission_factor": "must be one of the emission factors on file"
    }


async def test_the_distances_method_is_said_in_the_readers_language() -> None:
    assert (await distances(POINTS)).source == "great-circle distance × detour factor 1.3"
    with i18n.speaking("sl"):
        found = await distances(POINTS, detour_factor=1.25)
    assert found.source == "zračna razdalja × faktor ovinkov 1,25"
    with i18n.speaking("fi"):
        assert (await distances(POINTS)).source == "linnuntie × kiertokerroin 1,3"
    with i18n.speaking("mk"):
        assert (
            await distances(POINTS)
        ).source == "воздушно растојание × фактор на заобиколување 1,3"
