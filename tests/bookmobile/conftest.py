"""Shared set-up for bookmobile tests: a library with a depot, a vehicle, staff and tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest_asyncio

from outreach.models import (
    Branch,
    EmissionFactor,
    Fuel,
    Library,
    RoleName,
    Vehicle,
)
from tests.factories import make_branch, make_library, make_token_user

DIESEL = 0.5
ELECTRIC = 0.2


@dataclass
class Bookmobiles:
    """Maribor-like library with a depot and a diesel bookmobile; another library beside it."""

    library: Library
    depot: Branch
    vehicle: Vehicle
    other: Library
    other_vehicle: Vehicle
    tokens: dict[str, str]

    def auth(self, who: str = "editor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest_asyncio.fixture
async def bm(db: str) -> Bookmobiles:
    library = await make_library(
        "mb",
        name={"sl": "Mariborska knjižnica", "en": "Maribor Library"},
        timezone="Europe/Ljubljana",
        language="sl",
        languages=["sl", "en"],
    )
    depot = await make_branch(
        library,
        "rotovz",
        name="Rotovž",
        address="Rotovški trg 2",
        city="Maribor",
        lat=46.5575,
        lon=15.6467,
        postcode="",
        opening_hours={},
    )
    other = await make_library(
        "kr", name={"sl": "Kranj"}, timezone="Europe/Ljubljana", language="sl", languages=["sl"]
    )
    await EmissionFactor.create(
        slug="diesel-test",
        fuel=Fuel.DIESEL,
        vehicle_class="Rigid 7.5-17 t",
        kg_co2e_per_km=DIESEL,
        source="Test diesel factor",
        year=2024,
    )
    await EmissionFactor.create(
        slug="electric-test",
        fuel=Fuel.ELECTRIC,
        vehicle_class="Battery-electric rigid",
        kg_co2e_per_km=ELECTRIC,
        source="Test electric factor",
        year=2024,
    )
    vehicle = await Vehicle.create(
        library=library,
        slug="bibliobus",
        name="Bibliobus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=DIESEL,
        emission_factor_source="Test diesel factor",
        average_speed_kmh=40.0,
    )
    other_vehicle = await Vehicle.create(
        library=other,
        slug="bus",
        name="Bus",
        fuel=Fuel.DIESEL,
        kg_co2e_per_km=DIESEL,
        emission_factor_source="Test diesel factor",
    )
    tokens = {
        "editor": await make_token_user("editor@mb.si", [(RoleName.EDITOR, library)]),
        "director": await make_token_user("director@mb.si", [(RoleName.DIRECTOR, library)]),
        "outsider": await make_token_user("editor@kr.si", [(RoleName.EDITOR, other)]),
    }
    return Bookmobiles(library, depot, vehicle, other, other_vehicle, tokens)


def stop(
    name: str, lat: float, lon: float, arrival: str, parked: int, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "lat": lat,
        "lon": lon,
        "arrival": arrival,
        "minutes_parked": parked,
        **extra,
    }


# Three villages west of Maribor, on a Tuesday every other week from 6 January 2026.
FIRST_TUESDAY = dt.date(2026, 1, 6)


def route_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "library": "mb",
        "code": "Z",
        "name": "Bibliobus zahod",
        "vehicle": "bibliobus",
        "depot": "rotovz",
        "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "valid_from": FIRST_TUESDAY.isoformat(),
        "valid_until": "2026-12-31",
        "stops": [
            stop("Limbuš", 46.5560, 15.5860, "09:00", 30),
            stop("Bresternica", 46.5720, 15.5490, "10:00", 45),
            stop("Selnica ob Dravi", 46.5520, 15.4940, "11:30", 60),
        ],
    }
    body.update(overrides)
    return body
