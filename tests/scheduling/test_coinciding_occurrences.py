"""One occurrence of a series moved onto the very instants of another of the same series is
refused (409, code ``occurrence_coincides``), in the reader's words with local times: by
the API and the staff occurrence form, when a changed rule, a removed exdate or a restored
occurrence brings an instance back onto a moved one, and for held changes, when held and
when approved. Other conflicts ignore an event's own occurrences, so this is the check
that keeps a room and its people from being booked twice by one series."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from outreach.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    Event,
    Library,
    Notice,
    Occurrence,
    OccurrenceOverride,
    RoleName,
)
from tests import factories
from tests.web.test_staff_pages import csrf_of, sign_in

from .conftest import World, event_body

TZ = ZoneInfo("Europe/Ljubljana")
CODE = "occurrence_coincides"
SL_MONTHS = {
    1: "jan.",
    2: "feb.",
    3: "mar.",
    4: "apr.",
    5: "maj",
    6: "jun.",
    7: "jul.",
    8: "avg.",
    9: "sep.",
    10: "okt.",
    11: "nov.",
    12: "dec.",
}
EN_WEEKDAYS = {1: "Tue", 2: "Wed"}
SL_WEEKDAYS = {1: "tor.", 2: "sre."}


def _tuesdays() -> list[dt.date]:
    """The four Tuesdays of the series, the first two to three weeks from today."""
    today = dt.datetime.now(TZ).date()
    first = today + dt.timedelta(days=14 + (1 - today.weekday()) % 7)
    return [first + dt.timedelta(weeks=n) for n in range(4)]


def _utc(day: dt.date, minute: int = 0) -> str:
    """The UTC instant of 17:``minute`` in Ljubljana on ``day``, as the API writes it."""
    local = dt.datetime.combine(day, dt.time(17, minute), tzinfo=TZ)
    return f"{local.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z"


def _en(day: dt.date) -> str:
    return f"{EN_WEEKDAYS[day.weekday()]}, {day:%b} {day.day}, {day.year}"


def _sl(day: dt.date) -> str:
    return f"{SL_WEEKDAYS[day.weekday()]}, {day.day}. {SL_MONTHS[day.month]} {day.year}"


def _english(moved: dt.date, onto: dt.date) -> str:
    """The refusal in English: the moved occurrence by its day in the series at 17:00,
    the other by its day and times, 17:00–18:00 in Ljubljana."""
    return (
        f"the occurrence of {_en(moved)}, 17:00 would be at the very time of another"
        f" occurrence of this event, {_en(onto)}, 17:00\u2009–\u200918:00"
    )


def _slovenian(moved: dt.date, onto: dt.date) -> str:
    return (
        f"izvedba {_sl(moved)}, 17:00 bi bila ob istem času kot druga izvedba tega dogodka,"
        f" {_sl(onto)}, 17:00–18:00"
    )


def _refusal(field: str, message: str) -> dict[str, Any]:
    return {"error": "conflict", "fields": {field: message}, "codes": {field: CODE}}


def _headers(world: World, who: str = "editor", language: str = "en") -> dict[str, str]:
    return {**world.auth(who), "Accept-Language": language}


async def _series(
    client: httpx.AsyncClient, world: World, days: list[dt.date], **changes: Any
) -> int:
    """The weekly storytime on ``days``, Tuesdays 17:00–18:00 in Ljubljana; its id."""
    body = event_body(world, start=f"{days[0]}T17:00:00", end=f"{days[0]}T18:00:00", **changes)
    created = await client.post("/api/events", json=body, headers=_headers(world))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _move(
    client: httpx.AsyncClient,
    world: World,
    event_id: int,
    day: dt.date,
    onto: dt.date,
    *,
    language: str = "en",
) -> httpx.Response:
    """PATCH the occurrence of ``day`` to 17:00–18:00 on ``onto``."""
    return await client.patch(
        f"/api/events/{event_id}/occurrences/{_utc(day)}",
        json={"start": f"{onto}T17:00:00", "end": f"{onto}T18:00:00"},
        headers=_headers(world, language=language),
    )


async def _starts(event_id: int) -> list[tuple[str, str, bool]]:
    """Each occurrence's original start, start and whether cancelled, in UTC."""
    rows = await Occurrence.filter(event_id=event_id).order_by("original_start")
    return [
        (
            f"{row.original_start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z",
            f"{row.starts_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z",
            row.cancelled,
        )
        for row in rows
    ]


async def test_moving_an_occurrence_onto_the_next_one_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    days = _tuesdays()
    event_id = await _series(client, world, days)
    before = await _starts(event_id)
    refused = await _move(client, world, event_id, days[1], days[2])
    assert refused.status_code == 409
    assert refused.json() == _refusal("start", _english(days[1], days[2]))
    # The API keeps its English words whatever the client asks for, as it does elsewhere.
    asked_in_slovenian = await _move(client, world, event_id, days[1], days[2], language="sl")
    assert asked_in_slovenian.status_code == 409
    assert asked_in_slovenian.json() == refused.json()
    # Nothing was written: no override, the occurrences and the revision as they were.
    assert await OccurrenceOverride.filter(event_id=event_id).count() == 0
    assert await _starts(event_id) == before
    assert (await Event.get(id=event_id)).revision == 1
    # Overlapping the next one without being at its very instants stays allowed, as
    # does any other time.
    overlapping = await client.patch(
        f"/api/events/{event_id}/occurrences/{_utc(days[1])}",
        json={"start": f"{days[2]}T17:15:00", "end": f"{days[2]}T18:15:00"},
        headers=_headers(world),
    )
    assert overlapping.status_code == 200
    assert (await _starts(event_id))[1] == (_utc(days[1]), _utc(days[2], 15), False)


