"""Static publishing: every public feed as a file, and an index page listing them.

Any web server or CDN can then serve the calendars. A file is rewritten only when its
bytes change, so publishing twice with no change in the data changes no byte (and no
modification time).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from pathlib import Path

from outreach import i18n
from outreach.feeds.build import FeedCache, cached_feed, feed_name
from outreach.feeds.encodings import compress
from outreach.feeds.filters import (
    Choices,
    Scope,
    choices,
    library_scope,
    network_scope,
    parse_filter,
)
from outreach.feeds.selection import today
from outreach.i18n import gettext as _
from outreach.languages import translated
from outreach.models import Event, Library, Network
from outreach.progress import Progress, silent
from outreach.settings import Settings
from outreach.strategies import goal_key
from outreach.versions import current_data_version

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Published:
    """One feed file: where it lives under the output directory and what it holds."""

    path: str
    name: str
    body: bytes
    # Whether the index links it: it offers each goal by its strategy, and the feeds by a
    # bare code are only kept for the calendars subscribed to them.
    listed: bool = True


def _write(path: Path, body: bytes) -> None:
    if path.exists() and path.read_bytes() == body:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(body)
    # A web server reading the file meanwhile sees the old or the new bytes, never half.
    temporary.replace(path)


# Beside each feed, for nginx's gzip_static and brotli_static (and any CDN that serves a
# precompressed file when the client accepts it).
STATIC_CODINGS = {".gz": "gzip", ".br": "br"}


def _write_with_codings(path: Path, body: bytes) -> Path:
    """The feed and its precompressed copies beside it (``x.ics.gz``, ``x.ics.br``), each
    rewritten, like the feed, only when its bytes change."""
    _write(path, body)
    for suffix, coding in STATIC_CODINGS.items():
        _write(path.with_name(path.name + suffix), compress(body, coding))
    return path


@dataclass(frozen=True)
class GoalFeed:
    """A per-goal feed: its filter, its path under the scope's directory, and whether the
    index links it."""

    goal: str
    path: str
    listed: bool


def _goal_feeds(offered: Choices) -> list[GoalFeed]:
    """One feed per public goal the scope offers (its programme page's choice of goal),
    ``goals/<strategy slug>/<code>.ics``, named by the goal's strategy (codes repeat across
    strategies); then one per bare code, ``goals/<code>.ics``, holding every goal of that
    code as it did before goals were named, so that a calendar subscribed to such a file
    goes on being updated. A slug or code that is not safe as a file name (:data:`_SAFE`)
    gets no file."""
    pairs = [
        (strategy.slug, code)
        for strategy in offered.strategies
        for code, _name in strategy.goals
        if _SAFE.match(code)
    ]
    feeds = [
        GoalFeed(goal=goal_key(slug, code), path=f"goals/{slug}/{code}.ics", listed=True)
        for slug, code in sorted(pairs)
        if _SAFE.match(slug)
    ]
    codes = sorted({code for _slug, code in pairs})
    return feeds + [GoalFeed(goal=code, path=f"goals/{code}.ics", listed=False) for code in codes]


async def _feeds(
    scope: Scope,
    directory: str,
    goals: list[GoalFeed],
    settings: Settings,
    cache: FeedCache,
    version: tuple[int, dt.datetime],
) -> list[Published]:
    day = today()
    found = []
    for goal in [None, *goals]:
        params = {"goal": [goal.goal]} if goal else {}
        filt = await parse_filter(scope, params)
        feed = await cached_feed(
            cache,
            (scope.key, filt.query),
            scope,
            filt,
            settings,
            version=version,
            day=day,
        )
        path = (
            f"{directory}{scope.slug}.ics"
            if goal is None
            else f"{directory}{scope.slug}/{goal.path}"
        )
        found.append(
            Published(
                path=path,
                name=feed_name(scope, filt),
                body=feed.body,
                listed=goal is None or goal.listed,
            )
        )
    return found


@dataclass(frozen=True)
class Section:
    """A library's or network's feeds as the index lists them, in its default language."""

    scope: Scope
    published: list[Published]


def _page_language(sections: list[Section]) -> str:
    """The language of the page's own words: the one default language of every library
    and network published, else the interface's source language (each section is then
    in its own)."""
    languages = {i18n.interface_language(s.scope.default_language) for s in sections}
    only = languages.pop() if len(languages) == 1 else None
    return only or i18n.SOURCE_LANGUAGE


def _section(section: Section) -> str:
    """A library's or network's heading, the language its calendars are written in and a
    link to each listed feed, all in its default language."""
    scope = section.scope
    with i18n.speaking(scope.default_language) as lang:
        items = "\n".join(
            f'<li><a href="{html.escape(p.path)}">{html.escape(p.name)}</a>'
            f" <code>{html.escape(p.path)}</code></li>"
            for p in section.published
            if p.listed
        )
        name = translated(scope.name, scope.default_language)
        written = _("Calendars in %(language)s", language=i18n.language_name(lang))
        return (
            f'<section lang="{lang}">\n<h2>{html.escape(name)}</h2>\n'
            f"<p>{html.escape(written)}</p>\n<ul>\n{items}\n</ul>\n</section>"
        )


def index_page(sections: list[Section]) -> bytes:
    """A plain, deterministic page linking every listed feed, each library's and network's
    in its default language (no dates: it must not change while the feeds do not)."""
    body = "\n".join(_section(section) for section in sections)
    with i18n.speaking(_page_language(sections)) as lang:
        title = html.escape(_("Library programme calendars"))
        hint = html.escape(_("Subscribe to a calendar by its address in any calendar application."))
        page = (
            f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"<p>{hint}</p>\n{body}\n</body>\n</html>\n"
        )
    return page.encode("utf-8")


async def publish(out_dir: Path, settings: Settings, *, progress: Progress = silent) -> list[Path]:
    """Write every library, network and per-goal feed (:func:`_goal_feeds`) plus
    ``index.html`` under ``out_dir``; return the paths of all of them (each feed also has
    its ``.gz`` and ``.br`` beside it)."""
    cache = FeedCache(size=16)
    version = await current_data_version()
    sections: list[Section] = []
    listed = [x for x in await Library.all().order_by("slug") if _SAFE.match(x.slug)]
    # A network's member known by name only (its ``source`` says from where) has no
    # programme here: its feed would be empty, so it gets none (the network's feed stays).
    programmed = {
        int(str(library_id))
        for library_id in await Event.filter(library_id__in=[x.id for x in listed] or [0])
        .distinct()
        .values_list("library_id", flat=True)
    }
    skipped = [x for x in listed if x.source is not None and x.id not in programmed]
    for number in range(1, len(skipped) + 1):
        progress("skipping member libraries without a programme", number, len(skipped))
    libraries = [x for x in listed if x not in skipped]
    networks = [x for x in await Network.all().order_by("slug") if _SAFE.match(x.slug)]
    scopes = len(libraries) + len(networks)
    for number, library in enumerate(libraries, start=1):
        scope = await library_scope(library.slug)
        goals = _goal_feeds(await choices(scope))
        sections.append(Section(scope, await _feeds(scope, "", goals, settings, cache, version)))
        progress("building feeds", number, scopes)
    for number, network in enumerate(networks, start=len(libraries) + 1):
        scope = await network_scope(network.slug)
        goals = _goal_feeds(await choices(scope))
        found = await _feeds(scope, "networks/", goals, settings, cache, version)
        sections.append(Section(scope, found))
        progress("building feeds", number, scopes)
    published = [item for section in sections for item in section.published]
    paths = []
    for written, item in enumerate(published, start=1):
        paths.append(_write_with_codings(out_dir / item.path, item.body))
        progress("writing files", written, len(published))
    _write(out_dir / "index.html", index_page(sections))
    paths.append(out_dir / "index.html")
    return paths
