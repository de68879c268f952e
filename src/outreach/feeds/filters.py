"""What a feed covers: a library or a network, narrowed by filters checked against the data.

A filter value that names nothing (a typo such as ``goal=A9`` or ``kind=worksop``) is an
error, never an empty feed: a patron who subscribes to a silent typo would trust a
calendar that stays empty for years.

A goal is named ``<strategy slug>:<code>`` (``goal=kranj-2021-2024:P4``): codes repeat
across strategies (Kranj's and the Slovenian network's both have ``P4``), so a code alone
names every public goal of that code in the scope's strategies. Such a ``goal=P4`` keeps
working for the feeds subscribed before goals were named by strategy: where one strategy
has the code it is that goal, where several have it the feed holds the events of all of
them, as it always did. The pages offer only the named form. The name is read by
:func:`outreach.strategies.named_goals`, as the API's goal filter reads it.

``q`` is free text (:mod:`outreach.feeds.search`): the feed of a search holds the events
whose titles or descriptions hold its words; ``language`` is a language the event is held
in, ``lang`` the language a feed is written in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tortoise.expressions import Q

from outreach.errors import Invalid, NotFound
from outreach.feeds import search
from outreach.models import (
    Audience,
    Branch,
    EventKind,
    Goal,
    Library,
    Network,
    Strategy,
    StrategyValue,
    Translated,
)
from outreach.strategies import GOAL_LONGEST, named_goals

FILTER_NAMES = ("branch", "audience", "kind", "goal", "value", "language", "q", "lang")
# A search longer than this is no patron's query.
MAX_QUERY = 200
# Staff audiences and staff training are internal by nature: offering them as public
# filters would only ever give empty feeds.
PUBLIC_AUDIENCES = tuple(a for a in Audience if a is not Audience.STAFF)
PUBLIC_KINDS = tuple(k for k in EventKind if k is not EventKind.STAFF_TRAINING)


@dataclass(frozen=True)
class Scope:
    """The libraries a feed draws from: one library, or every library of a network."""

    kind: str  # "library" or "network"
    slug: str
    name: Translated
    default_language: str
    languages: tuple[str, ...]
    libraries: tuple[Library, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.slug}"

    @property
    def library_ids(self) -> list[int]:
        return [library.id for library in self.libraries]

    @property
    def feed_path(self) -> str:
        if self.kind == "network":
            return f"/feeds/networks/{self.slug}.ics"
        return f"/feeds/{self.slug}.ics"


@dataclass(frozen=True)
class FeedFilter:
    """Validated filters, with the database ids they resolve to."""

    branch: str | None = None
    audience: Audience | None = None
    kind: EventKind | None = None
    goal: str | None = None
    value: str | None = None
    language: str | None = None
    # The search's words, lower-cased and joined by single spaces (its canonical form).
    q: str | None = None
    lang: str | None = None
    branch_ids: tuple[int, ...] = field(default=(), compare=False)
    goal_ids: tuple[int, ...] = field(default=(), compare=False)
    value_ids: tuple[int, ...] = field(default=(), compare=False)
    goal_name: Translated = field(default_factory=dict, compare=False)
    # The goal's code without its strategy (``P4``), as a patron reads it.
    goal_code: str = field(default="", compare=False)
    value_name: Translated = field(default_factory=dict, compare=False)
    branch_name: str = field(default="", compare=False)
    # The events of the scope that the search finds, whatever their publicity.
    search_ids: tuple[int, ...] = field(default=(), compare=False)

    def params(self) -> dict[str, str]:
        """The filters that are set, in a fixed order (the canonical query)."""
        raw = {
            "branch": self.branch,
            "audience": self.audience.value if self.audience else None,
            "kind": self.kind.value if self.kind else None,
            "goal": self.goal,
            "value": self.value,
            "language": self.language,
            "q": self.q,
            "lang": self.lang,
        }
        return {name: text for name, text in raw.items() if text is not None}

    @property
    def query(self) -> str:
        """The canonical query string, empty when nothing is filtered."""
        return urlencode(self.params())

    @property
    def narrows(self) -> bool:
        """Whether any filter other than the language is set."""
        return any(name != "lang" for name in self.params())


async def library_scope(slug: str) -> Scope:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    languages = tuple(dict.fromkeys([library.default_language, *library.languages]))
    return Scope(
        kind="library",
        slug=library.slug,
        name=library.name,
        default_language=library.default_language,
        languages=languages,
        libraries=(library,),
    )


async def network_scope(slug: str) -> Scope:
    network = await Network.get_or_none(slug=slug)
    if network is None:
        raise NotFound("network")
    libraries = tuple(await Library.filter(network_id=network.id).order_by("slug"))
    languages: list[str] = [network.default_language]
    for library in libraries:
        languages += [library.default_language, *library.languages]
    return Scope(
        kind="network",
        slug=network.slug,
        name=network.name,
        default_language=network.default_language,
        languages=tuple(dict.fromkeys(languages)),
        libraries=libraries,
    )


class UnknownFilter(NotFound):
    """A filter naming a branch, goal or value that the scope does not have."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"{name} {value!r}")
        self.name = name


