"""The domain's refusals in the reader's language: a staff page that negotiated Slovenian
shows the shared input checks', the repeat rule's, the daylight-saving gap's, the stale
revision's and the vehicle checks' words in Slovenian; the API keeps its English ones."""

from __future__ import annotations

import html
from typing import Any

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


async def _submit(
    client: httpx.AsyncClient, page: str, fields: dict[str, Any], status: int, *, to: str = ""
) -> str:
    """Open a staff form's ``page`` (200) and send ``fields`` with its CSRF token to ``to``
    (the page itself unless given): the answer must have ``status``; its text, unescaped."""
    opened = await client.get(page)
    assert opened.status_code == 200
    answer = await client.post(to or page, data={**fields, "csrf_token": csrf_of(opened.text)})
    assert answer.status_code == status
    return html.unescape(answer.text)


async def _api_refusal(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """POST ``body`` to ``path``: refused as invalid input (422); the answer's body."""
    refused = await client.post(path, json=body, headers=headers)
    assert refused.status_code == 422
    return dict(refused.json())


async def test_event_form_words_the_rule_the_gap_and_the_revision_in_slovenian(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    fields = form_fields(
        mkl_staff,
        start_date=GAP_DAY,
        start_time="02:30",
        end_date=GAP_DAY,
        end_time="04:00",
        repeat="custom",
        rrule="FREQ=HOURLY",
    )
    text = await _submit(
        client,
        "/staff/events/new?library=mkl&lang=sl",
        fields,
        422,
        to="/staff/events/new?library=mkl",
    )
    assert (
        "2027-03-28T02:30:00 v časovnem pasu Europe/Ljubljana ne obstaja"
        " (ure se premaknejo naprej); bilo bi 03:30"
    ) in text
    assert "FREQ=HOURLY ni dovoljen: dogodki se ponavljajo največ vsak dan" in text
    assert "does not exist" not in text
    assert "is not allowed" not in text
    assert await Event.all().count() == 0

    event_id = await make_event(mkl_staff)
    day = next_weekday(0).isoformat()
    changed = form_fields(
        mkl_staff, start_date=day, end_date=day, start_time="10:00", end_time="11:30", revision="1"
    )
    await _submit(client, f"/staff/events/{event_id}/edit", changed, 303)
    # The same form sent again still says revision 1.
    stale = await _submit(client, f"/staff/events/{event_id}/edit", changed, 409)
    assert "dogodek je že v različici 2, ne 1" in stale


async def test_the_api_keeps_the_english_words_whatever_the_client_asks_for(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    token = await make_token_user("api@mklj.si", [(RoleName.EDITOR, mkl_staff.library)])
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "sl"}
    refused = await _api_refusal(
        client,
        "/api/events?lang=sl",
        {
            "library": "mkl",
            "kind": "storytime",
            "title": {"sl": "Pravljična ura"},
            "start": f"{GAP_DAY}T02:30:00",
            "end": f"{GAP_DAY}T04:00:00",
            "timezone": "Europe/Ljubljana",
            "rrule": "FREQ=HOURLY",
        },
        headers,
    )
    assert refused == {
        "error": "invalid input",
        "fields": {
            "start": "2027-03-28T02:30:00 does not exist in Europe/Ljubljana"
            " (the clocks go forward); it would be 03:30",
            "rrule": "FREQ=HOURLY is not allowed: events repeat at most daily",
        },
    }
    shared = await _api_refusal(
        client,
        "/api/events",
        {"library": "mkl", "kind": "storytime", "title": {"sl": "Ura"}, "capacity": "many"},
        headers,
    )
    assert shared["fields"] == {
        "capacity": "must be a whole number",
        "start": "is required",
        "end": "is required",
    }


async def test_vehicle_form_words_bad_numbers_in_slovenian_and_the_api_in_english(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
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
    text = await _submit(
        client,
        "/staff/bookmobile/vehicles/new?library=mkl&lang=sl",
        entered,
        422,
        to="/staff/bookmobile/vehicles/new",
    )
    assert "mora biti število med 5 in 130" in text
    assert "mora biti število kg CO2e na km med 0 in 10" in text
    assert "navesti morate, od kod je podatek" in text
    assert "must be" not in text
    assert await Vehicle.all().count() == 0

    token = await make_token_user("api@mklj.si", [(RoleName.EDITOR, mkl_staff.library)])
    api = await _api_refusal(
        client,
        "/api/vehicles",
        {
            "library": "mkl",
            "name": "Bibliobus",
            "slug": "bibliobus",
            "fuel": "diesel",
            "kg_co2e_per_km": "veliko",
            "emission_factor_source": "",
            "average_speed_kmh": 200,
        },
        {"Authorization": f"Bearer {token}", "Accept-Language": "sl"},
    )
    assert api["fields"] == {
        "kg_co2e_per_km": "must be a number of kg CO2e per km between 0 and 10",
        "emission_factor_source": "must name where the figure comes from",
        "average_speed_kmh": "must be a number between 5 and 130",
    }


async def test_a_room_or_branch_not_of_the_library_is_named_without_ids_in_slovenian(
    mkl_staff: Staff,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "urednica@mklj.si")
    fields = form_fields(mkl_staff, branch="nowhere", room="999999")
    text = await _submit(
        client,
        "/staff/events/new?library=mkl&lang=sl",
        fields,
        422,
        to="/staff/events/new?library=mkl",
    )
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
