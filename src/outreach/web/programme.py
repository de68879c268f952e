"""``/{library}/events``: the programme, found by filters and free-text search, as a list
(paged), a week or a month, with the subscribe box of exactly the current filter.

Query parameters: the feed's filters (:mod:`outreach.feeds.filters`: ``branch``,
``audience``, ``kind``, ``goal``, ``value``, ``language``, ``q``) and the page's own:
``view`` (``list``, ``week``, ``month``), ``date`` (a day of the week or month shown;
else ``from``), ``from`` and ``to`` (the list's first and last day), ``page``, and ``lang`` (the
interface's language, :func:`outreach.web.language.negotiate`). Empty values count as
absent (a form's "all" choice sends them empty); other parameters are ignored, so a link
that gained a tracking parameter still opens. A filter that names nothing or a date that
is no date gives the page again with status 400, each problem named beside its field.

The subscribe box offers the feed of the same filters, search included, written in the
page's language when the library offers it (else in the library's). The view and the
dates are the page's window, not a filter: a feed always spans the feed window.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach import i18n
from outreach.errors import Invalid
from outreach.feeds import programme as browse
from outreach.feeds.filters import (
    FILTER_NAMES,
    Choices,
    FeedFilter,
    FilterTooLong,
    Scope,
    UnknownFilter,
    choices,
    library_scope,
    parse_filter,
)
from outreach.feeds.selection import Window, today
from outreach.i18n import gettext as _
from outreach.labels import audience_label, kind_label
from outreach.languages import translated
from outreach.models import Library
from outreach.scheduling.recurrence import UTC, zone
from outreach.scheduling.wording import date_words
from outreach.settings import Settings
from outreach.strategies import goal_key
from outreach.web.language import negotiate
from outreach.web.subscribe import subscribe_box

PAGE_SIZE = 20
# The filters a patron sets on the page (``lang`` is the interface's language there).
PAGE_FILTERS = tuple(name for name in FILTER_NAMES if name != "lang")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # Only the form a date field sends: pydantic would also take a number of seconds.
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("not a date")
    return value


Day = Annotated[
    dt.date, BeforeValidator(_iso_day), Field(ge=dt.date(2000, 1, 1), le=dt.date(2099, 12, 31))
]


class ProgrammeQuery(BaseModel):
    """The page's own parameters (the filters are the feed's)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    view: Literal["list", "week", "month"] = "list"
    date: Day | None = None
    first: Day | None = Field(default=None, alias="from")
    last: Day | None = Field(default=None, alias="to")
    page: int = Field(default=1, ge=1, le=100_000)


def _page_problems(error: ValidationError) -> dict[str, str]:
    problems: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "view"
        if name in ("date", "from", "to"):
            problems[name] = _(
                "Enter a date as year-month-day, for example %(example)s.", example="2026-12-01"
            )
        elif name == "page":
            problems[name] = _("There is no such page.")
        else:
            problems["view"] = _("Choose the list, the week or the month.")
    return problems


def _filter_problems(error: Invalid | UnknownFilter, raw: dict[str, str]) -> dict[str, str]:
    """The filters' problems in the page's language, each naming what was typed."""
    if isinstance(error, UnknownFilter):
        value = raw.get(error.name, "")
        found = {
            "branch": _("This library has no branch “%(value)s”.", value=value),
            "goal": _("No strategy of this library has a public goal “%(value)s”.", value=value),
            "value": _("No strategy of this library names a value “%(value)s”.", value=value),
        }
        return {error.name: found[error.name]}
    messages = {
        "audience": _("Choose an audience from the list."),
        "kind": _("Choose a kind of event from the list."),
        "language": _("Choose a language from the list."),
        "branch": _("Choose a branch from the list."),
        "goal": _("Choose a goal from the list."),
        "value": _("Choose a value from the list."),
        "q": _("Type a word, or the beginning of one, in letters or digits."),
    }
    if isinstance(error, FilterTooLong) and error.name == "q":
        return {
            error.name: _("Type at most %(n)s characters.", n=i18n.format_number(error.longest))
        }
    return {name: messages.get(name, _("Choose from the list.")) for name in error.fields}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Group:
    """Options under a heading (a strategy's goals)."""

    label: str
    options: list[Option]


