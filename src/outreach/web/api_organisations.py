"""Read API for networks, libraries (with branches and rooms) and strategies."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from outreach.models import Branch, Library, Network, Room, Strategy
from outreach.schemas import MAX_ID, Answer
from outreach.strategies import strategies_for_library, strategy_document
from outreach.web.boundary import declare
from outreach.web.errors import NotFound


class LibrarySummary(Answer):
    slug: str
    name: dict[str, str]
    timezone: str
    default_language: str
    languages: list[str]
    website: str | None
    network: str | None
    # A network's member known by name and town only: its town and where it is known from.
    town: str | None
    source: str | None
    url: str


class LibraryList(Answer):
    libraries: list[LibrarySummary]


class RoomOut(Answer):
    id: int
    slug: str
    name: str
    capacity: int | None


class BranchOut(Answer):
    id: int
    slug: str
    name: str
    address: str
    postcode: str
    city: str
    lat: float | None
    lon: float | None
    opening_hours: dict[str, Any]
    rooms: list[RoomOut]


class StrategyLink(Answer):
    id: int
    slug: str
    name: dict[str, str]
    url: str


class LibraryOut(LibrarySummary):
    """A library with its branches, rooms and the strategies that apply to it."""

    branches: list[BranchOut]
    strategies: list[StrategyLink]


class NetworkOut(Answer):
    slug: str
    name: dict[str, str]
    default_language: str
    libraries: list[str]


class NetworkList(Answer):
    networks: list[NetworkOut]


class Provenance(Answer):
    """Where an item comes from: ``document`` (with document, section, words and match
    exact or loose) or ``demo`` (with a note): see ``outreach.models.strategy``."""

    kind: str


class TargetOut(Answer):
    metric: str
    minimum: float
    period_start: str
    period_end: str
    demo: bool
    label: str | None
    source: Provenance | None


class StatementOut(Answer):
    key: str
    kind: str
    section: str
    text: dict[str, str]
    source: Provenance | None


class GoalOut(Answer):
    id: int
    code: str
    name: dict[str, str]
    description: dict[str, str]
    internal: bool
    sdgs: list[int]
    targets: list[TargetOut]
    source: Provenance | None


class ValueOut(Answer):
    id: int
    code: str
    name: dict[str, str]
    description: dict[str, str]
    sdgs: list[int]
    targets: list[TargetOut]
    source: Provenance | None


class ThemeOut(Answer):
    id: int
    code: str
    name: dict[str, str]
    description: dict[str, str]
    source: Provenance | None
    goals: list[GoalOut]


class PeriodOut(Answer):
    start: str
    end: str


class InForceOut(Answer):
    """The span reports take the strategy to be in force, set by its document or the demo."""

    start: str
    end: str
    source: str
    note: str


class StrategyOut(Answer):
    """A strategy as one document: its statements, values, themes and goals in the
    document's order, each with its provenance; ``period`` and ``approved_on`` as the
    document states them (null where it states none)."""

    id: int
    slug: str
    owner: dict[str, str]
    name: dict[str, str]
    source_language: str
    period: PeriodOut | None
    approved_on: str | None
    in_force: InForceOut
    vision: dict[str, str]
    mission: dict[str, str]
    source_document: str
    source: dict[str, Any] | None
    statements: list[StatementOut]
    values: list[ValueOut]
    themes: list[ThemeOut]
    goals_without_theme: list[GoalOut]


def _library_summary(library: Library, network_slug: str | None) -> dict[str, Any]:
    return {
        "slug": library.slug,
        "name": library.name,
        "timezone": library.timezone,
        "default_language": library.default_language,
        "languages": library.languages,
        "website": library.website,
        "network": network_slug,
        # A network's member known by name and town only: where that is known from.
        "town": library.town,
        "source": library.source,
        "url": f"/api/libraries/{library.slug}",
    }


def _branch_json(branch: Branch, rooms: list[Room]) -> dict[str, Any]:
    return {
        "id": branch.id,
        "slug": branch.slug,
        "name": branch.name,
        "address": branch.address,
        "postcode": branch.postcode,
        "city": branch.city,
        "lat": branch.lat,
        "lon": branch.lon,
        "opening_hours": branch.opening_hours,
        "rooms": [
            {"id": r.id, "slug": r.slug, "name": r.name, "capacity": r.capacity} for r in rooms
        ],
    }


@declare(answer=LibraryList)
async def list_libraries(request: Request) -> JSONResponse:
    """All libraries, with the network each belongs to."""
    networks = {n.id: n.slug for n in await Network.all()}
    libraries = await Library.all().order_by("slug")
    return JSONResponse(
        {
            "libraries": [
                _library_summary(lib, networks.get(lib.network_id))  # type: ignore[attr-defined]
                for lib in libraries
            ]
        }
    )


@declare(answer=LibraryOut)
async def get_library(request: Request) -> JSONResponse:
    """One library with its branches, rooms and the strategies that apply to it."""
    library = await Library.get_or_none(slug=request.path_params["slug"])
    if library is None:
        raise NotFound("library")
    network = await Network.get_or_none(id=library.network_id)  # type: ignore[attr-defined]
    branches = await Branch.filter(library_id=library.id).order_by("name")
    rooms = await Room.filter(branch__library_id=library.id).order_by("name")
    by_branch: dict[int, list[Room]] = {}
    for room in rooms:
        by_branch.setdefault(room.branch_id, []).append(room)  # type: ignore[attr-defined]
    body = _library_summary(library, network.slug if network else None)
    body["branches"] = [_branch_json(b, by_branch.get(b.id, [])) for b in branches]
    body["strategies"] = [
        {"id": s.id, "slug": s.slug, "name": s.name, "url": f"/api/strategies/{s.id}"}
        for s in await strategies_for_library(library)
    ]
    return JSONResponse(body)


@declare(answer=NetworkList)
async def list_networks(request: Request) -> JSONResponse:
    """All networks with their member libraries."""
    networks = await Network.all().order_by("slug").prefetch_related("libraries")
    return JSONResponse(
        {
            "networks": [
                {
                    "slug": n.slug,
                    "name": n.name,
                    "default_language": n.default_language,
                    "libraries": sorted(lib.slug for lib in n.libraries),
                }
                for n in networks
            ]
        }
    )


@declare(answer=StrategyOut)
async def get_strategy(request: Request) -> JSONResponse:
    """A strategy with values, themes, goals, SDG mappings and targets."""
    raw: str = request.path_params["id"]
    # Ids and slugs both work; a long digit string is no id (and would overflow INTEGER).
    is_id = raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID
    strategy = await Strategy.get_or_none(id=int(raw)) if is_id else None
    if strategy is None:
        strategy = await Strategy.get_or_none(slug=raw)
    if strategy is None:
        raise NotFound("strategy")
    return JSONResponse(await strategy_document(strategy))


routes = [
    Route("/api/libraries", list_libraries, methods=["GET"]),
    Route("/api/libraries/{slug:slug}", get_library, methods=["GET"]),
    Route("/api/networks", list_networks, methods=["GET"]),
    Route("/api/strategies/{id:slug}", get_strategy, methods=["GET"]),
]
