"""A requester's own link to a room request: it shows the request in the reader's
language, withdraws it (a withdrawn booking frees the room) and erases the requester's
data after saying what goes; a forged, foreign or expired link opens nothing and writes
nothing, and a form sent without the page's token (from another site) changes nothing."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from babel.dates import format_date, format_interval, format_skeleton
from starlette.applications import Starlette

from outreach.models import Notice, RoomRequest, RoomRequestStatus
from outreach.registration import links
from outreach.rooms.requests import LINK_SALT
from tests.rooms.test_room_requests import (
    PERSONAL,
    PURPOSE,
    TZ,
    Kranj,
    csrf,
    form,
    kranj,  # noqa: F401  (the fixture)
    sign_in,
)

SECRET_KEY = "test-secret-key-not-for-production"
_LINK = re.compile(r"https://outreach\.example\.org(/kr/rooms/requests/[A-Za-z0-9_.\-]+)")


def sl_when(day: dt.date) -> str:
    first = dt.datetime.combine(day, dt.time(17), tzinfo=TZ)
    last = dt.datetime.combine(day, dt.time(19), tzinfo=TZ)
    hours = format_interval(first, last, "Hm", locale="sl")
    return f"{format_date(day, 'full', locale='sl')}, {hours}"


async def _sent(client: httpx.AsyncClient, k: Kranj, **changes: str) -> tuple[RoomRequest, str]:
    """A request sent through the Slovenian form, and the path of the link in its notice."""
    sent = await client.post("/kr/rooms?lang=sl", data=form(k, **changes))
    assert sent.status_code == 303
    request = await RoomRequest.get(email=changes.get("email", PERSONAL[1]))
    notice = await Notice.get(
        template="room_request_received", dedupe_key__endswith=f":{request.id}"
    )
    assert notice.text is not None
    assert notice.html is not None
    found = _LINK.search(notice.text)
    assert found is not None
    assert found.group(0) in notice.html
    return request, found.group(1)


async def _post(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """A form of the link's page sent as the page sends it: with the page's token."""
    page = await client.get(path)
    assert page.status_code == 200
    return await client.post(path, data={**fields, "csrf_token": csrf(page.text)})


async def test_the_link_shows_withdraws_frees_the_room_and_erases(
    kranj: Kranj,  # noqa: F811  (the fixture imported above)
    client: httpx.AsyncClient,
) -> None:
    k = kranj
    request, path = await _sent(client, k)
    page = await client.get(path)
    assert page.status_code == 200
    assert "Velika dvorana, Osrednja knjižnica" in page.text
    assert sl_when(k.day) in page.text
    assert "Čaka na odgovor knjižnice." in page.text

    # A forged token, a registration's link for the same id, and an expired link: nothing
    # opens and nothing is written.
    assert request.secret is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    registration_link = links.sign(SECRET_KEY, request.id, request.secret, later)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    expired = links.sign(SECRET_KEY, request.id, request.secret, past, salt=LINK_SALT)
    for token, status in ((path.rsplit("/", 1)[1][:-2] + "xx", 404), (registration_link, 404)):
        for method in ("get", "post"):
            answer = await client.request(
                method.upper(), f"/kr/rooms/requests/{token}?lang=en", data={"action": "erase"}
            )
            assert answer.status_code == status
            assert (
                "This link is not valid. Please use the link from your email, whole." in answer.text
            )
    gone = await client.post(f"/kr/rooms/requests/{expired}?lang=en", data={"action": "withdraw"})
    assert gone.status_code == 410
    assert "This link has expired" in gone.text
    await request.refresh_from_db()
    assert (request.name, request.withdrawn_at, request.erased_at) == (PERSONAL[0], None, None)

    # The English pages above left their language in a cookie: the link's own language
    # (the request's) is what the requester reads by default.
    client.cookies.delete("outreach_lang")

    # Approved with a message; the requester sees both.
    await sign_in(client, k.library)
    listing = await client.get("/staff/rooms/requests")
    decided = await client.post(
        f"/staff/rooms/requests/{request.id}/decide",
        data={"approve": "1", "message": "Ključ je na izposoji.", "csrf_token": csrf(listing.text)},
    )
    assert decided.status_code == 303
    page = await client.get(path)
    assert "Odobreno: prostor je rezerviran za vas." in page.text
    assert "Ključ je na izposoji." in page.text

    # Withdrawn, the booking no longer holds the room: an event may have that time.
    event = {
        "library": "kr",
        "kind": "lecture",
        "title": {"sl": "Predavanje"},
        "start": f"{k.day.isoformat()}T18:00:00",
        "end": f"{k.day.isoformat()}T19:30:00",
        "branch": "center",
        "room": k.hall.id,
        "status": "published",
    }
    auth = {"Authorization": f"Bearer {k.director_token}"}
    assert (await client.post("/api/events", json=event, headers=auth)).status_code == 409
    withdrawn = await _post(client, path, action="withdraw")
    assert withdrawn.status_code == 200
    assert "Vaša prošnja je umaknjena. Hvala, ker ste nam sporočili." in withdrawn.text
    assert "To prošnjo ste umaknili." in withdrawn.text
    again = await _post(client, path, action="withdraw")
    assert again.status_code == 409
    assert "Te prošnje tu ni več mogoče umakniti." in again.text
    assert (await client.post("/api/events", json=event, headers=auth)).status_code == 201

    # Erased now: the personal data leaves the row and its notices; times and counts stay.
    erased = await _post(client, path, action="erase", confirm="yes")
    assert erased.status_code == 200
    assert "Vaši podatki so izbrisani." in erased.text
    request = await RoomRequest.get(id=request.id)
    assert (request.purpose, request.name, request.organisation, request.email, request.phone) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert (request.secret, request.attendees, request.status) == (
        None,
        15,
        RoomRequestStatus.APPROVED,
    )
    assert request.starts_at == dt.datetime.combine(k.day, dt.time(17), tzinfo=TZ)
    copies = await Notice.filter(dedupe_key__endswith=f":{request.id}").values_list(
        "recipient", "text", "html"
    )
    assert copies == [(None, None, None)] * 2  # received and approved
    assert (await client.get(path)).status_code == 404
    staff_page = await client.get("/staff/rooms/requests?lang=en")
    assert "withdrawn by the requester" in staff_page.text
    assert PURPOSE not in staff_page.text


async def test_a_public_booking_is_not_withdrawn_through_the_link(
    kranj: Kranj,  # noqa: F811  (the fixture imported above)
    client: httpx.AsyncClient,
) -> None:
    k = kranj
    request, path = await _sent(client, k)
    auth = {"Authorization": f"Bearer {k.director_token}"}
    approved = await client.post(
        f"/api/room-requests/{request.id}/decision",
        json={"decision": "approve", "public": True, "title": "Bralni klub", "kind": "club"},
        headers=auth,
    )
    assert approved.status_code == 200
    page = await client.get(path)
    assert "Odobreno: je dogodek v programu knjižnice." in page.text
    assert "pišite knjižnici" in page.text
    assert 'value="withdraw"' not in page.text
    refused = await _post(client, path, action="withdraw")
    assert refused.status_code == 409
    await request.refresh_from_db()
    assert (request.withdrawn_at, request.name) == (None, PERSONAL[0])
    # Erasing keeps the event of the programme, and says so: only the requester's data goes.
    asked = await _post(client, path, action="erase")
    assert (
        "<p>Dogodek ostane v programu knjižnice. Ta povezava ne bo več delovala. Ostanejo le"
        " prostor, čas in število ljudi, brez imena.</p>"
    ) in asked.text
    assert (await _post(client, path, action="erase", confirm="yes")).status_code == 200
    await request.refresh_from_db()
    assert (request.name, request.withdrawn_at, request.event_id) == (  # type: ignore[attr-defined]
        None,
        None,
        approved.json()["event"],
    )


async def _untouched(request: RoomRequest) -> None:
    """The request is as it was sent: neither withdrawn nor erased."""
    await request.refresh_from_db()
    assert (request.name, request.email, request.withdrawn_at, request.erased_at) == (
        PERSONAL[0],
        PERSONAL[1],
        None,
        None,
    )


async def test_erasing_asks_first_and_a_form_without_the_pages_token_changes_nothing(
    kranj: Kranj,  # noqa: F811  (the fixture imported above)
    client: httpx.AsyncClient,
    app: Starlette,
) -> None:
    k = kranj
    request, path = await _sent(client, k)
    page = await client.get(path)
    token = csrf(page.text)
    field = f'<input type="hidden" name="csrf_token" value="{token}">'
    assert page.text.count(field) == 2  # withdraw, erase

    # The first press of 'Erase my data now' only says what goes and what stays.
    asked = await client.post(path, data={"action": "erase", "csrf_token": token})
    assert asked.status_code == 200
    assert asked.headers["cache-control"] == "private, no-store"
    assert "<h1>Izbrisati vaše podatke?</h1>" in asked.text
    assert "<p>S tem takoj in za vedno izbrišete:</p>" in asked.text
    for item in (
        "vaše ime: Ana Novak",
        "vaša organizacija: Društvo Kranjski pisci",
        "vaš e-poštni naslov: ana.novak@example.org",
        "vaša telefonska številka: 041 555 123",
        f"kar ste napisali o namenu prostora: {PURPOSE}",
    ):
        assert f"<li>{item}</li>" in asked.text
    assert (
        "<p>Vaša prošnja bo nato umaknjena: knjižnica nanjo ne bo odgovorila. Ta povezava ne bo"
        " več delovala. Ostanejo le prostor, čas in število ljudi, brez imena.</p>"
    ) in asked.text
    assert field in asked.text
    assert '<input type="hidden" name="confirm" value="yes">' in asked.text
    assert f'<a href="{path}">Ne, obdrži mojo prošnjo</a>' in asked.text
    await _untouched(request)

    # A form posted from another site has the browser's cookie but not the page's token:
    # refused in the page's language, and nothing is erased or withdrawn.
    for forged in (
        {"action": "erase", "confirm": "yes"},
        {"action": "erase", "confirm": "yes", "csrf_token": token[:-2] + "xx"},
        {"action": "withdraw"},
    ):
        refused = await client.post(path, data=forged)
        assert refused.status_code == 403
        assert (
            "Nič ni bilo spremenjeno: obrazec je bil prestar. Poskusite znova na tej strani."
            in refused.text
        )
    await _untouched(request)
    # Another browser, with a session of its own, cannot use this page's token either.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=client.base_url) as stranger:
        await stranger.get(path)
        other = await stranger.post(
            path, data={"action": "erase", "confirm": "yes", "csrf_token": token}
        )
        assert other.status_code == 403
    await request.refresh_from_db()
    assert request.erased_at is None

    # Confirmed: the requester's data is gone from the row and from the staff pages; the
    # room, the time and the number of people stay.
    erased = await client.post(
        path, data={"action": "erase", "confirm": "yes", "csrf_token": token}
    )
    assert erased.status_code == 200
    assert "Vaši podatki so izbrisani. Ostanejo le prostor, čas in število ljudi." in erased.text
    gone = await RoomRequest.get(id=request.id)
    assert (gone.purpose, gone.name, gone.organisation, gone.email, gone.phone, gone.secret) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert gone.withdrawn_at is not None
    assert (gone.room_id, gone.attendees) == (k.hall.id, 15)  # type: ignore[attr-defined]
    assert (gone.starts_at, gone.ends_at) == (
        dt.datetime.combine(k.day, dt.time(17), tzinfo=TZ),
        dt.datetime.combine(k.day, dt.time(19), tzinfo=TZ),
    )
    assert (await client.get(path)).status_code == 404
    await sign_in(client, k.library)
    staff_page = await client.get("/staff/rooms/requests?lang=en")
    assert staff_page.status_code == 200
    first = dt.datetime.combine(k.day, dt.time(17), tzinfo=TZ)
    last = dt.datetime.combine(k.day, dt.time(19), tzinfo=TZ)
    hours = format_interval(first, last, "Hm", locale="en")
    shown = f"{format_skeleton('yMMMEd', first, locale='en')}, {hours}"
    assert (
        f"<tr><td>{shown}</td><td>Velika dvorana</td>\n"
        "      <td>withdrawn by the requester</td>\n"
        '      <td><span class="muted">erased</span></td>'
    ) in staff_page.text
    for personal in (*PERSONAL, PURPOSE):
        assert personal not in staff_page.text
