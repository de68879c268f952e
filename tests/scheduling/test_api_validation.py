"""Bad input: every case is a 4xx naming the field, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outreach.models import AuditEntry, Event, Occurrence

from .conftest import World, event_body

WORLD_ROOM = object()  # stands for the room of another library, known only at run time


async def _nothing_written() -> None:
    assert await Event.all().count() == 0
    assert await Occurrence.all().count() == 0
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"end": "2026-12-01T16:00:00"}, "end", "must be after start"),
        ({"end": "2026-12-01T17:00:00"}, "end", "must be after start"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        (
            {"rrule": "FREQ=HOURLY"},
            "rrule",
            "FREQ=HOURLY is not allowed: events repeat at most daily",
        ),
        (
            {"rrule": "FREQ=WEEKLY;BYDAY=XX"},
            "rrule",
            "BYDAY 'XX' is not a weekday such as MO, 2TU or -1FR",
        ),
        ({"rrule": "FREQ=DAILY;COUNT=5000"}, "rrule", "COUNT must be between 1 and 1000"),
        (
            {"rrule": "FREQ=DAILY", "start": "2025-01-01T10:00:00", "end": "2025-01-01T11:00:00"},
            "rrule",
            "produces more than 1098 occurrences within the horizon: add COUNT or UNTIL",
        ),
        ({"rrule": 7}, "rrule", "must be a string"),
        ({"tags": [{"goal": "B2"}]}, "tags[0].goal", "no goal B2 in the strategies of MKL"),
        (
            {"tags": [{"goal": "A1", "primary": True}, {"value": "equality", "primary": True}]},
            "tags",
            "at most one tag may be primary",
        ),
        (
            {"tags": [{"goal": "A1", "value": "equality"}]},
            "tags[0]",
            "must name exactly one of goal or value",
        ),
        ({"room": WORLD_ROOM}, "room", None),
        ({"room": 999999}, "room", "MKL has no such room"),
        ({"branch": "nowhere"}, "branch", "MKL has no such branch"),
        ({"title": {"sl": "x" * 201}}, "title.sl", "must be at most 200 characters"),
        ({"title": {"sl": "   "}}, "title", "must have a text in at least one language"),
        ({"title": "Pravljice"}, "title", 'must be an object of language → text, e.g. {"sl": "…"}'),
        ({"description": {"sl": "x" * 5001}}, "description.sl", "must be at most 5000 characters"),
        ({"title": ...}, "title", "is required"),
        ({"colour": "red"}, "colour", "is not a field of an event"),
        ({"id": 5}, "id", "is read-only"),
        ({"capacity": "ten"}, "capacity", "must be a whole number"),
        ({"capacity": True}, "capacity", "must be a whole number"),
        ({"capacity": 10**30}, "capacity", "must be between 0 and 100000"),
        ({"capacity": -1}, "capacity", "must be between 0 and 100000"),
        ({"all_day": "yes"}, "all_day", "must be true or false"),
        ({"all_day": True}, "start", "must be a date (YYYY-MM-DD) for an all-day event"),
        ({"audiences": "0-5"}, "audiences", "must be a list"),
        (
            {"audiences": ["pets"]},
            "audiences[0]",
            "must be one of 0-5, 6-11, 12-18, 19+, all, families, seniors, staff",
        ),
        ({"languages": ["Slovenian"]}, "languages[0]", "must be a language code such as sl or en"),
        ({"staff": ["1"]}, "staff[0]", "must be a whole number"),
        ({"staff": [999]}, "staff[0]", "is not an active staff member of MKL"),
        (
            {"exdates": ["next tuesday"]},
            "exdates[0]",
            "'next tuesday' is not an ISO 8601 date or date-time",
        ),
        (
            {"place": {"name": "Park", "lat": 100, "lon": 14}},
            "place.lat",
            "must be between -90 and 90",
        ),
        ({"place": {"name": "Park", "lat": 46}}, "place.lon", "lat and lon go together"),
        ({"status": "cancelled"}, "status", "cancel an event with DELETE"),
        ({"kind": "party"}, "kind", None),
        (
            {"start": "1800-01-01T10:00:00", "end": "1800-01-01T11:00:00"},
            "start",
            "must be between 1990 and 2100",
        ),
        ({"start": "2026-12-01"}, "start", "must be a local date-time such as 2026-12-01T10:00:00"),
        (
            {"start": "2026-03-29T02:30:00", "end": "2026-03-29T04:00:00"},
            "start",
            "2026-03-29T02:30:00 does not exist in Europe/Ljubljana (the clocks go forward);"
            " it would be 03:30",
        ),
        # Converting times near year 1 or 9999 between zones would overflow.
        ({"start": "0001-01-01T00:00:00+01:00"}, "start", "must be between 1990 and 2100"),
        (
            {"all_day": True, "start": "2026-12-01", "end": "9999-12-31"},
            "end",
            "must be between 1990 and 2100",
        ),
        (
            {"rrule": "FREQ=DAILY;UNTIL=99991231T235959Z"},
            "rrule",
            "UNTIL must be between 1900 and 2200",
        ),
        ({"end": "2027-12-03T18:00:00"}, "end", "an occurrence may last at most 366 days"),
        # RFC 5545 leaves a first start that its rule does not give undefined.
        (
            {
                "start": "2027-01-06T10:00:00",
                "end": "2027-01-06T11:00:00",
                "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
            },
            "start",
            "2027-01-06T10:00:00 is not an occurrence of the rule FREQ=WEEKLY;COUNT=3;BYDAY=TU:"
            " the event must start on its first occurrence, 2027-01-12T10:00:00",
        ),
        (
            {"rrule": "FREQ=WEEKLY;UNTIL=20200101T000000Z"},
            "rrule",
            "gives no occurrence from the start on (UNTIL is before it)",
        ),
        ({"co_organisers": ["mkl"]}, "co_organisers[0]", "is the organising library itself"),
        ({"partners": ["nobody"]}, "partners[0]", "MKL has no such partner"),
        ({"online_url": "javascript:alert(1)"}, "online_url", "must be an http(s) URL"),
        ({"library": ...}, "library", "is required: the slug of the organising library"),
        ({"library": "atlantis"}, "library", "no library 'atlantis'"),
    ],
)
async def test_bad_event_is_refused_naming_the_field(
    world: World,
    client: httpx.AsyncClient,
    changes: dict[str, Any],
    field: str,
    problem: str | None,
) -> None:
    changes = {k: (world.other_room.id if v is WORLD_ROOM else v) for k, v in changes.items()}
    response = await client.post(
        "/api/events", json=event_body(world, **changes), headers=world.auth("editor")
    )
    assert response.status_code == 422, response.text
    fields = response.json()["fields"]
    assert field in fields
    if problem is not None:
        assert fields[field] == problem
    await _nothing_written()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Only the start is wrong: the end, earlier than the shifted 03:30, is not blamed.
        (
            "2026-03-29T02:30:00",
            "2026-03-29T03:15:00",
            {
                "start": "2026-03-29T02:30:00 does not exist in Europe/Ljubljana"
                " (the clocks go forward); it would be 03:30"
            },
        ),
        (
            "2026-03-29T01:30:00",
            "2026-03-29T02:15:00",
            {
                "end": "2026-03-29T02:15:00 does not exist in Europe/Ljubljana"
                " (the clocks go forward); it would be 03:15"
            },
        ),
    ],
)
async def test_a_time_in_the_gap_is_the_only_problem_named(
    world: World, client: httpx.AsyncClient, start: str, end: str, expected: dict[str, str]
) -> None:
    response = await client.post(
        "/api/events",
        json=event_body(world, start=start, end=end, rrule=None),
        headers=world.auth("editor"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["fields"] == expected
    await _nothing_written()


@pytest.mark.parametrize(
    ("content", "status", "field"),
    [
        (b'{"title": ', 400, "body"),
        (b'{"capacity": NaN}', 400, "body"),
        (b"[" * 100_000, 400, "body"),
        (b"\xff\xfe", 400, "body"),
        (b"[1, 2]", 422, "body"),
        # A lone surrogate decodes from JSON but no database stores it.
        (b'{"library": "mkl", "title": {"sl": "\\ud800"}}', 422, "title.sl"),
        (b'{"library": "mkl", "\\ud800": 1}', 422, "\\ud800"),
        (b'"event"', 422, "body"),
    ],
)
async def test_malformed_body(
    world: World, client: httpx.AsyncClient, content: bytes, status: int, field: str
) -> None:
    headers = {**world.auth("editor"), "content-type": "application/json"}
    response = await client.post("/api/events", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert field in response.json()["fields"]
    await _nothing_written()


async def test_bad_patch_changes_nothing(world: World, client: httpx.AsyncClient) -> None:
    created = await client.post("/api/events", json=event_body(world), headers=world.auth("editor"))
    event_id = created.json()["id"]
    for body, field in (
        ({"end": "2026-12-01T16:00:00"}, "end"),
        ({"rrule": "FREQ=SECONDLY"}, "rrule"),
        ({"library": "helmet"}, "library"),
        ({"revision": "one"}, "revision"),
        ({"title": {"sl": ""}, "capacity": -5}, "capacity"),
        ({"tags": [{"goal": "B2"}]}, "tags[0].goal"),
    ):
        response = await client.patch(
            f"/api/events/{event_id}", json=body, headers=world.auth("editor")
        )
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["fields"]
    event = await Event.get(id=event_id)
    assert (event.revision, event.rrule, event.title["sl"]) == (
        1,
        "FREQ=WEEKLY;COUNT=4",
        "Pravljična ura",
    )
    assert await AuditEntry.filter(action="update").count() == 0
    assert await Occurrence.filter(event_id=event_id).count() == 4
