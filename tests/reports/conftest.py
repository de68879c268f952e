"""A small, hand-counted programme for a library in a network, and its staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest_asyncio

from outreach.models import (
    Branch,
    EventKind,
    EventStatus,
    Goal,
    Library,
    Network,
    RoleName,
    Room,
    StaffUser,
    Strategy,
    StrategyValue,
    SustainableDevelopmentGoal,
    Target,
    TargetMetric,
    Theme,
    Visibility,
)
from tests.factories import make_branch, make_library
from tests.reports.builders import local, make_event, make_staff, token_for


@dataclass
class Programme:
    """The library ``mkl`` (in network ``net``), its 2025 strategy and its programme.

    Counted by hand in ``test_coverage.py``; see there for the expected figures.
    """

    network: Network
    library: Library
    neighbour: Library
    outsider_library: Library
    central: Branch
    bezigrad: Branch
    hall: Room
    strategy: Strategy
    network_strategy: Strategy
    goals: dict[str, Goal]
    values: dict[str, StrategyValue]
    users: dict[str, StaffUser]
    headers: dict[str, dict[str, str]]


@pytest_asyncio.fixture
async def programme(db: str) -> Programme:
    network = await Network.create(
        slug="net", name={"sl": "Mreža", "en": "Network"}, default_language="sl"
    )
    library = await make_library("mkl", network=network)
    neighbour = await make_library("kam", network=network)
    outsider_library = await make_library("far")
    central = await make_branch(library, "central")
    bezigrad = await make_branch(library, "bezigrad")
    hall = await Room.create(branch=central, slug="hall", name="Hall", capacity=40)

    strategy = await Strategy.create(
        slug="mkl-2025",
        library=library,
        name={"sl": "Strategija", "en": "Strategy"},
        source_language="sl",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2027, 12, 31),
    )
    network_strategy = await Strategy.create(
        slug="net-2025",
        network=network,
        name={"sl": "Mrežna strategija", "en": "Network strategy"},
        source_language="sl",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2027, 12, 31),
    )
    education = await SustainableDevelopmentGoal.create(number=4, name={"en": "Quality education"})
    equality = await SustainableDevelopmentGoal.create(
        number=10, name={"en": "Reduced inequalities"}
    )
    theme_a = await Theme.create(
        strategy=strategy, code="A", position=1, name={"sl": "Branje", "en": "Reading"}
    )
    theme_b = await Theme.create(
        strategy=strategy, code="B", position=2, name={"sl": "Osebje", "en": "Staff"}
    )
    goals = {
        code: await Goal.create(
            strategy=strategy,
            theme=theme,
            code=code,
            position=position,
            name={"sl": f"Cilj {code}", "en": f"Goal {code}"},
            internal=code == "B1",
        )
        for position, (code, theme) in enumerate(
            [("A1", theme_a), ("A2", theme_a), ("A3", theme_a), ("B1", theme_b)]
        )
    }
    goals["N1"] = await Goal.create(
        strategy=network_strategy, code="N1", name={"sl": "Mrežni cilj", "en": "Network goal"}
    )
    values = {
        "V1": await StrategyValue.create(
            strategy=strategy, code="V1", position=1, name={"sl": "Znanje", "en": "Knowledge"}
        ),
        "V2": await StrategyValue.create(
            strategy=strategy, code="V2", position=2, name={"sl": "Skupnost", "en": "Community"}
        ),
    }
    await goals["A1"].sdgs.add(education, equality)
    await values["V1"].sdgs.add(education)
    jan, dec = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    await Target.create(
        goal=goals["A1"],
        metric=TargetMetric.OCCURRENCES,
        minimum=24,
        period_start=jan,
        period_end=dec,
    )
    await Target.create(
        goal=goals["A2"], metric=TargetMetric.HOURS, minimum=10, period_start=jan, period_end=dec
    )
    await Target.create(
        value=values["V1"],
        metric=TargetMetric.SHARE_OF_HOURS,
        minimum=50,
        period_start=jan,
        period_end=dec,
    )

    a1, a2, a3, b1 = goals["A1"], goals["A2"], goals["A3"], goals["B1"]
    v1, v2 = values["V1"], values["V2"]
    # E1: weekly workshop, ten Tuesdays from 7 January, 2 h; the third is cancelled.
    await make_event(
        library,
        starts_at=local(2025, 1, 7, 10),
        minutes=120,
        rrule="FREQ=WEEKLY;COUNT=10",
        branch=central,
        room=hall,
        tags=[a1, a2, v1],
        audiences=["6-11", "families"],
        cancel=[local(2025, 1, 21, 10)],
        attendance={
            local(2025, 1, 7, 10): {"6-11": 10, "19+": 5},
            local(2025, 1, 14, 10): {"unknown": 3},
            local(2025, 1, 21, 10): {"6-11": 7},  # cancelled: never counted
        },
    )
    # E2: an all-day exhibition for three weeks of March at Bežigrad.
    await make_event(
        library,
        kind=EventKind.EXHIBITION,
        all_day=True,
        starts_at=local(2025, 3, 1, 0),
        ends_at=local(2025, 3, 22, 0),
        branch=bezigrad,
        tags=[a1],
        attendance={local(2025, 3, 1, 0): {"19+": 100}},
    )
    # E3: an off-site visit in a park, 90 minutes.
    await make_event(
        library,
        kind=EventKind.OUTREACH_VISIT,
        starts_at=local(2025, 5, 10, 9),
        minutes=90,
        place_name="Tivoli park",
        lat=46.05,
        lon=14.5,
        tags=[v2],
        audiences=["seniors"],
    )
    # E4: internal staff training, 3 h.
    await make_event(
        library,
        kind=EventKind.STAFF_TRAINING,
        visibility=Visibility.INTERNAL,
        starts_at=local(2025, 2, 3, 13),
        minutes=180,
        branch=central,
        tags=[b1],
        audiences=["staff"],
    )
    # E5: a lecture tagged to nothing.
    await make_event(
        library,
        kind=EventKind.LECTURE,
        title={"sl": "Predavanje", "en": "Lecture"},
        starts_at=local(2025, 4, 2, 18),
        branch=central,
        audiences=["19+"],
    )
    # E6: a draft: not part of the programme.
    await make_event(library, status=EventStatus.DRAFT, starts_at=local(2025, 4, 5, 10), tags=[a2])
    # E7: a cancelled event.
    await make_event(
        library,
        status=EventStatus.CANCELLED,
        starts_at=local(2025, 6, 1, 10),
        minutes=120,
        branch=central,
        tags=[a2, a3],
    )
    # E8: half an hour after local midnight on 1 January (still 2024 in UTC): inside.
    await make_event(
        library, starts_at=local(2025, 1, 1, 0, 30), minutes=30, branch=central, tags=[a2]
    )
    # E0: half an hour before local midnight on 1 January: outside.
    await make_event(library, starts_at=local(2024, 12, 31, 23, 30), minutes=30, tags=[a1])
    # The network's goal: one event here, a bookmobile day in the neighbour, none far away.
    n1 = goals["N1"]
    await make_event(library, starts_at=local(2025, 9, 1, 10), branch=central, tags=[n1])
    await make_event(
        neighbour, kind=EventKind.BOOKMOBILE, starts_at=local(2025, 9, 2, 9), minutes=240, tags=[n1]
    )
    await make_event(outsider_library, starts_at=local(2025, 9, 3, 9), tags=[n1])

    users = {
        "director": await make_staff("director@mkl.si", RoleName.DIRECTOR, library),
        "admin": await make_staff("admin@mkl.si", RoleName.ADMIN, library),
        "editor": await make_staff("editor@mkl.si", RoleName.EDITOR, library),
        "coordinator": await make_staff("coord@net.si", RoleName.COORDINATOR, network),
        "far": await make_staff("director@far.fi", RoleName.DIRECTOR, outsider_library),
    }
    headers = {name: await token_for(user) for name, user in users.items()}
    return Programme(
        network=network,
        library=library,
        neighbour=neighbour,
        outsider_library=outsider_library,
        central=central,
        bezigrad=bezigrad,
        hall=hall,
        strategy=strategy,
        network_strategy=network_strategy,
        goals=goals,
        values=values,
        users=users,
        headers=headers,
    )
