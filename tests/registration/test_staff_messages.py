"""The registration staff page's answers in the library's language: what a phone
registration got (never a status code such as ``waitlisted``) and why a form was refused,
each field by its label on the page. The API keeps its English words."""

from __future__ import annotations

import html

import httpx

from outreach.models import Registration, RoleName
from tests import factories
from tests.registration.conftest import STARTS, Workshop
from tests.registration.test_staff_pages import PASSWORD, csrf_of
from tests.web.test_staff_pages import sign_in


async def test_phone_registrations_and_refusals_are_said_in_slovenian(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    await factories.make_user("urednica@mkl.si", roles=[(RoleName.EDITOR, workshop.library)])
    assert (await sign_in(client, "urednica@mkl.si", PASSWORD)).status_code == 303
    page_url = f"/staff/events/{workshop.event.id}/registrations"
    start = STARTS[1].isoformat()
    page = await client.get(page_url, params={"original_start": start})
    token = csrf_of(page.text)
    phone = {"csrf_token": token, "action": "phone", "original_start": start, "name": "Novak"}

    too_many = await client.post(page_url, data={**phone, "party_size": "25"})
    assert too_many.status_code == 303
    shown = html.unescape((await client.get(too_many.headers["location"])).text)
    assert "Nič ni bilo spremenjeno: Osebe: je več, kot je mest tega dogodka (20)" in shown
    assert await Registration.all().count() == 0

    placed = await client.post(page_url, data={**phone, "party_size": "2"})
    shown = html.unescape((await client.get(placed.headers["location"])).text)
    assert "Prijavljeno: skupina ima svoje mesto." in shown
    assert "confirmed" not in shown

    registration = await Registration.get()
    cancel = {"csrf_token": token, "action": "cancel", "registration": str(registration.id)}
    await client.post(page_url, data={**cancel, "original_start": start})
    again = await client.post(page_url, data={**cancel, "original_start": start})
    shown = html.unescape((await client.get(again.headers["location"])).text)
    assert "Nič ni bilo spremenjeno: prijava ni dejavna; Stanje: je preklicana" in shown
    assert "is cancelled" not in shown


async def test_a_phone_registrations_bad_name_and_address_are_said_in_slovenian(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    """The declared checks' own words (a blank name, an address without its domain) reach
    the page in its language, each after its field's label; the API's stay English."""
    await factories.make_user("urednica@mkl.si", roles=[(RoleName.EDITOR, workshop.library)])
    assert (await sign_in(client, "urednica@mkl.si", PASSWORD)).status_code == 303
    page_url = f"/staff/events/{workshop.event.id}/registrations"
    start = STARTS[1].isoformat()
    token = csrf_of((await client.get(page_url, params={"original_start": start})).text)
    refused = await client.post(
        page_url,
        data={
            "csrf_token": token,
            "action": "phone",
            "original_start": start,
            "name": "  ",
            "email": "ana@",
        },
    )
    assert refused.status_code == 303
    shown = html.unescape((await client.get(refused.headers["location"])).text)
    assert (
        "Nič ni bilo spremenjeno: Ime ali psevdonim: ne sme biti prazno (zadošča ime ali"
        " psevdonim); E-poštni naslov: mora biti e-poštni naslov, na primer ana@example.org"
    ) in shown
    for english in ("must not be empty", "pseudonym will do", "must be an email address"):
        assert english not in shown
    assert await Registration.all().count() == 0

    api = await client.post(
        f"/api/events/{workshop.event.id}/registrations",
        json={"original_start": start, "name": " ", "email": "ana@", "consent": True},
        headers={"Accept-Language": "sl"},
    )
    assert (api.status_code, api.json()["fields"]) == (
        422,
        {
            "name": "must not be empty (a first name or a pseudonym will do)",
            "email": "must be an email address such as ana@example.org",
        },
    )
