"""The feed's plain-SQL selection agrees with the ORM query the programme pages use."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.feeds.filters import library_scope, network_scope, parse_filter
from outreach.feeds.selection import Window, public_event_ids, public_occurrences, today
from tests.feeds.conftest import Programme, feeds_settings

FILTERS = [
    {},
    {"kind": ["storytime"]},
    {"audience": ["families"]},
    {"goal": ["A1"]},
    {"value": ["equality"]},
    {"branch": ["center"]},
    {"kind": ["bookmobile"]},
    {"language": ["en"]},
    {"q": ["pravlj"]},
    {"q": ["pravlj"], "audience": ["families"]},
]


@pytest.mark.parametrize("scope_kind", ["library", "network"])
async def test_sql_selection_matches_the_orm_one(programme: Programme, scope_kind: str) -> None:
    scope = await (
        library_scope("ljubljana") if scope_kind == "library" else network_scope("alpe-adria")
    )
    window = Window.for_day(feeds_settings(), today())
    everything: list[int] = []
    narrowed: list[list[int]] = []
    for params in FILTERS:
        if scope_kind == "network" and "branch" in params:
            continue
        filt = await parse_filter(scope, params)
        query = await public_occurrences(scope, filt, window.start, window.end)
        expected = sorted(
            {int(str(i)) for i in await query.distinct().values_list("event_id", flat=True)}
        )
        found = await public_event_ids(scope, filt, window.start, window.end)
        assert found == expected, params
        if not params:
            everything = found
        else:
            narrowed.append(found)
    private = {programme.events[name].id for name in ("draft", "internal")}
    assert everything
    # The filters narrow: each keeps some events but not all of them.
    assert all(0 < len(found) < len(everything) for found in narrowed), narrowed
    assert not private & set(everything)
    assert programme.events["storytime"].id in everything
    assert programme.events["cancelled"].id in everything  # recently cancelled: kept
    # A window that has not started yet holds nothing of the programme's past.
    later = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    empty = await public_event_ids(
        scope, await parse_filter(scope, {}), later, later + dt.timedelta(days=1)
    )
    assert empty == []