async def test_an_instance_brought_back_onto_a_moved_one_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    days = _tuesdays()
    wednesday = days[0] + dt.timedelta(days=1)
    event_id = await _series(client, world, days, exdates=[days[2].isoformat()])
    # The second Tuesday moved onto the excluded third, the first onto the Wednesday after
    # it: nothing else of the series is at those times.
    assert (await _move(client, world, event_id, days[1], days[2])).status_code == 200
    assert (await _move(client, world, event_id, days[0], wednesday)).status_code == 200
    before = await _starts(event_id)
    path = f"/api/events/{event_id}"
    exdates = await client.patch(path, json={"exdates": []}, headers=_headers(world))
    assert exdates.status_code == 409
    assert exdates.json() == _refusal("exdates", _english(days[1], days[2]))
    rule = await client.patch(
        path, json={"rrule": "FREQ=WEEKLY;BYDAY=TU,WE;COUNT=8"}, headers=_headers(world)
    )
    assert rule.status_code == 409
    assert rule.json() == _refusal("rrule", _english(days[0], wednesday))
    event = await Event.get(id=event_id)
    assert (event.rrule, event.exdates, event.revision) == (
        "FREQ=WEEKLY;COUNT=4",
        [days[2].isoformat()],
        3,
    )
    assert await _starts(event_id) == before


async def test_restoring_an_occurrence_that_a_moved_one_took_the_place_of_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    days = _tuesdays()
    event_id = await _series(client, world, days)
    third = f"/api/events/{event_id}/occurrences/{_utc(days[2])}"
    cancel = await client.patch(third, json={"cancelled": True}, headers=_headers(world))
    assert cancel.status_code == 200
    assert (await _move(client, world, event_id, days[1], days[2])).status_code == 200
    restored = await client.patch(third, json={"cancelled": False}, headers=_headers(world))
    assert restored.status_code == 409
    assert restored.json() == _refusal("cancelled", _english(days[1], days[2]))
    assert (await _starts(event_id))[2] == (_utc(days[2]), _utc(days[2]), True)


async def test_the_occurrence_form_says_so_in_slovenian(
    world: World, client: httpx.AsyncClient
) -> None:
    days = _tuesdays()
    event_id = await _series(client, world, days)
    await factories.make_user(
        "urednica.oblika@mklj.si",
        password="form password",
        roles=[(RoleName.EDITOR, world.ljubljana)],
    )
    client.headers["Accept-Language"] = "sl"
    assert (await sign_in(client, "urednica.oblika@mklj.si", "form password")).status_code == 303
    page = await client.get(f"/staff/events/{event_id}")
    refused = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": csrf_of(page.text),
            "original_start": _utc(days[1]),
            "current_start": f"{days[1]}T17:00",
            "current_end": f"{days[1]}T18:00",
            "current_room": str(world.room.id),
            "action": "move",
            "start": f"{days[2]}T17:00",
            "end": f"{days[2]}T18:00",
            "room": str(world.room.id),
        },
    )
    assert refused.status_code == 409
    text = html.unescape(refused.text)
    assert "<strong>Dvojna rezervacija.</strong> Nič ni bilo shranjeno." in text
    assert f'<span class="field-error">{_slovenian(days[1], days[2])}</span>' in text
    assert await OccurrenceOverride.filter(event_id=event_id).count() == 0


@pytest_asyncio.fixture
async def approving(world: World) -> AsyncIterator[World]:
    """The shared world, where a test may have Ljubljana's directors approve every change:
    set back afterwards, with the notices that asked them."""
    try:
        yield world
    finally:
        await Library.filter(id=world.ljubljana.id).update(approval=ApprovalPolicy.NONE)
        await Notice.all().delete()


async def test_held_moves_are_checked_when_held_and_when_approved(
    approving: World, client: httpx.AsyncClient
) -> None:
    world = approving
    days = _tuesdays()
    # Published before the library asked for approval; an editor's moves now wait.
    event_id = await _series(client, world, days, exdates=[days[3].isoformat()])
    await Library.filter(id=world.ljubljana.id).update(approval=ApprovalPolicy.ALL_CHANGES)
    refused = await _move(client, world, event_id, days[1], days[2])
    assert refused.status_code == 409
    assert refused.json() == _refusal("start", _english(days[1], days[2]))
    assert await ApprovalRequest.filter(event_id=event_id).count() == 0
    # Onto the excluded fourth Tuesday it is held; an admin then brings that Tuesday back
    # (written at once), and approving the held move would put two at one time.
    held = await _move(client, world, event_id, days[2], days[3])
    assert held.status_code == 200
    request_id = held.json()["pending_approval"]
    admin = await factories.make_user(
        "admin.izvedbe@mklj.si", password=None, roles=[(RoleName.ADMIN, world.ljubljana)]
    )
    back = await client.patch(
        f"/api/events/{event_id}",
        json={"exdates": []},
        headers={"Authorization": f"Bearer {await factories.make_token(admin)}"},
    )
    assert (back.status_code, "pending_approval" in back.json()) == (200, False)
    approved = await client.post(
        f"/api/approvals/{request_id}/approve", json={}, headers=_headers(world, "director")
    )
    assert approved.status_code == 409
    assert approved.json() == _refusal("start", _english(days[2], days[3]))
    assert (await ApprovalRequest.get(id=request_id)).decision == ApprovalDecision.PENDING
    assert (await _starts(event_id))[2:] == [
        (_utc(days[2]), _utc(days[2]), False),
        (_utc(days[3]), _utc(days[3]), False),
    ]
