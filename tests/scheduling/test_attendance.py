"""Attendance: counts only, for held occurrences in the past."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from outreach.models import Attendance, AuditEntry
from outreach.scheduling.recurrence import to_utc, zone
from outreach.scheduling.serialise import utc_iso
from outreach.versions import current_data_version

from .conftest import World, event_body

LJUBLJANA = zone("Europe/Ljubljana")


def _starts() -> list[str]:
    """Weekly 10:00 starts 15, 8 and 1 days ago and 6 days ahead, as UTC strings."""
    first = dt.datetime.now(LJUBLJANA).date() - dt.timedelta(days=15)
    return [
        utc_iso(to_utc(dt.datetime.combine(first + dt.timedelta(weeks=w), dt.time(10)), LJUBLJANA))
        for w in range(4)
    ]


@pytest.fixture
def starts() -> list[str]:
    return _starts()


async def _event(client: httpx.AsyncClient, world: World) -> int:
    first = dt.datetime.fromisoformat(_starts()[0]).astimezone(LJUBLJANA).replace(tzinfo=None)
    body = event_body(
        world,
        start=first.isoformat(),
        end=(first + dt.timedelta(hours=1)).isoformat(),
        rrule="FREQ=WEEKLY;COUNT=4",
    )
    response = await client.post("/api/events", json=body, headers=world.auth("editor"))
    assert response.status_code == 201, response.text
    event_id: int = response.json()["id"]
    return event_id


async def test_record_and_read_counts(
    world: World, client: httpx.AsyncClient, starts: list[str]
) -> None:
    event_id = await _event(client, world)
    version_before, _ = await current_data_version()
    body = {
        "original_start": starts[1],
        "counts": [
            {"age_band": "0-5", "mode": "on_site", "count": 12},
            {"age_band": "19+", "mode": "on_site", "count": 9},
        ],
    }
    response = await client.post(
        f"/api/events/{event_id}/attendance", json=body, headers=world.auth("editor")
    )
    assert response.status_code == 201, response.text
    expected = {
        "event": event_id,
        "attendance": [
            {
                "original_start": starts[1],
                "stop": None,
                "counts": [
                    {"age_band": "0-5", "mode": "on_site", "count": 12},
                    {"age_band": "19+", "mode": "on_site", "count": 9},
                ],
                "total": 21,
            }
        ],
    }
    assert response.json() == expected
    assert (
        await client.get(f"/api/events/{event_id}/attendance", headers=world.auth("director"))
    ).json() == expected
    assert (await current_data_version())[0] == version_before + 1
    assert await AuditEntry.filter(action="record_attendance", user_id=world.editor.id).count() == 1
    # Recording again corrects the count instead of adding a second row.
    body["counts"] = [{"age_band": "0-5", "mode": "on_site", "count": 14}]
    again = await client.post(
        f"/api/events/{event_id}/attendance", json=body, headers=world.auth("editor")
    )
    assert again.json()["attendance"][0]["total"] == 23
    assert await Attendance.filter(event_id=event_id).count() == 2


@pytest.mark.parametrize(
    ("which", "counts", "field", "problem"),
    [
        (
            1,
            [{"age_band": "0-5", "mode": "on_site", "count": -3}],
            "counts[0].count",
            "must not be negative",
        ),
        (
            1,
            [{"age_band": "0-5", "mode": "on_site", "count": 2.5}],
            "counts[0].count",
            "must be a whole number",
        ),
        (
            1,
            [{"age_band": "0-5", "mode": "on_site", "count": True}],
            "counts[0].count",
            "must be a whole number",
        ),
        (1, [{"age_band": "toddlers", "mode": "on_site", "count": 3}], "counts[0].age_band", None),
        (
            1,
            [{"age_band": "0-5", "mode": "on_site", "count": 3, "name": "Ana"}],
            "counts[0].name",
            "is not a field of a count",
        ),
        (1, [], "counts", "must be a list of 1 to 20 counts"),
        (
            3,
            [{"age_band": "0-5", "mode": "on_site", "count": 3}],
            "original_start",
            "the occurrence has not happened yet",
        ),
        (
            2,
            [{"age_band": "0-5", "mode": "on_site", "count": 3}],
            "original_start",
            "the occurrence was cancelled: nobody attended",
        ),
        (
            None,
            [{"age_band": "0-5", "mode": "on_site", "count": 3}],
            "original_start",
            "is not an occurrence of this event",
        ),
    ],
)
async def test_refused_counts_write_nothing(
    world: World,
    client: httpx.AsyncClient,
    starts: list[str],
    which: int | None,
    counts: list[Any],
    field: str,
    problem: str | None,
) -> None:
    event_id = await _event(client, world)
    cancel = await client.patch(
        f"/api/events/{event_id}/occurrences/{starts[2]}",
        json={"cancelled": True},
        headers=world.auth("editor"),
    )
    assert cancel.status_code == 200
    original = starts[which] if which is not None else "2020-01-01T09:00:00Z"
    response = await client.post(
        f"/api/events/{event_id}/attendance",
        json={"original_start": original, "counts": counts},
        headers=world.auth("editor"),
    )
    assert response.status_code == 422, response.text
    fields = response.json()["fields"]
    assert field in fields
    if problem is not None:
        assert fields[field] == problem
    assert await Attendance.all().count() == 0
    assert await AuditEntry.filter(action="record_attendance").count() == 0


async def test_attendance_needs_a_role(
    world: World, client: httpx.AsyncClient, starts: list[str]
) -> None:
    event_id = await _event(client, world)
    path = f"/api/events/{event_id}/attendance"
    body = {
        "original_start": starts[0],
        "counts": [{"age_band": "unknown", "mode": "online", "count": 1}],
    }
    assert (await client.get(path)).status_code == 401
    assert (await client.post(path, json=body)).status_code == 401
    assert (await client.get(path, headers=world.auth("outsider"))).status_code == 403
    assert (await client.post(path, json=body, headers=world.auth("director"))).status_code == 403
    assert await Attendance.all().count() == 0
