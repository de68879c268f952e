"""Words a bookmobile's staff read: every published factor on file may be chosen (their short
names carry the source's dotted figures, as the demo's DESNZ factors do), each said in the
page's language with the source's English cited beside it, and the distances' method is
said in the reader's language (the API's in English)."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest

from outreach import i18n
from outreach.bookmobile.distance import distances
from outreach.fixtures import load_fixtures
from outreach.models import EmissionFactor, Fuel, RoleName, Vehicle
from outreach.settings import PROJECT_ROOT
from tests.bookmobile.conftest import Bookmobiles
from tests.factories import make_user
from tests.web.test_staff_pages import sign_in

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


SMALL = "desnz-2024-hgv-diesel-rigid-3.5-7.5t-average-laden"
SMALL_SOURCE = (
    "UK Government GHG Conversion Factors for Company Reporting 2024 (DESNZ), Freighting goods"
    " > HGV (all diesel) > Rigid (>3.5 - 7.5 tonnes) > Average laden, km, kg CO2e"
)


@pytest.mark.parametrize(
    ("lang", "option"),
    [
        (
            "sl",
            "Težka tovorna vozila (vsa dizelska), solo vozila (nad 3,5 do 7,5 tone), povprečno"
            f" naložena, kg CO2e na km: 0,495 ({SMALL_SOURCE}, 2024)",
        ),
        (
            "mk",
            "Тешки товарни возила (сите на дизел), крути, неартикулирани (над 3,5 до 7,5 тони),"
            f" со просечен товар, kg CO2e по km: 0,495 ({SMALL_SOURCE}, 2024)",
        ),
        (
            "fi",
            "Raskaat kuorma-autot (kaikki dieselkäyttöisiä), jäykkärunkoiset (yli 3,5 ja enintään"
            " 7,5 tonnia), keskimääräinen kuorma, kg CO2e kilometriä kohden:"
            f" 0,495 ({SMALL_SOURCE}, 2024)",
        ),
        (
            "en",
            "Heavy goods vehicles (all diesel), rigid (over 3.5 to 7.5 tonnes), average laden,"
            f" kg CO2e per km: 0.495 ({SMALL_SOURCE}, 2024)",
        ),
    ],
)
async def test_a_published_factor_is_described_in_the_page_language(
    bm: Bookmobiles, client: httpx.AsyncClient, tmp_path: Path, lang: str, option: str
) -> None:
    """The fixture's factors as the vehicle form offers them: what each is in the page's
    language, the source's own English as the cited source."""
    (tmp_path / "emission_factors.toml").write_bytes(
        (PROJECT_ROOT / "fixtures" / "emission_factors.toml").read_bytes()
    )
    loaded = await load_fixtures(tmp_path)
    assert (loaded["emission_factors"], loaded["changed"]) == (3, 3)
    factor = await EmissionFactor.get(slug=SMALL)
    # The source's English, cited as it stands, whatever the page speaks.
    assert (factor.vehicle_class, factor.source) == (
        "HGV (all diesel), Rigid (>3.5 - 7.5 tonnes), Average laden",
        SMALL_SOURCE,
    )
    await make_user(
        "urednica@mb.si", password="vehicle words", roles=[(RoleName.EDITOR, bm.library)]
    )
    assert (await sign_in(client, "urednica@mb.si", "vehicle words")).status_code == 303
    page = await client.get(f"/staff/bookmobile/vehicles/new?library=mb&lang={lang}")
    assert page.status_code == 200
    assert f'<option value="{SMALL}" >{option}</option>' in html.unescape(page.text)
