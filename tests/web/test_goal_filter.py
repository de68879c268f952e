"""A goal filter names one goal, ``<strategy slug>:<code>``, though codes repeat across the
strategies that apply to a library (its own and its network's); a bare code keeps meaning
what it meant before, for the feeds subscribed with it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx

from outreach.models import (
    Event,
    EventKind,
    EventLanguage,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Network,
    Theme,
    Visibility,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from tests.factories import make_library, make_strategy

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
OWN = "Kranjska delavnica"
NETWORK = "Omrežno predavanje"
ONLY_NETWORK = "Bralni klub omrežja"


async def _event(library: Library, title: str, goal: Goal, day: int) -> None:
    starts = dt.datetime(2027, 1, day, 10, tzinfo=LJUBLJANA).astimezone(dt.UTC)
    event = await Event.create(
        library=library,
        timezone=library.timezone,
        kind=EventKind.WORKSHOP,
        status=EventStatus.PUBLISHED,
        visibility=Visibility.PUBLIC,
        title={"sl": title},
        description={},
        updated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
    )
    await EventLanguage.create(event=event, language="sl")
    await EventTag.create(event=event, goal=goal, primary=True)
    await rebuild_occurrences(event)


async def two_strategies_sharing_a1() -> None:
    """Kranj (in the Slovenian network) and the network each have a strategy with a goal
    A1, and an event of each; the network's strategy also has B7, with an event of its own."""
    network = await Network.create(
        slug="si-omrezje",
        name={"sl": "Slovensko omrežje", "en": "Slovenian network"},
        default_language="sl",
    )
    kranj = await make_library("kranj", network=network)
    # Both strategies have a goal A1 (tests.factories.make_strategy).
    own = await make_strategy(library=kranj, slug="kranj-2021")
    shared = await make_strategy(network=network, slug="si-2021")
    theme = await Theme.get(strategy=shared, code="A")
    only = await Goal.create(
        strategy=shared, theme=theme, code="B7", position=2, name={"sl": "Bralna kultura"}
    )
    await _event(kranj, OWN, await Goal.get(strategy=own, code="A1"), 12)
    await _event(kranj, NETWORK, await Goal.get(strategy=shared, code="A1"), 13)
    await _event(kranj, ONLY_NETWORK, only, 14)


def _titles(page: str) -> list[str]:
    return re.findall(r'<a class="title" href="/\w+/events/\d+[^"]*">(?:<strong>)?([^<]+)', page)


async def _programme(client: httpx.AsyncClient, goal: str) -> str:
    response = await client.get(
        "/kranj/events", params={"view": "month", "date": "2027-01-01", "goal": goal}
    )
    assert response.status_code == 200, response.text
    return response.text


async def _feed(client: httpx.AsyncClient, goal: str) -> list[str]:
    response = await client.get("/feeds/kranj.ics", params={"goal": goal})
    assert response.status_code == 200, response.text
    return sorted(re.findall(r"^SUMMARY:(.+?)\r$", response.text, re.M))


async def test_a_goal_named_by_strategy_finds_only_its_events(
    db: str, client: httpx.AsyncClient
) -> None:
    await two_strategies_sharing_a1()
    page = await _programme(client, "kranj-2021:A1")
    assert _titles(page) == [OWN]
    # The choice and the subscribe box name the goal with its strategy.
    assert '<option value="kranj-2021:A1" selected>' in page
    assert '<option value="si-2021:A1">' in page
    assert '<option value="si-2021:B7">' in page
    assert 'value="A1"' not in page
    assert "feeds/kranj.ics?goal=kranj-2021%3AA1" in page
    assert _titles(await _programme(client, "si-2021:A1")) == [NETWORK]
    assert await _feed(client, "kranj-2021:A1") == [OWN]
    assert await _feed(client, "si-2021:A1") == [NETWORK]


async def test_a_bare_code_keeps_matching_what_it_did(db: str, client: httpx.AsyncClient) -> None:
    await two_strategies_sharing_a1()
    # Unambiguous: the one goal of that code.
    assert _titles(await _programme(client, "B7")) == [ONLY_NETWORK]
    assert await _feed(client, "B7") == [ONLY_NETWORK]
    # Two strategies have A1: a feed subscribed as goal=A1 keeps both goals' events.
    assert _titles(await _programme(client, "A1")) == [OWN, NETWORK]
    assert await _feed(client, "A1") == sorted([OWN, NETWORK])


