"""Only canonical IANA zone names are accepted: the zone of a country, or UTC."""

from __future__ import annotations

import httpx
import pytest

from outreach.models import Event
from outreach.scheduling.recurrence import RuleError, canonical_zones, zone

from .conftest import World, event_body

CANONICAL = [
    "Europe/Ljubljana",
    "Europe/Skopje",
    "Europe/Helsinki",
    "America/Argentina/Buenos_Aires",
    "Asia/Kolkata",
    "UTC",
    "Etc/UTC",
]
LEGACY = [
    ("US/Eastern", "use America/New_York"),
    ("Asia/Calcutta", "use Asia/Kolkata"),
    ("America/Buenos_Aires", "use America/Argentina/Buenos_Aires"),
    ("posixrules", None),
    ("Factory", "use a name such as Europe/Ljubljana"),
    ("EST5EDT", None),
    ("GMT+0", "use a name such as Europe/Ljubljana"),
    ("Etc/GMT+1", "use a name such as Europe/Ljubljana"),
    ("CET", None),
]


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_names_are_accepted(name: str) -> None:
    assert zone(name).key == name


@pytest.mark.parametrize(("name", "hint"), LEGACY)
def test_legacy_names_are_refused_with_the_canonical_one_where_there_is_one(
    name: str, hint: str | None
) -> None:
    with pytest.raises(RuleError) as caught:
        zone(name)
    message = str(caught.value)
    assert message.startswith(f"{name!r} is not a canonical IANA time zone name; use ")
    if hint is not None:  # the others depend on the tzdata release (a link or a zone)
        assert message.endswith(hint)


def test_every_canonical_name_is_a_zone_and_no_legacy_one_is_canonical() -> None:
    names = canonical_zones()
    assert len(names) > 300
    assert all(zone(name).key == name for name in names)
    assert not names & {name for name, _ in LEGACY}


async def test_the_api_refuses_a_legacy_zone_naming_the_field(
    world: World, client: httpx.AsyncClient
) -> None:
    refused = await client.post(
        "/api/events", json=event_body(world, timezone="US/Eastern"), headers=world.auth("editor")
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "invalid input",
        "fields": {
            "timezone": "'US/Eastern' is not a canonical IANA time zone name; use America/New_York"
        },
    }
    assert await Event.all().count() == 0
    accepted = await client.post(
        "/api/events",
        json=event_body(world, timezone="America/New_York", room=None, branch=None),
        headers=world.auth("editor"),
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["timezone"] == "America/New_York"