class FilterTooLong(Invalid):
    """A filter's text longer than ``longest`` characters (a page says so in its words)."""

    def __init__(self, name: str, longest: int) -> None:
        super().__init__({name: "is too long"})
        self.name = name
        self.longest = longest


def _single(params: Mapping[str, Sequence[str]], name: str, *, longest: int = 64) -> str | None:
    values = params.get(name) or []
    if not values:
        return None
    if len(values) > 1:
        raise Invalid({name: "give at most one value"})
    text = values[0].strip()
    if not text:
        raise Invalid({name: "must not be empty"})
    if len(text) > longest:
        raise FilterTooLong(name, longest)
    return text


def _strategy_condition(scope: Scope) -> Q:
    condition = Q(library_id__in=scope.library_ids)
    network_ids = {lib.network_id for lib in scope.libraries} - {None}  # type: ignore[attr-defined]
    if network_ids:
        condition |= Q(network_id__in=sorted(network_ids))
    return condition


async def parse_filter(scope: Scope, params: Mapping[str, Sequence[str]]) -> FeedFilter:
    """Check query parameters against the scope's data: :class:`Invalid` (422) for a
    malformed or unknown parameter or language or a search without a word,
    :class:`UnknownFilter` (404) for a branch, goal or value that does not exist."""
    unknown = sorted(set(params) - set(FILTER_NAMES))
    if unknown:
        raise Invalid(
            {name: f"unknown filter (known: {', '.join(FILTER_NAMES)})" for name in unknown}
        )
    branch = _single(params, "branch")
    audience_text = _single(params, "audience")
    kind_text = _single(params, "kind")
    goal = _single(params, "goal", longest=GOAL_LONGEST)
    value = _single(params, "value")
    language = _single(params, "language")
    q_text = _single(params, "q", longest=MAX_QUERY)
    lang = _single(params, "lang")

    problems: dict[str, str] = {}
    audience = next((a for a in PUBLIC_AUDIENCES if a.value == audience_text), None)
    if audience_text is not None and audience is None:
        problems["audience"] = f"must be one of {', '.join(a.value for a in PUBLIC_AUDIENCES)}"
    kind = next((k for k in PUBLIC_KINDS if k.value == kind_text), None)
    if kind_text is not None and kind is None:
        problems["kind"] = f"must be one of {', '.join(k.value for k in PUBLIC_KINDS)}"
    if language is not None and language not in scope.languages:
        problems["language"] = f"must be one of {', '.join(scope.languages)}"
    query_words = search.words(q_text or "")
    if q_text is not None and not query_words:
        problems["q"] = "must hold a letter or a digit"
    if lang is not None and lang not in scope.languages:
        problems["lang"] = f"must be one of {', '.join(scope.languages)}"
    if problems:
        raise Invalid(problems)

    branch_ids: tuple[int, ...] = ()
    branch_name = ""
    if branch is not None:
        branches = await Branch.filter(library_id__in=scope.library_ids, slug=branch).order_by("id")
        if not branches:
            raise UnknownFilter("branch", branch)
        branch_ids = tuple(b.id for b in branches)
        branch_name = branches[0].name

    goal_ids: tuple[int, ...] = ()
    goal_name: Translated = {}
    goal_code = ""
    value_ids: tuple[int, ...] = ()
    value_name: Translated = {}
    if goal is not None or value is not None:
        strategy_ids = await Strategy.filter(_strategy_condition(scope)).values_list(
            "id", flat=True
        )
        if goal is not None:
            # Internal goals are served by staff events only, which feeds never show.
            goals = await named_goals(goal, strategy_ids)
            if not goals:
                raise UnknownFilter("goal", goal)
            goal_ids = tuple(g.id for g in goals)
            goal_name = goals[0].name
            goal_code = goals[0].code
        if value is not None:
            values = await StrategyValue.filter(strategy_id__in=strategy_ids, code=value).order_by(
                "id"
            )
            if not values:
                raise UnknownFilter("value", value)
            value_ids = tuple(v.id for v in values)
            value_name = values[0].name

    search_ids: tuple[int, ...] = ()
    if query_words:
        search_ids = tuple(await search.matching_events(scope.library_ids, query_words))

    return FeedFilter(
        branch=branch,
        audience=audience,
        kind=kind,
        goal=goal,
        value=value,
        language=language,
        q=" ".join(query_words) or None,
        lang=lang,
        branch_ids=branch_ids,
        goal_ids=goal_ids,
        value_ids=value_ids,
        goal_name=goal_name,
        goal_code=goal_code,
        value_name=value_name,
        branch_name=branch_name,
        search_ids=search_ids,
    )


