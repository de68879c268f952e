"""Which strategies apply to a library, and a strategy as one nested document."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from outreach.models import Goal, Library, Strategy, StrategyValue, Target, Theme


async def strategies_for_library(library: Library) -> list[Strategy]:
    """The library's own strategies and those of its network, newest period first."""
    condition = Q(library_id=library.id)
    if library.network_id is not None:  # type: ignore[attr-defined]
        condition |= Q(network_id=library.network_id)  # type: ignore[attr-defined]
    return await Strategy.filter(condition).order_by("-period_start", "id")


def _target_json(target: Target) -> dict[str, Any]:
    return {
        "metric": target.metric.value,
        "minimum": target.minimum,
        "period_start": target.period_start.isoformat(),
        "period_end": target.period_end.isoformat(),
    }


async def strategy_document(strategy: Strategy) -> dict[str, Any]:
    """The strategy with its values, themes, goals, SDG mappings and targets."""
    values = (
        await StrategyValue.filter(strategy_id=strategy.id)
        .order_by("position", "id")
        .prefetch_related("sdgs", "targets")
    )
    themes = await Theme.filter(strategy_id=strategy.id).order_by("position", "id")
    goals = (
        await Goal.filter(strategy_id=strategy.id)
        .order_by("position", "id")
        .prefetch_related("sdgs", "targets")
    )
    owner: dict[str, Any]
    if strategy.library_id is not None:  # type: ignore[attr-defined]
        library = await Library.get(id=strategy.library_id)  # type: ignore[attr-defined]
        owner = {"type": "library", "slug": library.slug}
    else:
        await strategy.fetch_related("network")
        assert strategy.network is not None
        owner = {"type": "network", "slug": strategy.network.slug}

    def goal_json(goal: Goal) -> dict[str, Any]:
        return {
            "id": goal.id,
            "code": goal.code,
            "name": goal.name,
            "description": goal.description,
            "internal": goal.internal,
            "sdgs": sorted(s.number for s in goal.sdgs),
            "targets": [_target_json(t) for t in goal.targets],
        }

    theme_ids = {theme.id for theme in themes}
    return {
        "id": strategy.id,
        "slug": strategy.slug,
        "owner": owner,
        "name": strategy.name,
        "source_language": strategy.source_language,
        "period": {
            "start": strategy.period_start.isoformat(),
            "end": strategy.period_end.isoformat(),
        },
        "approved_on": strategy.approved_on.isoformat() if strategy.approved_on else None,
        "vision": strategy.vision,
        "mission": strategy.mission,
        "source_document": strategy.source_document,
        "values": [
            {
                "id": value.id,
                "code": value.code,
                "name": value.name,
                "description": value.description,
                "sdgs": sorted(s.number for s in value.sdgs),
                "targets": [_target_json(t) for t in value.targets],
            }
            for value in values
        ],
        "themes": [
            {
                "id": theme.id,
                "code": theme.code,
                "name": theme.name,
                "description": theme.description,
                "goals": [
                    goal_json(g)
                    for g in goals
                    if g.theme_id == theme.id  # type: ignore[attr-defined]
                ],
            }
            for theme in themes
        ],
        "goals_without_theme": [
            goal_json(g)
            for g in goals
            if g.theme_id not in theme_ids  # type: ignore[attr-defined]
        ],
    }
