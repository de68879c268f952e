"""The domain's refusals in the reader's language: a staff page that negotiated Slovenian
shows the shared input checks', the repeat rule's, the daylight-saving gap's, the stale
revision's and the vehicle checks' words in Slovenian; the API keeps its English ones."""

from __future__ import annotations

import html

import httpx

from outreach.models import Event, RoleName, Vehicle
from tests.factories import make_token_user
from tests.web.test_staff_pages import (
    Staff,
    csrf_of,
    form_fields,
    make_event,
    next_weekday,
    sign_in,
)

# The library, room and editor of the staff pages' tests, as a fixture of this module.
from tests.web.test_staff_pages import staff as mkl_staff  # noqa: F401

# 28 March 2027: Ljubljana's clocks go from 02:00 to 03:00, so 02:30 never happens.
GAP_DAY = "2027-03-28"


async def test_event_form_words_the_rule_the_gap_and_the_revision_in_slovenian(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    page = await client.get("/staff/events/new?library=mkl&lang=sl")
    fields = form_fields(
        mkl_staff,
        start_date=GAP_DAY,
        start_time="02:30",
        end_date=GAP_DAY,
        end_time="04:00",
        repeat="custom",
        rrule="FREQ=HOURLY",
    )
    refused = await client.post(
        "/staff/events/new?library=mkl", data={**fields, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert (
        "2027-03-28T02:30:00 v časovnem pasu Europe/Ljubljana ne obstaja"
        " (ure se premaknejo naprej); bilo bi 03:30"
    ) in text
    assert "FREQ=HOURLY ni dovoljen: dogodki se ponavljajo največ vsak dan" in text
    assert "does not exist" not in text
    assert "is not allowed" not in text
    assert await Event.all().count() == 0

    event_id = await make_event(mkl_staff)
    edit = await client.get(f"/staff/events/{event_id}/edit")
    day = next_weekday(0).isoformat()
    changed = form_fields(
        mkl_staff, start_date=day, end_date=day, start_time="10:00", end_time="11:30", revision="1"
    )
    token = csrf_of(edit.text)
    saved = await client.post(
        f"/staff/events/{event_id}/edit", data={**changed, "csrf_token": token}
    )
    assert saved.status_code == 303
    stale = await client.post(
        f"/staff/events/{event_id}/edit", data={**changed, "csrf_token": token}
    )
    assert stale.status_code == 409
    assert "dogodek je že v različici 2, ne 1" in html.unescape(stale.text)


async def test_the_api_keeps_the_english_words_whatever_the_client_asks_for(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    token = await make_token_user("api@mklj.si", [(RoleName.EDITOR, mkl_staff.library)])
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "sl"}
    refused = await client.post(
        "/api/events?lang=sl",
        json={
            "library": "mkl",
            "kind": "storytime",
            "title": {"sl": "Pravljična ura"},
            "start": f"{GAP_DAY}T02:30:00",
            "end": f"{GAP_DAY}T04:00:00",
            "timezone": "Europe/Ljubljana",
            "rrule": "FREQ=HOURLY",
        },
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "invalid input",
        "fields": {
            "start": "2027-03-28T02:30:00 does not exist in Europe/Ljubljana"
            " (the clocks go forward); it would be 03:30",
            "rrule": "FREQ=HOURLY is not allowed: events repeat at most daily",
        },
    }
    shared = await client.post(
        "/api/events",
        json={"library": "mkl", "kind": "storytime", "title": {"sl": "Ura"}, "capacity": "many"},
        headers=headers,
    )
    assert shared.status_code == 422
    assert shared.json()["fields"] == {
        "capacity": "must be a whole number",
        "start": "is required",
        "end": "is required",
    }


async def test_vehicle_form_words_bad_numbers_in_slovenian_and_the_api_in_english(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    page = await client.get("/staff/bookmobile/vehicles/new?library=mkl&lang=sl")
    assert page.status_code == 200
    entered = {
        "library": "mkl",
        "name": "Bibliobus",
        "slug": "bibliobus",
        "registration": "LJ 12-345",
        "fuel": "diesel",
        "emission_factor": "",
        "kg_co2e_per_km": "veliko",
        "emission_factor_source": "",
        "average_speed_kmh": "200",
    }
    refused = await client.post(
        "/staff/bookmobile/vehicles/new", data={**entered, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "mora biti število med 5 in 130" in text
    assert "mora biti število kg CO2e na km med 0 in 10" in text
    assert "navesti morate, od kod je podatek" in text
    assert "must be" not in text
    assert await Vehicle.all().count() == 0

    token = await make_token_user("api@mklj.si", [(RoleName.EDITOR, mkl_staff.library)])
    api = await client.post(
        "/api/vehicles",
        json={
            "library": "mkl",
            "name": "Bibliobus",
            "slug": "bibliobus",
            "fuel": "diesel",
            "kg_co2e_per_km": "veliko",
            "emission_factor_source": "",
            "average_speed_kmh": 200,
        },
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "sl"},
    )
    assert api.status_code == 422
    assert api.json()["fields"] == {
        "kg_co2e_per_km": "must be a number of kg CO2e per km between 0 and 10",
        "emission_factor_source": "must name where the figure comes from",
        "average_speed_kmh": "must be a number between 5 and 130",
    }


async def test_a_room_or_branch_not_of_the_library_is_named_without_ids_in_slovenian(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    page = await client.get("/staff/events/new?library=mkl&lang=sl")
    fields = form_fields(mkl_staff, branch="nowhere", room="999999")
    refused = await client.post(
        "/staff/events/new?library=mkl", data={**fields, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Mestna knjižnica Ljubljana nima take enote" in text
    assert "Mestna knjižnica Ljubljana nima takega prostora" in text
    assert "999999" not in text.split("<form", 1)[0]
    assert "nowhere" not in text.split("<form", 1)[0]
    assert await Event.all().count() == 0


async def test_a_missing_partner_or_vehicle_is_named_on_its_404_page_in_slovenian(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    browser = {"accept": "text/html"}
    partner = await client.get("/staff/partners/999999/edit?lang=sl", headers=browser)
    assert partner.status_code == 404
    assert "Ta partner ne obstaja." in partner.text
    vehicle = await client.get("/staff/bookmobile/vehicles/999999/edit?lang=sl", headers=browser)
    assert vehicle.status_code == 404
    assert "To vozilo ne obstaja." in vehicle.text
    api = await client.get("/api/vehicles/999999", headers=browser)
    assert api.json() == {"error": "vehicle not found"}
