"""Public pages: the list of libraries, and a library with its strategy."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.bookmobile.public_page import has_bookmobile
from outreach.models import Branch, Goal, Library, Network, Statement, StrategyValue, Theme
from outreach.rooms.requests import requestable_rooms
from outreach.strategies import strategies_for_library
from outreach.web.errors import NotFound
from outreach.web.language import negotiate


async def index(request: Request) -> Response:
    """The libraries, grouped by network."""
    negotiate(request, default="en")
    networks = await Network.all().order_by("slug")
    libraries = await Library.all().order_by("slug")
    groups: list[dict[str, Any]] = []
    for network in networks:
        members = [lib for lib in libraries if lib.network_id == network.id]  # type: ignore[attr-defined]
        if members:
            groups.append({"network": network, "libraries": members})
    independent = [lib for lib in libraries if lib.network_id is None]  # type: ignore[attr-defined]
    if independent:
        groups.append({"network": None, "libraries": independent})
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "public/index.html", {"groups": groups}
    )


async def library_home(request: Request) -> Response:
    """A library's page: branches and its strategy in its own language, English beside it."""
    library = await Library.get_or_none(slug=request.path_params["library"])
    if library is None:
        raise NotFound("library")
    lang = negotiate(request, default=library.default_language)
    branches = await Branch.filter(library_id=library.id).order_by("name")
    strategies = []
    for strategy in await strategies_for_library(library):
        themes = await Theme.filter(strategy_id=strategy.id).order_by("position", "id")
        goals = (
            await Goal.filter(strategy_id=strategy.id)
            .order_by("position", "id")
            .prefetch_related("targets")
        )
        for theme in themes:
            theme.goals_list = [g for g in goals if g.theme_id == theme.id]  # type: ignore[attr-defined]
        strategies.append(
            {
                "strategy": strategy,
                "value_list": await StrategyValue.filter(strategy_id=strategy.id)
                .order_by("position", "id")
                .prefetch_related("targets"),
                "statements": await Statement.filter(strategy_id=strategy.id).order_by(
                    "position", "id"
                ),
                "themes": themes,
                "loose_goals": [g for g in goals if g.theme_id is None],  # type: ignore[attr-defined]
            }
        )
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "public/library.html",
        {
            "library": library,
            "lang": lang,
            "branches": branches,
            "strategies": strategies,
            # The same test as the bookmobile page's 404: a running public route.
            "has_routes": await has_bookmobile(library),
            # The room request page is linked where the library offers a room to ask for.
            "has_rooms": bool(await requestable_rooms(library)),
        },
    )


routes = [
    Route("/", index, methods=["GET"]),
    Route("/{library:slug}/", library_home, methods=["GET"]),
]
