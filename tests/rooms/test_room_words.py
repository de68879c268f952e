"""A room request's mail in Slovenian and Macedonian: the room is named after the word
"prostor" / "просторија", so the sentence agrees whatever the room's name (Velika dvorana
is feminine: "Velika dvorana je rezerviran" and "prošnjo za Velika dvorana" were wrong)."""

from __future__ import annotations

import httpx

from outreach.models import Notice
from tests.rooms.test_room_requests import Kranj, csrf, form, kranj, sign_in

__all__ = ["kranj"]  # the fixture, used by name


async def test_the_requesters_mail_names_the_room_after_the_word_room(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    sent = await client.post("/kr/rooms?lang=sl", data=form(kranj))
    assert sent.status_code == 303
    received = await Notice.get(template="room_request_received")
    assert received.subject == "Prejeli smo vašo prošnjo za prostor Velika dvorana"
    assert "Prejeli smo vašo prošnjo za prostor Velika dvorana (Osrednja knjižnica)" in (
        received.text
    )
    await sign_in(client, kranj.library)
    listing = await client.get("/staff/rooms/requests")
    request_id = listing.text.split("/staff/rooms/requests/")[1].split("/decide")[0]
    approved = await client.post(
        f"/staff/rooms/requests/{request_id}/decide",
        data={"approve": "1", "message": "", "csrf_token": csrf(listing.text)},
    )
    assert approved.status_code == 303
    notice = await Notice.get(template="room_request_approved")
    assert notice.subject == "Prostor Velika dvorana je rezerviran za vas"
    mk = await client.post("/kr/rooms?lang=mk", data=form(kranj, start="19:00", end="20:00"))
    assert mk.status_code == 303
    latest = await Notice.filter(template="room_request_received").order_by("-id").first()
    assert latest is not None
    assert latest.subject == "Го добивме вашето барање за просторијата Velika dvorana"
