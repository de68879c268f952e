"""Partner organisations (issue 15, item 6): the API (declared in /openapi.json) and the
staff pages that list, create and edit them."""

from __future__ import annotations

import httpx

from outreach.models import AuditEntry, Partner, PartnerKind, RoleName
from tests.factories import make_library, make_token_user
from tests.web.test_staff_pages import csrf_of


async def test_partners_through_the_api_and_the_staff_pages(
    db: str, client: httpx.AsyncClient
) -> None:
    library = await make_library("mkl")
    other = await make_library("far")
    await Partner.create(
        library=library,
        slug="muzej",
        name="Mestni muzej",
        kind=PartnerKind.PUBLIC,
        source={"kind": "demo", "note": "made up for the demo"},
    )
    editor = {
        "Authorization": "Bearer "
        + await make_token_user("editor@mkl.si", [(RoleName.EDITOR, library)])
    }
    outsider = {
        "Authorization": "Bearer "
        + await make_token_user("editor@far.si", [(RoleName.EDITOR, other)])
    }

    created = await client.post(
        "/api/libraries/mkl/partners",
        json={"slug": "sola", "name": "Osnovna šola", "kind": "education"},
        headers=editor,
    )
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("slug", "name", "kind", "demo", "source")} == {
        "slug": "sola",
        "name": "Osnovna šola",
        "kind": "education",
        "demo": False,
        "source": {"kind": "staff"},
    }
    taken = await client.post(
        "/api/libraries/mkl/partners",
        json={"slug": "sola", "name": "", "kind": "guild", "website": "ftp://x"},
        headers=editor,
    )
    assert taken.status_code == 422
    assert set(taken.json()["fields"]) == {"kind"}
    taken = await client.post(
        "/api/libraries/mkl/partners",
        json={"slug": "sola", "name": " ", "kind": "business", "website": "ftp://x"},
        headers=editor,
    )
    assert taken.json()["fields"] == {
        "slug": "is already used by another partner of this library",
        "name": "must not be empty",
        "website": "must be a web address starting with https:// or http://",
    }
    assert await Partner.filter(library_id=library.id).count() == 2
    assert (
        await client.post(
            "/api/libraries/mkl/partners",
            json={"slug": "x", "name": "X", "kind": "business"},
            headers=outsider,
        )
    ).status_code == 403

    partner_id = created.json()["id"]
    changed = await client.patch(
        f"/api/partners/{partner_id}",
        json={"website": "https://os.example.si"},
        headers=editor,
    )
    assert (changed.status_code, changed.json()["website"], changed.json()["name"]) == (
        200,
        "https://os.example.si",
        "Osnovna šola",
    )
    listed = await client.get("/api/libraries/mkl/partners", headers=editor)
    assert [(p["slug"], p["demo"]) for p in listed.json()["partners"]] == [
        ("muzej", True),
        ("sola", False),
    ]
    assert await AuditEntry.filter(entity="partner").count() == 2

    # The staff pages, in Slovenian: the list, a new partner, a refused edit.
    page = await client.get("/staff/partners?lang=sl", headers=editor)
    assert page.status_code == 200
    assert "Mestni muzej" in page.text
    assert "demonstracijsko partnerstvo" in page.text
    new = await client.get("/staff/partners/new?library=mkl", headers=editor)
    saved = await client.post(
        "/staff/partners/new",
        data={
            "csrf_token": csrf_of(new.text),
            "library": "mkl",
            "slug": "drustvo",
            "name": "Društvo upokojencev",
            "kind": "community",
            "website": "",
        },
        headers=editor,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/staff/partners")
    assert await Partner.get(library_id=library.id, slug="drustvo")
    edit = await client.get(f"/staff/partners/{partner_id}/edit", headers=editor)
    refused = await client.post(
        f"/staff/partners/{partner_id}/edit",
        data={
            "csrf_token": csrf_of(edit.text),
            "slug": "muzej",
            "name": "Osnovna šola",
            "kind": "education",
            "website": "",
        },
        headers=editor,
    )
    assert refused.status_code == 422
    assert "Partner ni bil shranjen" in refused.text
    assert "To kratko ime že ima drug partner te knjižnice." in refused.text
    assert (await Partner.get(id=partner_id)).slug == "sola"

    openapi = (await client.get("/openapi.json")).json()
    assert {"/api/libraries/{slug}/partners", "/api/partners/{id}"} <= set(openapi["paths"])
    answer = openapi["paths"]["/api/libraries/{slug}/partners"]["post"]["responses"]["201"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PartnerOut"
    }
