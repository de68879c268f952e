"""Random payloads never make the events API answer 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import World, event_body

ANSWERS = {200, 201, 400, 401, 403, 404, 409, 413, 422}

# Text no database stores: a NUL, a lone surrogate (JSON "\ud800" decodes to one).
odd_text = st.sampled_from(["\x00", "\ud800", "a\udfffb", "\u202e", "𝔘𝔫𝔦"])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
rule_parts = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY",
        "FREQ=MONTHLY",
        "FREQ=YEARLY",
        "FREQ=HOURLY",
        "FREQ=",
        "COUNT=3",
        "COUNT=0",
        "COUNT=999999",
        "UNTIL=20270101",
        "UNTIL=20261301T000000Z",
        "INTERVAL=2",
        "INTERVAL=-1",
        "BYDAY=MO,WE",
        "BYDAY=-1FR",
        "BYDAY=9TU",
        "BYMONTHDAY=31",
        "BYMONTHDAY=0",
        "BYMONTH=2",
        "BYMONTH=13",
        "BYSETPOS=-1",
        "BYSETPOS=2",
        "WKST=SU",
        "BYHOUR=10",
        "UNTIL=99991231T235959Z",
        "UNTIL=00010101",
        "X-NAME=1",
        "",
        "=",
        ";",
    ]
)
rules = st.lists(rule_parts, max_size=5).map(";".join) | st.text(max_size=40)
local_times = st.sampled_from(
    [
        "2026-12-01T17:00:00",
        "2026-03-29T02:30:00",
        "2026-10-25T02:30:00",
        "2026-12-01",
        "2026-12-01T18:00:00Z",
        "24:00",
        "",
        "2026-02-30T10:00:00",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31",
    ]
) | st.text(max_size=25)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["workshop", "exhibition", "bookmobile", "WORKSHOP"]) | json_values,
    "title": st.dictionaries(
        st.sampled_from(["sl", "en", "x", "SL", ""]), st.text(max_size=210), max_size=3
    )
    | json_values,
    "description": st.dictionaries(st.sampled_from(["sl", "en"]), st.text(max_size=50), max_size=2)
    | json_values,
    "start": local_times | json_values,
    "end": local_times | json_values,
    "all_day": st.booleans() | json_values,
    "timezone": st.sampled_from(
        ["Europe/Ljubljana", "Europe/Helsinki", "Mars/Olympus", "UTC", "", "../../etc"]
    )
    | json_values,
    "rrule": rules | json_values,
    "exdates": st.lists(local_times, max_size=3) | json_values,
    "branch": st.sampled_from(["center", "main", "nowhere"]) | json_values,
    "room": st.integers(min_value=-5, max_value=2**40) | json_values,
    "place": st.fixed_dictionaries(
        {"name": st.text(max_size=5)}, optional={"lat": json_values, "lon": json_values}
    )
    | json_values,
    "audiences": st.lists(st.sampled_from(["0-5", "19+", "pets"]), max_size=3) | json_values,
    "languages": st.lists(st.sampled_from(["sl", "en", "english"]), max_size=3) | json_values,
    "capacity": st.integers(min_value=-(2**64), max_value=2**64) | json_values,
    "staff": st.lists(st.integers(min_value=-1, max_value=2**40), max_size=3) | json_values,
    "co_organisers": st.lists(st.sampled_from(["helmet", "mkl", "skopje", "x"]), max_size=2)
    | json_values,
    "tags": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "goal": st.sampled_from(["A1", "B2", ""]),
                "value": st.just("equality"),
                "primary": json_values,
                "strategy": json_values,
            },
        ),
        max_size=3,
    )
    | json_values,
    "status": st.sampled_from(["draft", "published", "cancelled"]) | json_values,
    "visibility": st.sampled_from(["public", "internal"]) | json_values,
    "revision": json_values,
    "library": st.sampled_from(["mkl", "helmet", "skopje"]) | json_values,
    "unknown": json_values,
    "\ud800": json_values,
}
changes = st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)), st.just(None), max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELD_VALUES[k] for k in keys})
)


def _json(body: Any, world: World) -> dict[str, Any]:
    """An editor's request with ASCII-escaped JSON, the way clients send lone surrogates."""
    headers = {**world.auth("editor"), "content-type": "application/json"}
    return {"content": json.dumps(body), "headers": headers}


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(changes=changes)
async def test_random_posts_never_fail(
    world: World, client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    response = await client.post("/api/events", **_json(event_body(world, **changes), world))
    assert response.status_code in ANSWERS, response.text
    assert response.headers["content-type"] == "application/json"


@settings(FUZZ, max_examples=25)
@given(
    changes=changes,
    occurrence=st.fixed_dictionaries(
        {},
        optional={
            "start": local_times | json_values,
            "end": local_times | json_values,
            "room": json_values,
            "title": json_values,
            "cancelled": json_values,
            "note": json_values,
            "\x00": json_values,
        },
    )
    | json_values,
)
async def test_random_patches_never_fail(
    world: World, client: httpx.AsyncClient, changes: dict[str, Any], occurrence: Any
) -> None:
    created = await client.post(
        "/api/events",
        json=event_body(world, room=None, rrule="FREQ=DAILY;COUNT=2"),
        headers=world.auth("editor"),
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    response = await client.patch(f"/api/events/{event_id}", **_json(changes, world))
    assert response.status_code in ANSWERS, response.text
    response = await client.patch(
        f"/api/events/{event_id}/occurrences/2026-12-01T16:00:00Z",
        **_json(occurrence, world),
    )
    assert response.status_code in ANSWERS, response.text
    attendance = await client.post(
        f"/api/events/{event_id}/attendance",
        **_json({"original_start": occurrence, "counts": [occurrence]}, world),
    )
    assert attendance.status_code in ANSWERS, attendance.text


FILTERS = [
    "library",
    "branch",
    "kind",
    "audience",
    "goal",
    "value",
    "status",
    "from",
    "to",
    "limit",
    "offset",
    "x",
]


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(FILTERS),
        st.sampled_from(
            [
                "mkl",
                "center",
                "A1",
                "2026-12-01",
                "2026-12-01T10:00:00+02:00",
                "-1",
                "99999999999999999999",
            ]
        )
        | st.text(max_size=20),
        max_size=4,
    )
)
async def test_random_filters_never_fail(
    world: World, client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    for path in ("/api/events", "/api/occurrences"):
        response = await client.get(path, params=query, headers=world.auth("director"))
        assert response.status_code in ANSWERS, response.text


async def test_ids_beyond_the_column_are_not_found(world: World, client: httpx.AsyncClient) -> None:
    huge = "/api/events/99999999999999999999"
    assert (await client.get(huge)).status_code == 404
    assert (await client.patch(huge, json={}, headers=world.auth("editor"))).status_code == 404
    assert (await client.delete(huge, headers=world.auth("editor"))).status_code == 404
    assert (await client.get(f"{huge}/attendance", headers=world.auth("editor"))).status_code == 404