def _language(code: str) -> str:
    """A language's name in the page's language (``en`` → "angleščina" on a Slovenian page)."""
    return str(i18n.locale().languages.get(code, code))


def _name(value: dict[str, str], lang: str, default: str) -> str:
    """A strategy's, goal's or value's name in the page's language, else the library's,
    else English (the language strategies are most often given in besides their own)."""
    return translated(value, lang if lang in value else default, "en")


def _options(found: Choices, library: Library, lang: str) -> dict[str, Any]:
    """Every filter's choices, named in the page's language (goals with their code and
    under their strategy)."""
    default = library.default_language
    return {
        "branch": [Option(slug, name) for slug, name in found.branches],
        "audience": [Option(a.value, audience_label(a)) for a in found.audiences],
        "kind": sorted(
            (Option(k.value, kind_label(k)) for k in found.kinds), key=lambda o: o.label
        ),
        "goal": [
            Group(
                _name(strategy.name, lang, default),
                [
                    Option(goal_key(strategy.slug, code), f"{code} {_name(name, lang, default)}")
                    for code, name in strategy.goals
                ],
            )
            for strategy in found.strategies
            if strategy.goals
        ],
        "value": [Option(code, _name(name, lang, default)) for code, name in found.values],
        "language": [Option(code, _language(code)) for code in found.languages],
    }


def _subscribe_title(scope: Scope, filt: FeedFilter, lang: str) -> str:
    """What the feed holds, in the page's language."""
    default = scope.default_language
    parts = [translated(scope.name, lang, default), filt.branch_name]
    if filt.kind is not None:
        parts.append(kind_label(filt.kind))
    if filt.audience is not None:
        parts.append(audience_label(filt.audience))
    if filt.goal is not None:
        parts.append(f"{filt.goal_code} {_name(filt.goal_name, lang, default)}")
    if filt.value is not None:
        parts.append(_name(filt.value_name, lang, default))
    if filt.language is not None:
        parts.append(_language(filt.language))
    if filt.q is not None:
        # Translators: the words searched for, in the quotation marks of your language.
        parts.append(_("“%(words)s”", words=filt.q))
    return " · ".join(part for part in parts if part)


class Links:
    """Addresses of this page with some parameters changed, the filters kept."""

    def __init__(self, base: str, state: dict[str, str]) -> None:
        self.base = base
        self.state = state

    def __call__(self, **changes: object) -> str:
        params = dict(self.state)
        for name, value in changes.items():
            key = {"first": "from", "last": "to"}.get(name, name)
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
        if params.get("view") == "list":
            del params["view"]
        if params.get("page") == "1":
            del params["page"]
        query = urlencode(params)
        return f"{self.base}?{query}" if query else self.base


def _dates(query: ProgrammeQuery) -> dict[str, str]:
    """The dates the page was asked for, as they go back into its links."""
    given = {"date": query.date, "from": query.first, "to": query.last}
    return {name: day.isoformat() for name, day in given.items() if day is not None}


def _single_values(request: Request) -> dict[str, str]:
    """The query's parameters that hold something, the last value of each."""
    return {name: value.strip() for name, value in request.query_params.items() if value.strip()}


