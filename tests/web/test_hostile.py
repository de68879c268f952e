"""The hostile requests of issue 12 that answered 500: each is now a 4xx naming the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from outreach.models import Event, RoleName
from tests.factories import make_branch, make_library, make_strategy, make_token_user

LONG_SLUG = "a" * 8000
NOT_FOUND = {"error": "not found"}


@dataclass
class Hostile:
    token: str

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest_asyncio.fixture
async def hostile(db: str) -> Hostile:
    library = await make_library("maribor")
    await make_branch(library, "rotovz")
    await make_strategy(library=library, slug="maribor-2026")
    token = await make_token_user(
        "ana@mkb.si", [(RoleName.EDITOR, library), (RoleName.DIRECTOR, library)]
    )
    return Hostile(token)


@pytest.mark.parametrize(
    "path",
    [
        f"/{LONG_SLUG}/",
        f"/{LONG_SLUG}/events",
        f"/api/strategies/{LONG_SLUG}",
        f"/api/libraries/{LONG_SLUG}",
        f"/feeds/{LONG_SLUG}.ics",
        f"/feeds/networks/{LONG_SLUG}.ics",
        "/maribor/events/99999999999999999999",
        "/maribor/events/%C2%B2",
        "/api/events/%C2%B2",
        "/api/events/99999999999999999999",
        "/api/events/0",
        "/api/strategies/99999999999999999999",
        "/api/strategies/%C2%B2",
    ],
)
async def test_paths_that_name_nothing_are_404(
    hostile: Hostile, client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404, response.text


async def test_a_long_digit_strategy_is_no_id(hostile: Hostile, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/strategies/99999999999999999999")).json() == {
        "error": "strategy not found"
    }


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (
            "/api/reports/coverage?library=maribor&from=0001-01-01&to=9999-12-31",
            {"from": "must be between 1900 and 2200", "to": "must be between 1900 and 2200"},
        ),
        (
            "/api/reports/coverage.csv?library=maribor&from=2026-02-30",
            {"from": "must be a date such as 2025-01-31"},
        ),
        (
            "/api/reports/coverage?library=%00",
            {"library": "must not contain control characters"},
        ),
        ("/api/events?library=%00", {"library": "must not contain control characters"}),
        (
            "/api/occurrences?kind=%00&limit=-1&colour=red",
            {
                "kind": "must be one of workshop, lecture, exhibition, reading, democracy,"
                " author_visit, club, storytime, staff_training, peer_learning, outreach_visit,"
                " digital_skills, bookmobile",
                "limit": "must be a whole number from 0 to 200",
                "colour": "is not a filter",
            },
        ),
        ("/api/events?limit=%C2%B2", {"limit": "must be a whole number from 0 to 200"}),
        ("/api/events?offset=1&offset=2", {"offset": "must be given once"}),
    ],
)
async def test_bad_queries_name_every_parameter(
    hostile: Hostile, client: httpx.AsyncClient, path: str, fields: dict[str, str]
) -> None:
    response = await client.get(path, headers=hostile.auth())
    assert response.status_code == 422, response.text
    assert response.json() == {"error": "invalid input", "fields": fields}


def _event(**changes: Any) -> dict[str, Any]:
    body = {
        "library": "maribor",
        "kind": "workshop",
        "title": {"sl": "Delavnica"},
        "start": "2026-12-01T17:00:00",
        "end": "2026-12-01T18:00:00",
    }
    return {**body, **changes}


async def test_a_body_that_is_not_json_is_415(hostile: Hostile, client: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = hostile.auth() | ({"content-type": content_type} if content_type else {})
        response = await client.post(
            "/api/events", content=b'{"kind": "workshop"}', headers=headers
        )
        assert response.status_code == 415, response.text
        assert response.json() == {
            "error": "unsupported media type",
            "fields": {
                "content-type": f"must be application/json, not {content_type or 'missing'}"
            },
        }
    assert await Event.all().count() == 0


async def test_deeply_nested_json_is_400(hostile: Hostile, client: httpx.AsyncClient) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    response = await client.post("/api/events", json=_event(title=deep), headers=hostile.auth())
    assert response.status_code == 400
    assert response.json() == {
        "error": "malformed JSON",
        "fields": {"body": "nested more than 16 levels deep"},
    }


async def test_every_field_at_fault_is_named_at_once(
    hostile: Hostile, client: httpx.AsyncClient
) -> None:
    body = _event(
        title={"sl": "Dela\x00vnica", "en": "\ud800"},
        **{"\udfff": 1},
        audiences=["0-5", "pets"],
        place={"name": "Park", "lat": 91, "lon": 15},
        capacity=True,
    )
    # json.dumps writes the lone surrogate as the escape "\\ud800", as a client would.
    response = await client.post(
        "/api/events",
        content=json.dumps(body).encode(),
        headers={**hostile.auth(), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "invalid input",
        "fields": {
            "title.sl": "must not contain control characters",
            "title.en": "must be valid Unicode text",
            "audiences[1]": "must be one of 0-5, 6-11, 12-18, 19+, all, families, seniors, staff",
            "place.lat": "must be between -90 and 90",
            "capacity": "must be a whole number",
            "\\udfff": "must be valid Unicode text",
        },
    }
    assert await Event.all().count() == 0
