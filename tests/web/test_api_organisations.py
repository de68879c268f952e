from __future__ import annotations

import httpx

from outreach.models import Library, Network
from tests.factories import make_branch, make_library, make_room, make_strategy


async def test_libraries_list_and_detail(db: str, client: httpx.AsyncClient) -> None:
    network = await Network.create(
        slug="lapin-kirjasto",
        name={"fi": "Lapin kirjasto", "en": "Lapland Library"},
        default_language="fi",
    )
    library = await make_library(
        "rovaniemi", timezone="Europe/Helsinki", language="fi", network=network
    )
    branch = await make_branch(library, "paakirjasto", name="Pääkirjasto", city="Rovaniemi")
    room = await make_room(branch, "aalto-sali", capacity=120)
    strategy = await make_strategy(network=network, slug="lapland-2021")

    listing = await client.get("/api/libraries")
    assert listing.status_code == 200
    assert listing.json() == {
        "libraries": [
            {
                "slug": "rovaniemi",
                "name": {"fi": "Knjižnica rovaniemi", "en": "rovaniemi Library"},
                "timezone": "Europe/Helsinki",
                "default_language": "fi",
                "languages": ["fi", "en"],
                "website": "",
                "network": "lapin-kirjasto",
                "town": None,
                "source": None,
                "url": "/api/libraries/rovaniemi",
            }
        ]
    }

    detail = (await client.get("/api/libraries/rovaniemi")).json()
    assert detail["branches"][0]["name"] == "Pääkirjasto"
    assert detail["branches"][0]["opening_hours"]["sat"] == [["08:00", "13:00"]]
    assert detail["branches"][0]["rooms"] == [
        {"id": room.id, "slug": "aalto-sali", "name": "Aalto-Sali", "capacity": 120}
    ]
    assert detail["strategies"] == [
        {
            "id": strategy.id,
            "slug": "lapland-2021",
            "name": {"fi": "Strategia", "en": "Strategy"},
            "url": f"/api/strategies/{strategy.id}",
        }
    ]


async def test_strategy_document(db: str, client: httpx.AsyncClient) -> None:
    library = await make_library("kranj")
    strategy = await make_strategy(library=library, slug="kranj-2021")
    body = (await client.get(f"/api/strategies/{strategy.id}")).json()
    assert body["owner"] == {"type": "library", "slug": "kranj"}
    # A strategy stored without what its document states: no period, demo in force.
    assert (body["period"], body["approved_on"], body["source"]) == (None, None, None)
    assert body["in_force"] == {
        "start": "2021-01-01",
        "end": "2024-12-31",
        "source": "demo",
        "note": "",
    }
    assert body["statements"] == []
    assert [v["name"]["fi"] for v in body["values"]] == ["rohkeus"]
    assert body["themes"][0]["code"] == "A"
    assert [(g["code"], g["name"]["en"]) for g in body["themes"][0]["goals"]] == [
        ("A1", "Processes free staff")
    ]
    by_slug = await client.get("/api/strategies/kranj-2021")
    assert by_slug.json()["id"] == strategy.id


async def test_unknown_ids_are_json_404(db: str, client: httpx.AsyncClient) -> None:
    for path, what in [
        ("/api/libraries/nowhere", "library not found"),
        ("/api/strategies/999999", "strategy not found"),
        ("/api/strategies/99999999999999999999", "strategy not found"),
        ("/api/strategies/no-such-slug", "strategy not found"),
        ("/nowhere/", "library not found"),
    ]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": what}, path


async def test_openapi_describes_the_read_paths(db: str, client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    for path in ("/healthz", "/api/libraries", "/api/libraries/{slug}", "/api/strategies/{id}"):
        assert "get" in spec["paths"][path], path
    assert spec["paths"]["/api/libraries/{slug}"]["get"]["parameters"][0]["name"] == "slug"
    assert spec["paths"]["/api/strategies/{id}"]["get"]["summary"] == (
        "A strategy with values, themes, goals, SDG mappings and targets."
    )
    nearest = spec["paths"]["/api/stops/nearest"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in nearest] == [
        ("lat", "query"),
        ("lon", "query"),
        ("limit", "query"),
        ("library", "query"),
    ]


async def test_a_member_known_by_name_says_from_where(db: str, client: httpx.AsyncClient) -> None:
    network = await Network.create(
        slug="lapin-kirjasto",
        name={"fi": "Lapin kirjasto", "en": "Lapland Library"},
        default_language="fi",
    )
    await make_library("inari", timezone="Europe/Helsinki", language="fi", network=network)
    await Library.filter(slug="inari").update(
        town="Inari", source="public: the municipalities of the Region of Lapland"
    )
    body = (await client.get("/api/libraries/inari")).json()
    assert (body["town"], body["source"], body["branches"]) == (
        "Inari",
        "public: the municipalities of the Region of Lapland",
        [],
    )