async def programme(request: Request) -> Response:
    """The programme page (see the module's docstring)."""
    settings: Settings = request.app.state.settings
    scope = await library_scope(request.path_params["library"])
    library = scope.libraries[0]
    lang = negotiate(request, default=library.default_language)
    tz = zone(library.timezone)
    raw = _single_values(request)
    problems: dict[str, str] = {}
    try:
        page_query = ProgrammeQuery.model_validate(raw)
    except ValidationError as error:
        problems.update(_page_problems(error))
        page_query = ProgrammeQuery()
    if page_query.first and page_query.last and page_query.last < page_query.first:
        problems["to"] = _("The last day comes before the first.")

    # The feed's language: the page's, where the library writes in it.
    feed_lang = lang if lang in scope.languages and lang != library.default_language else None
    params: dict[str, list[str]] = {name: [raw[name]] for name in PAGE_FILTERS if name in raw}
    if feed_lang is not None:
        params["lang"] = [feed_lang]
    filt = FeedFilter()
    try:
        filt = await parse_filter(scope, params)
    except (Invalid, UnknownFilter) as error:
        problems.update(_filter_problems(error, raw))

    state = {name: raw[name] for name in PAGE_FILTERS if name in raw}
    if "lang" in request.query_params:
        state["lang"] = lang
    state["view"] = page_query.view
    base = f"/{library.slug}/events"
    context: dict[str, Any] = {
        "library": library,
        "lang": lang,
        "raw": raw,
        "problems": problems,
        "options": _options(await choices(scope), library, lang),
        "view": page_query.view,
        "views": {
            view: Links(base, {**{k: v for k, v in state.items() if k != "view"}, "view": view})()
            for view in ("list", "week", "month")
        },
        "clear": Links(base, {k: v for k, v in state.items() if k in ("lang", "view")})(),
        "event_query": f"?lang={lang}" if "lang" in request.query_params else "",
        "base": base,
        "hidden": {k: v for k, v in state.items() if k in ("lang", "view")},
        "kind_label": kind_label,
        "narrowed": filt.narrows,
    }
    if problems:
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request, "public/events.html", context, status_code=400
        )

    window = Window.for_day(settings, today())
    local_today = dt.datetime.now(tz).date()
    first_weekday = browse.first_weekday(lang, library.timezone)
    view = page_query.view
    shown = browse.span(
        view,
        today=local_today,
        first_weekday=first_weekday,
        # The form's first day also picks the week or month when no day is asked for.
        day=page_query.date or page_query.first,
        first=page_query.first,
        last=page_query.last,
    )
    start, end = shown.bounds(tz, now=dt.datetime.now(UTC), today=local_today, horizon=window.end)
    paged = view == "list"
    found = await browse.listing(
        scope,
        filt,
        start,
        end,
        lang=lang,
        cancelled_since=window.grace_start,
        offset=(page_query.page - 1) * PAGE_SIZE if paged else 0,
        limit=PAGE_SIZE if paged else None,
    )
    links = Links(base, {**state, **_dates(page_query)})
    context["days"] = found.by_day(shown.first)
    context["total"] = found.total
    context["period"] = {
        "first": shown.first,
        "last": shown.last,
        "previous": links(date=shown.previous) if shown.previous else None,
        "next": links(date=shown.next) if shown.next else None,
        "current": shown.holds(local_today),
    }
    if paged:
        pages = max(1, math.ceil(found.total / PAGE_SIZE))
        shown_from = (page_query.page - 1) * PAGE_SIZE + 1
        context["paging"] = {
            "page": page_query.page,
            "pages": pages,
            "first": shown_from,
            "last": shown_from + len(found.entries) - 1,
            "previous": links(page=page_query.page - 1) if page_query.page > 1 else None,
            "next": links(page=page_query.page + 1) if page_query.page < pages else None,
            "start": links(page=None),
        }
        moved = page_query.first or page_query.last or page_query.page > 1
        context["period"]["today"] = links(first=None, last=None, page=None) if moved else None
    else:
        context["period"]["today"] = links(date=None)
    if view == "week":
        context["week"] = [shown.first + dt.timedelta(days=n) for n in range(7)]
    if view == "month":
        days = i18n.locale().days["format"]
        order = [(first_weekday + n) % 7 for n in range(7)]
        context["month"] = browse.month_weeks(shown.first, first_weekday)
        context["weekdays"] = [(days["abbreviated"][n], days["wide"][n]) for n in order]
    context["local_today"] = local_today
    feed_path = scope.feed_path + (f"?{filt.query}" if filt.query else "")
    context["subscribe"] = subscribe_box(request, feed_path)
    context["subscribe_title"] = _subscribe_title(scope, filt, lang)
    context["window_note"] = i18n.ngettext(
        "The calendar feed covers the last %(num)s day and runs until %(end)s.",
        "The calendar feed covers the last %(num)s days and runs until %(end)s.",
        settings.feed_days_back,
        # The date as it reads after "until" ("do 1. decembra 2027"; Babel's long date
        # would end a Macedonian sentence in "г..").
        end=date_words((window.end - dt.timedelta(days=1)).date()),
    )
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "public/events.html", context
    )


routes = [
    Route("/{library:slug}/events", programme, methods=["GET"]),
]
