"""Building a feed, and keeping its bytes per data version.

The data version lives in the database and moves with every write that can change a
feed, so any number of processes may each keep their own copy of a feed's bytes: a
process that reads a newer version simply builds again. The cache is therefore only a
small bounded LRU in each process.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from babel import Locale

from outreach.feeds import ical
from outreach.feeds.encodings import IDENTITY, Representation, compress, strong_etag
from outreach.feeds.filters import FeedFilter, Scope
from outreach.feeds.lru import Lru
from outreach.feeds.selection import Series, Window, load_series, public_event_ids, today
from outreach.languages import translated
from outreach.scheduling.recurrence import UTC
from outreach.settings import Settings
from outreach.versions import current_data_version


@dataclass(frozen=True)
class BuiltFeed:
    """A feed's bytes with the validators HTTP answers carry, and its compressed codings,
    each compressed the first time it is asked for and kept as long as the feed."""

    body: bytes
    etag: str
    last_modified: dt.datetime
    _codings: dict[str, Representation] = field(default_factory=dict, compare=False, repr=False)
    # What the web layer keeps beside the bytes: the header lines of each answer it gave
    # (by coding, status and file name), so that a repeat is not formatted again.
    answers: dict[tuple[str, int, str], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, body: bytes, last_modified: dt.datetime) -> BuiltFeed:
        return cls(
            body=body, etag=strong_etag(body), last_modified=last_modified.replace(microsecond=0)
        )

    def representation(self, coding: str = IDENTITY) -> Representation:
        """The feed in ``coding`` (``identity`` or one of ``encodings.CODINGS``)."""
        if coding == IDENTITY:
            return Representation(self.body, self.etag)
        found = self._codings.get(coding)
        if found is None:
            body = compress(self.body, coding)
            found = Representation(body, strong_etag(body), coding)
            self._codings[coding] = found
        return found


class FeedCache(Lru[tuple[object, ...], BuiltFeed]):
    """At most ``size`` built feeds, least recently used first out."""

    def __init__(self, size: int = 128) -> None:
        super().__init__(size)


def feed_name(scope: Scope, filt: FeedFilter) -> str:
    """The calendar's name: the library or network, and what the filters keep."""
    lang = filt.lang or scope.default_language
    parts = [translated(scope.name, lang, scope.default_language)]
    if filt.branch is not None:
        parts.append(filt.branch_name)
    if filt.kind is not None:
        parts.append(ical.KIND_LABELS[filt.kind.value])
    if filt.audience is not None:
        parts.append(ical.AUDIENCE_LABELS[filt.audience.value])
    if filt.goal is not None:
        # The code as a patron reads it, not the filter's ``<strategy slug>:<code>``.
        parts.append(f"{filt.goal_code} {translated(filt.goal_name, lang, scope.default_language)}")
    if filt.value is not None:
        parts.append(translated(filt.value_name, lang, scope.default_language))
    if filt.language is not None:
        parts.append(Locale.parse(lang).languages.get(filt.language, filt.language))
    if filt.q is not None:
        parts.append(f"“{filt.q}”")
    return " · ".join(p.strip() for p in parts if p.strip())


async def build_feed(
    scope: Scope, filt: FeedFilter, settings: Settings, *, day: dt.date, fresh: bool = False
) -> bytes:
    """The feed's bytes for the window of ``day``: one VEVENT series per public event
    with an occurrence in the window, with every override of that series.

    Each series' VEVENTs are copied from the process's :data:`vevents` where the same
    record was written before; ``fresh=True`` writes every one anew as one icalendar
    calendar (the same bytes: the tests compare the two)."""
    window = Window.for_day(settings, day)
    event_ids = await public_event_ids(scope, filt, window.start, window.end)
    series = await load_series(event_ids)
    query = filt.query
    suffix = "-" + hashlib.sha256(query.encode()).hexdigest()[:12] if query else ""
    host = ical.host_of(settings.base_url)
    cal = ical.calendar(
        name=feed_name(scope, filt),
        uid=f"outreach-feed-{scope.kind}-{scope.slug}{suffix}@{host}",
        description=(
            f"Public programme from {window.start.date().isoformat()}"
            f" to {window.end.date().isoformat()}."
        ),
    )
    first = ical.first_day(series, window.start.date())
    zones = ical.zones_of(series)
    with collector_paused():
        if fresh:
            components = [
                component
                for one in series
                for component in ical.series_components(
                    one, lang=filt.lang, base_url=settings.base_url
                )
            ]
            return ical.serialise(cal, components, zones=zones, first=first)
        parts = [vevents.of(one, lang=filt.lang, base_url=settings.base_url) for one in series]
        return ical.assemble(cal, parts, zones=zones, first=first)


class VeventCache:
    """The VEVENT bytes of series, by a digest of everything they are written from.

    A series' VEVENTs are a function of its :class:`~outreach.feeds.selection.Series`
    record (the event's row with its revision, overrides, exdates, branch, room, stop,
    audiences, languages, goals and values, names and all), the language asked for and
    the base URL: the key is a digest of the record's ``repr``, which names every field's
    value, so a key cannot go stale; a record that changes in any way is a new key, and an
    entry nobody asks for again falls out, least recently used first. After one edit a
    feed therefore writes one series anew and copies the others' bytes, and a new filter
    of known events writes none. About 1 KB an entry.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._items: Lru[tuple[bytes, str | None, str], bytes] = Lru(size)
        self.written = 0  # how many series were written anew (for tests)

    def of(self, series: Series, *, lang: str | None, base_url: str) -> bytes:
        """The bytes of ``series``' VEVENTs, written once per distinct record."""
        key = (series.digest, lang, base_url)
        found = self._items.get(key)
        if found is None:
            found = ical.series_bytes(series, lang=lang, base_url=base_url)
            self.written += 1
            self._items.put(key, found)
        return found

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# One per process, shared by every feed: the same series appears in many feeds (a
# library's, its network's, each filter's).
vevents = VeventCache()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off during one synchronous burst of allocation.

    Serialising a large feed builds a few hundred thousand icalendar objects that all stay
    alive until the bytes are written; the collector, counting allocations, would walk the
    growing tree again and again (one full pass alone cost ~50 ms of a ~450 ms build of
    1,000 events) without finding anything to free. Nothing is awaited inside, so no other
    request runs while it is paused, and whatever the burst leaves behind is collected as
    usual afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def cached_feed(
    cache: FeedCache,
    key: tuple[object, ...],
    scope: Scope,
    filt: FeedFilter,
    settings: Settings,
    *,
    version: tuple[int, dt.datetime] | None = None,
    day: dt.date | None = None,
) -> BuiltFeed:
    """The feed from ``cache`` if it was built for the current data version and day."""
    number, changed_at = version or await current_data_version()
    day = day or today()
    full_key = (*key, number, day)
    feed = cache.get(full_key)
    if feed is None:
        body = await build_feed(scope, filt, settings, day=day)
        # The window moves at midnight UTC, so a feed may change then without a write.
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
        feed = BuiltFeed.of(body, max(changed_at.astimezone(UTC), midnight))
        cache.put(full_key, feed)
    return feed
