"""Which strategies apply to a library, a goal named by its strategy, and a strategy as one
nested document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tortoise.expressions import Q

from outreach.i18n import N_
from outreach.models import Goal, Library, Statement, Strategy, StrategyValue, Target, Theme

DEMO_TARGET = "demo target, not from the strategy"

# A goal is named ``<strategy slug>:<code>`` (``kranj-2021-2024:P4``): a code is unique only
# within its strategy, and a library's own strategy and its network's may both have ``P4``.
# A bare code (``P4``) names every goal of that code, as filters did before goals were
# named by strategy. The slug and code are as the models keep them (64 and 32 characters).
GOAL_PATTERN = r"^(?:([A-Za-z0-9._-]{1,64}):)?([A-Za-z0-9._-]{1,32})$"
GOAL_LONGEST = 64 + 1 + 32
GOAL_FORM = N_("a strategy's slug and a goal's code, such as kranj-2021-2024:P4, or a code")
GOAL_DESCRIPTION = (
    "a goal, named by its strategy's slug and its code (kranj-2021-2024:P4); a code alone"
    " (P4) names every goal of that code in the strategies that apply"
)


async def strategies_for_library(library: Library) -> list[Strategy]:
    """The library's own strategies and those of its network, newest period first."""
    condition = Q(library_id=library.id)
    if library.network_id is not None:  # type: ignore[attr-defined]
        condition |= Q(network_id=library.network_id)  # type: ignore[attr-defined]
    return await Strategy.filter(condition).order_by("-period_start", "id")


def goal_key(strategy_slug: str, code: str) -> str:
    """The name of one goal: its strategy's slug and its code (see :data:`GOAL_PATTERN`)."""
    return f"{strategy_slug}:{code}"


def goal_name(text: str) -> tuple[str | None, str] | None:
    """The strategy slug (None for a bare code) and the code that ``text`` names, or None
    when ``text`` is not a goal's name."""
    found = re.fullmatch(GOAL_PATTERN, text)
    if found is None:
        return None
    return found.group(1), found.group(2)


async def named_goals(
    text: str, strategy_ids: Sequence[object] | None = None, *, public: bool = True
) -> list[Goal]:
    """The goals ``text`` names (the one goal of ``<strategy slug>:<code>``, every goal of a
    bare code), among ``strategy_ids`` when given, public goals only unless ``public`` is
    False; none when ``text`` is no goal's name or names no such goal."""
    name = goal_name(text)
    if name is None:
        return []
    slug, code = name
    query = Goal.filter(code=code)
    if strategy_ids is not None:
        query = query.filter(strategy_id__in=list(strategy_ids))
    if slug is not None:
        query = query.filter(strategy__slug=slug)
    if public:
        query = query.filter(internal=False)
    return list(await query.order_by("id"))


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
