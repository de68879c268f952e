"""Room requests end to end: the public page and its form, the staff's answer, the booking
that blocks the room, personal data kept out of everything public and erased in time."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from babel.dates import format_date, format_interval, format_skeleton
from tortoise.transactions import in_transaction

from outreach.mail.outbox import enqueue
from outreach.models import (
    AuditEntry,
    Event,
    EventKind,
    EventStatus,
    Library,
    Notice,
    NoticeStatus,
    Occurrence,
    RoleName,
    Room,
    RoomRequest,
    RoomRequestStatus,
    Visibility,
)
from outreach.rooms.requests import erase_expired, keep_erasing, notice_key
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.web.limits import RateLimit
from tests import factories

TZ = ZoneInfo("Europe/Ljubljana")
PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PERSONAL = ("Ana Novak", "ana.novak@example.org", "041 555 123", "Društvo Kranjski pisci")
PURPOSE = "Monthly meeting of the Kranj writers circle"


@dataclass
class Kranj:
    library: Library
    hall: Room
    closed: Room
    day: dt.date
    director_token: str


@pytest_asyncio.fixture
async def kranj(db: str) -> Kranj:
    library = await factories.make_library(
        "kr", name={"sl": "Mestna knjižnica Kranj", "en": "Kranj City Library"}
    )
    branch = await factories.make_branch(
        library, "center", name="Osrednja knjižnica", address="Gregorčičeva 1", city="Kranj"
    )
    hall = await Room.create(
        branch=branch, slug="hall", name="Velika dvorana", capacity=40, requestable=True
    )
    closed = await Room.create(branch=branch, slug="board", name="Sejna soba", capacity=12)
    # A Thursday three to four weeks ahead: always in the future, never more than a year.
    today = dt.datetime.now(TZ).date()
    day = today + dt.timedelta(days=21 + (3 - today.weekday()) % 7)
    token = await factories.make_token_user(
        "director@kr.si", [(RoleName.DIRECTOR, library), (RoleName.EDITOR, library)]
    )
    # An internal staff training in the hall that morning: its title must never show.
    training = await Event.create(
        library=library,
        kind=EventKind.STAFF_TRAINING,
        title={"sl": "Interno usposabljanje"},
        starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=TZ).astimezone(dt.UTC),
        ends_at=dt.datetime.combine(day, dt.time(12), tzinfo=TZ).astimezone(dt.UTC),
        timezone="Europe/Ljubljana",
        branch=branch,
        room=hall,
        visibility=Visibility.INTERNAL,
        status=EventStatus.PUBLISHED,
        updated_at=dt.datetime.now(dt.UTC),
    )
    await rebuild_occurrences(training)
    return Kranj(library, hall, closed, day, token)


def hours(day: dt.date, start: int, end: int, lang: str = "en") -> str:
    """A local interval as Babel writes it in ``lang`` (``10:00 – 12:00`` in English)."""
    first = dt.datetime.combine(day, dt.time(start), tzinfo=TZ)
    last = dt.datetime.combine(day, dt.time(end), tzinfo=TZ)
    return format_interval(first, last, "Hm", locale=lang)


def when(day: dt.date, lang: str = "en") -> str:
    """The day and 17:00–19:00 as notices and messages write them."""
    return f"{format_date(day, 'full', locale=lang)}, {hours(day, 17, 19, lang)}"


def form(k: Kranj, **changes: str) -> dict[str, str]:
    values = {
        "room": str(k.hall.id),
        "day": k.day.isoformat(),
        "start": "17:00",
        "end": "19:00",
        "attendees": "15",
        "purpose": PURPOSE,
        "name": PERSONAL[0],
        "organisation": PERSONAL[3],
        "email": PERSONAL[1],
        "phone": PERSONAL[2],
        "consent": "yes",
        "website": "",
    }
    values.update(changes)
    return values


async def sign_in(client: httpx.AsyncClient, library: Library) -> None:
    await factories.make_user("desk@kr.si", password=PASSWORD, roles=[(RoleName.DIRECTOR, library)])
    page = await client.get("/staff/login")
    token = _TOKEN.search(page.text)
    assert token is not None
    signed = await client.post(
        "/staff/login",
        data={"email": "desk@kr.si", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303


def csrf(html: str) -> str:
    found = _TOKEN.search(html)
    assert found is not None
    return found.group(1)


async def test_request_approval_and_the_double_booking_it_refuses(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    k = kranj
    page = await client.get(f"/kr/rooms?lang=en&from={k.day.isoformat()}")
    assert page.status_code == 200
    assert "Velika dvorana" in page.text
    # Only rooms open to requests; busy times without a word of what fills them.
    assert "Sejna soba" not in page.text
    assert hours(k.day, 10, 12) in page.text
    assert "Interno usposabljanje" not in page.text

    refused = await client.post(
        "/kr/rooms?lang=en", data=form(k, name="", email="ana@", consent="", end="16:00")
    )
    assert refused.status_code == 422
    for text in (
        "Give your name (at most 200 characters).",
        "Give an email address such as ana@example.org.",
        "Agree to the keeping of your details, or the request cannot be sent.",
    ):
        assert text in refused.text
    crowded = await client.post("/kr/rooms?lang=en", data=form(k, attendees="41"))
    assert crowded.status_code == 422
    assert "Velika dvorana holds at most 40 people" in crowded.text
    taken = await client.post("/kr/rooms?lang=en", data=form(k, start="11:00", end="13:00"))
    assert taken.status_code == 409
    assert "The room is taken at that time: choose a free time." in taken.text
    # The requester learns that the room is taken, never by what.
    assert "Interno usposabljanje" not in taken.text
    assert await RoomRequest.all().count() == 0

    sent = await client.post("/kr/rooms?lang=en", data=form(k))
    assert sent.status_code == 303
    assert sent.headers["location"] == "/kr/rooms?sent=1"
    robot = await client.post("/kr/rooms?lang=en", data=form(k, website="http://spam.example"))
    assert robot.status_code == 303
    (request,) = await RoomRequest.all()
    assert (request.status, request.name, request.email, request.language) == (
        RoomRequestStatus.PENDING,
        PERSONAL[0],
        PERSONAL[1],
        "en",
    )
    received = await Notice.get(template="room_request_received")
    assert received.recipient == PERSONAL[1]
    assert received.subject == "We have your request for Velika dvorana"
    assert f"Velika dvorana (Osrednja knjižnica) on {when(k.day)}." in received.text

    await sign_in(client, k.library)
    listing = await client.get("/staff/rooms/requests")
    assert listing.status_code == 200
    day = dt.datetime.combine(k.day, dt.time(17), tzinfo=TZ)
    slot = f"{format_skeleton('yMMMEd', day, locale='en')}, {hours(k.day, 17, 19)}"
    for text in (*PERSONAL, PURPOSE, f"Velika dvorana · {slot}"):
        assert text in listing.text
    approved = await client.post(
        f"/staff/rooms/requests/{request.id}/decide",
        data={
            "approve": "1",
            "message": "The key is at the front desk.",
            "csrf_token": csrf(listing.text),
        },
    )
    assert approved.status_code == 303
    await request.refresh_from_db()
    assert (request.status, request.visibility, request.event_id) == (  # type: ignore[attr-defined]
        RoomRequestStatus.APPROVED,
        Visibility.INTERNAL,
        None,
    )
    notice = await Notice.get(template="room_request_approved")
    assert notice.subject == "Velika dvorana is booked for you"
    assert f"is booked for you on {when(k.day)}." in notice.text
    assert "The key is at the front desk." in notice.text
    again = await client.post(
        f"/staff/rooms/requests/{request.id}/decide",
        data={"decline": "1", "csrf_token": csrf(listing.text)},
    )
    assert again.status_code == 409
    assert "This request has already been answered." in again.text

    # The booking holds the room: the public page shows it taken, events cannot have it.
    shown = await client.get(f"/kr/rooms?lang=en&from={k.day.isoformat()}")
    assert hours(k.day, 17, 19) in shown.text
    clash = await client.post(
        "/api/events",
        json={
            "library": "kr",
            "kind": "lecture",
            "title": {"sl": "Predavanje"},
            "start": f"{k.day.isoformat()}T18:00:00",
            "end": f"{k.day.isoformat()}T19:30:00",
            "branch": "center",
            "room": k.hall.id,
            "status": "published",
        },
        headers={"Authorization": f"Bearer {k.director_token}"},
    )
    assert clash.status_code == 409
    (conflict,) = clash.json()["conflicts"]
    assert conflict["event"] is None
    assert conflict["booking"] == request.id
    assert conflict["title"]["en"] == "a booking of the room (an approved room request)"
    assert conflict["title"]["sl"] != conflict["title"]["en"]
    assert (conflict["resource"], conflict["resource_id"]) == ("room", k.hall.id)
    # Nor another request for that time.
    second = await client.post("/kr/rooms?lang=en", data=form(k, start="18:30", end="20:00"))
    assert second.status_code == 409

    # Nothing of the request in feeds, public pages, the API's public answers or the log.
    for path in ("/feeds/kr.ics", "/kr/events", "/kr/", "/api/events?library=kr"):
        answer = await client.get(path)
        for text in (*PERSONAL, PURPOSE):
            assert text not in answer.text, (path, text)
    for entry in await AuditEntry.filter(entity="room_request"):
        for text in (*PERSONAL, PURPOSE):
            assert text not in str(entry.changes)


async def test_a_public_booking_is_an_event_and_a_second_approval_is_refused_in_words(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    k = kranj
    auth = {"Authorization": f"Bearer {k.director_token}"}
    body = {**form(k), "library": "kr", "room": k.hall.id, "attendees": 12, "consent": True}
    del body["website"]
    # The second without a phone or an organisation: both are optional.
    for email, optional in (
        ("first@example.org", {}),
        ("second@example.org", {"phone": "", "organisation": ""}),
    ):
        sent = await client.post("/api/room-requests", json={**body, "email": email, **optional})
        assert sent.status_code == 202
        assert sent.json() == {"status": "received"}
    listing = await client.get("/api/room-requests", headers=auth)
    assert listing.status_code == 200
    first, second = sorted(listing.json()["requests"], key=lambda r: r["id"])
    starts = dt.datetime.combine(k.day, dt.time(17), TZ).isoformat(timespec="minutes")
    assert (first["email"], first["status"], first["start"]) == (
        "first@example.org",
        "pending",
        starts,
    )
    assert (second["phone"], second["organisation"]) == (None, None)
    assert (await client.get("/api/room-requests")).status_code == 401

    missing = await client.post(
        f"/api/room-requests/{first['id']}/decision",
        json={"decision": "approve", "public": True},
        headers=auth,
    )
    assert missing.status_code == 422
    assert missing.json()["fields"] == {"title": "is required to make the booking public"}
    approved = await client.post(
        f"/api/room-requests/{first['id']}/decision",
        json={"decision": "approve", "public": True, "title": "Bralni klub", "kind": "club"},
        headers=auth,
    )
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["visibility"]) == ("approved", "public")
    event = await Event.get(id=approved.json()["event"])
    assert (event.title, event.kind, event.room_id, event.visibility) == (  # type: ignore[attr-defined]
        {"sl": "Bralni klub"},
        EventKind.CLUB,
        k.hall.id,
        Visibility.PUBLIC,
    )
    assert await Occurrence.filter(event_id=event.id, room_id=k.hall.id).count() == 1
    feed = await client.get("/feeds/kr.ics")
    assert "SUMMARY:Bralni klub" in feed.text
    assert PURPOSE not in feed.text
    assert "first@example.org" not in feed.text

    refused = await client.post(
        f"/api/room-requests/{second['id']}/decision",
        json={"decision": "approve"},
        headers={**auth, "Accept-Language": "en"},
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == (
        f"The room is already booked {when(k.day)} by “Bralni klub”."
    )
    declined = await client.post(
        f"/api/room-requests/{second['id']}/decision",
        json={"decision": "decline", "message": "Sorry, the hall is taken."},
        headers=auth,
    )
    assert declined.json()["status"] == "declined"
    notice = await Notice.get(template="room_request_declined")
    assert notice.recipient == "second@example.org"
    assert "Sorry, the hall is taken." in notice.text
    assert "Bralni klub" not in f"{notice.subject} {notice.text} {notice.html}"


async def test_personal_data_is_erased_after_the_set_days(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    k = kranj
    ends = dt.datetime(2026, 5, 4, 17, tzinfo=dt.UTC)
    common: dict[str, Any] = {
        "library": k.library,
        "room": k.hall,
        "attendees": 5,
        "language": "sl",
        "consented_at": ends - dt.timedelta(days=20),
        "created_at": ends - dt.timedelta(days=20),
    }
    old = await RoomRequest.create(
        starts_at=ends - dt.timedelta(hours=2),
        ends_at=ends,
        purpose=PURPOSE,
        name=PERSONAL[0],
        email=PERSONAL[1],
        phone=PERSONAL[2],
        organisation=PERSONAL[3],
        status=RoomRequestStatus.APPROVED,
        **common,
    )
    recent = await RoomRequest.create(
        starts_at=ends + dt.timedelta(days=1),
        ends_at=ends + dt.timedelta(days=1, hours=2),
        purpose="Choir",
        name="Eva",
        email="eva@example.org",
        **common,
    )
    # Their notices hold the name and address too: the old one's copy goes with it.
    async with in_transaction("default") as conn:
        for request in (old, recent):
            await enqueue(
                conn,
                request.email or "",
                "room_request_received",
                "sl",
                {
                    "library": "Kranj",
                    "room": "Velika dvorana",
                    "branch": "Osrednja knjižnica",
                    "address": "",
                    "when": "",
                    "name": request.name,
                    "message": "",
                    "public": False,
                    "erase_days": 30,
                },
                notice_key("room_request_received", request.id),
            )
    now = ends + dt.timedelta(days=30, seconds=1)
    assert await erase_expired(30, now=now) == 1
    assert await erase_expired(30, now=now) == 0
    await old.refresh_from_db()
    await recent.refresh_from_db()
    assert (old.purpose, old.name, old.email, old.phone, old.organisation) == (None,) * 5
    assert old.erased_at == now
    assert (old.attendees, old.status, old.starts_at) == (
        5,
        RoomRequestStatus.APPROVED,
        ends - dt.timedelta(hours=2),
    )
    assert (recent.name, recent.email, recent.erased_at) == ("Eva", "eva@example.org", None)
    erased_notice = await Notice.get(dedupe_key=notice_key("room_request_received", old.id))
    assert (erased_notice.recipient, erased_notice.status) == (None, NoticeStatus.DROPPED)
    assert not erased_notice.text
    kept = await Notice.get(dedupe_key=notice_key("room_request_received", recent.id))
    assert (kept.recipient, kept.status) == ("eva@example.org", NoticeStatus.PENDING)
    listing = await client.get(
        "/api/room-requests", headers={"Authorization": f"Bearer {k.director_token}"}
    )
    erased = next(r for r in listing.json()["requests"] if r["id"] == old.id)
    assert (erased["name"], erased["email"], erased["purpose"], erased["erased"]) == (
        None,
        None,
        None,
        True,
    )


def test_the_rate_limit_counts_per_address_in_a_sliding_window() -> None:
    now = [0.0]
    limit = RateLimit(2, 60, clock=lambda: now[0])
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a"), limit.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    assert limit.retry_after("a") == 60
    now[0] = 59.5
    assert limit.allow("a") is False
    now[0] = 60.0
    assert limit.allow("a") is True


async def test_the_form_is_refused_after_ten_requests_from_one_address(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    statuses = []
    for _ in range(11):
        answer = await client.post("/kr/rooms?lang=en", data=form(kranj, website="bot"))
        statuses.append(answer.status_code)
    assert statuses == [303] * 10 + [429]
    assert "Too many requests from your address: try again in 10 minutes." in answer.text


async def test_the_app_keeps_erasing_while_it_runs(kranj: Kranj) -> None:
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    old = await RoomRequest.create(
        library=kranj.library,
        room=kranj.hall,
        starts_at=ended - dt.timedelta(hours=1),
        ends_at=ended,
        attendees=3,
        language="fi",
        purpose=PURPOSE,
        name=PERSONAL[0],
        email=PERSONAL[1],
        consented_at=ended,
        created_at=ended,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(keep_erasing(stop, 30, every=0.05))
    try:
        for _ in range(200):
            await old.refresh_from_db()
            if old.erased_at is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    assert (old.name, old.email, old.purpose) == (None, None, None)


async def test_simultaneous_approvals_and_an_event_let_exactly_one_hold_the_room(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    k = kranj
    auth = {"Authorization": f"Bearer {k.director_token}"}
    body = {**form(k), "library": "kr", "room": k.hall.id, "attendees": 12, "consent": True}
    del body["website"]
    for i in range(5):
        sent = await client.post("/api/room-requests", json={**body, "email": f"r{i}@example.org"})
        assert sent.status_code == 202
    ids = [r.id for r in await RoomRequest.all().order_by("id")]
    # gather starts every write before any finishes: they meet at the room's lock (an
    # advisory lock on PostgreSQL, the write lock on SQLite), whatever kind of write.
    event = {
        "library": "kr",
        "kind": "lecture",
        "title": {"sl": "Predavanje"},
        "start": f"{k.day.isoformat()}T18:00:00",
        "end": f"{k.day.isoformat()}T19:00:00",
        "branch": "center",
        "room": k.hall.id,
        "status": "published",
    }
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/room-requests/{i}/decision", json={"decision": "approve"}, headers=auth
            )
            for i in ids
        ),
        client.post("/api/events", json=event, headers=auth),
    )
    won = [a for a in answers if a.status_code in (200, 201)]
    assert len(won) == 1, [a.status_code for a in answers]
    assert sorted(a.status_code for a in answers if a not in won) == [409] * 5
    approved = await RoomRequest.filter(status=RoomRequestStatus.APPROVED).count()
    lectures = await Event.filter(kind=EventKind.LECTURE).count()
    assert approved + lectures == 1


async def test_a_public_approval_without_a_title_is_refused_in_slovenian(
    kranj: Kranj, client: httpx.AsyncClient
) -> None:
    """The decision's own check (a public booking needs its title) reaches the staff page
    in the page's language, never the API's English words."""
    k = kranj
    assert (await client.post("/kr/rooms?lang=sl", data=form(k))).status_code == 303
    (request,) = await RoomRequest.all()
    await sign_in(client, k.library)
    listing = await client.get("/staff/rooms/requests?lang=sl")
    refused = await client.post(
        f"/staff/rooms/requests/{request.id}/decide?lang=sl",
        data={"approve": "1", "public": "yes", "title": " ", "csrf_token": csrf(listing.text)},
    )
    assert refused.status_code == 422
    assert "Nič ni bilo shranjeno: je obvezno, da je rezervacija javna</p>" in refused.text
    assert "make the booking public" not in refused.text
    await request.refresh_from_db()
    assert request.status == RoomRequestStatus.PENDING