async def test_a_goal_no_strategy_has_is_refused(db: str, client: httpx.AsyncClient) -> None:
    await two_strategies_sharing_a1()
    for goal in ("kranj-2021:B7", "nobody:A1", "kranj-2021:", "si-2021:Z9"):
        response = await client.get("/feeds/kranj.ics", params={"goal": goal})
        assert response.status_code == 404, goal


async def _api(client: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    return await client.get(path, params={"from": "2027-01-01", "to": "2027-02-01", **params})


async def _api_titles(client: httpx.AsyncClient, goal: str, **params: str) -> dict[str, list[str]]:
    """The titles /api/events and /api/occurrences give for ``goal``, in their order."""
    found = {}
    for path, key in (("/api/events", "events"), ("/api/occurrences", "occurrences")):
        response = await _api(client, path, goal=goal, **params)
        assert response.status_code == 200, (path, response.text)
        found[path] = [item["title"]["sl"] for item in response.json()[key]]
    return found


async def test_the_api_takes_a_goal_named_by_strategy_and_a_bare_code(
    db: str, client: httpx.AsyncClient
) -> None:
    await two_strategies_sharing_a1()
    for params in ({}, {"library": "kranj"}):
        assert await _api_titles(client, "kranj-2021:A1", **params) == {
            "/api/events": [OWN],
            "/api/occurrences": [OWN],
        }
        assert await _api_titles(client, "si-2021:A1", **params) == {
            "/api/events": [NETWORK],
            "/api/occurrences": [NETWORK],
        }
        # A bare code as before: every goal of that code.
        assert await _api_titles(client, "A1", **params) == {
            "/api/events": [OWN, NETWORK],
            "/api/occurrences": [OWN, NETWORK],
        }
        assert await _api_titles(client, "B7", **params) == {
            "/api/events": [ONLY_NETWORK],
            "/api/occurrences": [ONLY_NETWORK],
        }


async def test_the_api_refuses_a_malformed_or_unknown_goal_naming_the_field(
    db: str, client: httpx.AsyncClient
) -> None:
    await two_strategies_sharing_a1()
    await make_library("skopje", language="mk")
    form = "must be a strategy's slug and a goal's code, such as kranj-2021-2024:P4, or a code"
    refusals = [
        ({"goal": "kranj-2021:"}, form),
        ({"goal": ":A1"}, form),
        ({"goal": "si:2021:A1"}, form),
        ({"goal": "kranj 2021:A1"}, form),
        ({"goal": "kranj-2021:" + "A" * 33}, form),
        ({"goal": "nobody:A1"}, "no goal 'nobody:A1' in the strategies that apply"),
        ({"goal": "kranj-2021:B7"}, "no goal 'kranj-2021:B7' in the strategies that apply"),
        ({"goal": "Z9"}, "no goal 'Z9' in the strategies that apply"),
        # Skopje has neither strategy.
        (
            {"goal": "si-2021:A1", "library": "skopje"},
            "no goal 'si-2021:A1' in the strategies that apply",
        ),
    ]
    for path in ("/api/events", "/api/occurrences"):
        for params, problem in refusals:
            response = await _api(client, path, **params)
            assert (response.status_code, response.json()["fields"]) == (
                422,
                {"goal": problem},
            ), (path, params)


async def test_openapi_says_how_a_goal_is_named(db: str, client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/events", "/api/occurrences", "/feeds/{library}.ics"):
        (goal,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "goal"]
        assert goal["description"] == (
            "a goal, named by its strategy's slug and its code (kranj-2021-2024:P4); a code"
            " alone (P4) names every goal of that code in the strategies that apply"
        ), path
    (goal,) = [p for p in spec["paths"]["/api/events"]["get"]["parameters"] if p["name"] == "goal"]
    assert (goal["schema"]["maxLength"], goal["schema"]["pattern"]) == (
        97,
        r"^(?:([A-Za-z0-9._-]{1,64}):)?([A-Za-z0-9._-]{1,32})$",
    )
