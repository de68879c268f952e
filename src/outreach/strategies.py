"""Which strategies apply to a library, and a strategy as one nested document."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from outreach.models import Goal, Library, Statement, Strategy, StrategyValue, Target, Theme

DEMO_TARGET = "demo target, not from the strategy"


async def strategies_for_library(library: Library) -> list[Strategy]:
    """The library's own strategies and those of its network, newest period first."""
    condition = Q(library_id=library.id)
    if library.network_id is not None:  # type: ignore[attr-defined]
        condition |= Q(network_id=library.network_id)  # type: ignore[attr-defined]
    return await Strategy.filter(condition).order_by("-period_start", "id")


def is_demo(source: dict[str, Any] | None) -> bool:
    """Whether provenance marks something the project made up (``demo``)."""
    return source is not None and source.get("kind") == "demo"


def target_json(target: Target) -> dict[str, Any]:
    return {
        "metric": target.metric.value,
        "minimum": target.minimum,
        "period_start": target.period_start.isoformat(),
        "period_end": target.period_end.isoformat(),
        "demo": is_demo(target.source),
        "label": DEMO_TARGET if is_demo(target.source) else None,
        "source": target.source,
    }


def stated_period(strategy: Strategy) -> dict[str, Any] | None:
    """The period as the strategy's document gives it; None when it gives none."""
    if strategy.stated_start is None or strategy.stated_end is None:
        return None
    return {"start": strategy.stated_start.isoformat(), "end": strategy.stated_end.isoformat()}


def in_force(strategy: Strategy) -> dict[str, Any]:
    """The span reports take the strategy to be in force, and whether the document or the
    demo says so."""
    source = strategy.source or {}
    return {
        "start": strategy.period_start.isoformat(),
        "end": strategy.period_end.isoformat(),
        "source": source.get("in_force", "demo"),
        "note": source.get("note", ""),
    }


async def strategy_document(strategy: Strategy) -> dict[str, Any]:
    """The strategy with its values, themes, goals, SDG mappings and targets."""
    values = (
        await StrategyValue.filter(strategy_id=strategy.id)
        .order_by("position", "id")
        .prefetch_related("sdgs", "targets")
    )
    themes = await Theme.filter(strategy_id=strategy.id).order_by("position", "id")
    statements = await Statement.filter(strategy_id=strategy.id).order_by("position", "id")
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
            "source": goal.source,
            "sdgs": sorted(s.number for s in goal.sdgs),
            "targets": [target_json(t) for t in goal.targets],
        }

    theme_ids = {theme.id for theme in themes}
    return {
        "id": strategy.id,
        "slug": strategy.slug,
        "owner": owner,
        "name": strategy.name,
        "source_language": strategy.source_language,
        "period": stated_period(strategy),
        "approved_on": strategy.approved_on.isoformat() if strategy.approved_on else None,
        "in_force": in_force(strategy),
        "vision": strategy.vision,
        "mission": strategy.mission,
        "source_document": strategy.source_document,
        "source": strategy.source,
        "statements": [
            {
                "key": statement.key,
                "kind": statement.kind,
                "section": statement.section,
                "text": statement.text,
                "source": statement.source,
            }
            for statement in statements
        ],
        "values": [
            {
                "id": value.id,
                "code": value.code,
                "name": value.name,
                "description": value.description,
                "sdgs": sorted(s.number for s in value.sdgs),
                "targets": [target_json(t) for t in value.targets],
                "source": value.source,
            }
            for value in values
        ],
        "themes": [
            {
                "id": theme.id,
                "code": theme.code,
                "name": theme.name,
                "description": theme.description,
                "source": theme.source,
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