@dataclass(frozen=True)
class StrategyGoals:
    """A strategy's public goals, for a choice of goal: (code, name) in the strategy's order;
    :func:`outreach.strategies.goal_key` of its slug and a code names one of them in a filter."""

    slug: str
    name: Translated
    goals: tuple[tuple[str, Translated], ...]


@dataclass(frozen=True)
class Choices:
    """What each filter of a scope can be set to, in the order a patron reads them."""

    branches: tuple[tuple[str, str], ...]
    strategies: tuple[StrategyGoals, ...]
    values: tuple[tuple[str, Translated], ...]
    languages: tuple[str, ...]
    audiences: tuple[Audience, ...] = PUBLIC_AUDIENCES
    kinds: tuple[EventKind, ...] = PUBLIC_KINDS


async def choices(scope: Scope) -> Choices:
    """The scope's branches (slug, name), its strategies' public goals, its values (one per
    code, as :func:`parse_filter` takes a code) and its languages."""
    branches = await Branch.filter(library_id__in=scope.library_ids).order_by("name", "id")
    strategies = await Strategy.filter(_strategy_condition(scope)).order_by("period_start", "id")
    ids = [s.id for s in strategies]
    goals = await Goal.filter(strategy_id__in=ids, internal=False).order_by("position", "code")
    values = await StrategyValue.filter(strategy_id__in=ids).order_by("strategy_id", "position")
    seen_values: dict[str, Translated] = {}
    for value in values:
        seen_values.setdefault(value.code, value.name)
    return Choices(
        branches=tuple(dict.fromkeys((b.slug, b.name) for b in branches)),
        strategies=tuple(
            StrategyGoals(
                slug=strategy.slug,
                name=strategy.name,
                goals=tuple(
                    (g.code, g.name)
                    for g in goals
                    if g.strategy_id == strategy.id  # type: ignore[attr-defined]
                ),
            )
            for strategy in strategies
        ),
        values=tuple(seen_values.items()),
        languages=scope.languages,
    )
