"""A library's programme as patrons browse it: a page of the list, a week or a month.

The same public occurrences as the feed of the same filter (:func:`public_occurrences`),
between two local midnights of the library's zone, so that a week across a
daylight-saving change is still Monday 00:00 to Monday 00:00 on the wall clock (167 or
169 hours). Weeks start on the first day of the week of the reader's locale in the
library's country (Babel's CLDR week data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from outreach.feeds.filters import FeedFilter, Scope
from outreach.feeds.selection import public_occurrences
from outreach.languages import translated
from outreach.models import Event, EventKind, EventStatus, Occurrence
from outreach.scheduling.recurrence import to_utc


@dataclass(frozen=True)
class Entry:
    """One occurrence as the programme lists it, in the library's local time."""

    event_id: int
    title: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    place: str
    cancelled: bool
    kind: EventKind


@dataclass(frozen=True)
class Listing:
    """Entries of a span in start order, and how many the whole span holds."""

    entries: list[Entry]
    total: int

    def by_day(self, first: dt.date) -> dict[dt.date, list[Entry]]:
        """The entries under the local day they start, or under ``first`` (the span's
        first day) when they started before it (an exhibition running for weeks)."""
        days: dict[dt.date, list[Entry]] = {}
        for entry in self.entries:
            days.setdefault(max(entry.start.date(), first), []).append(entry)
        return days


def first_weekday(lang: str, timezone: str) -> int:
    """The first day of the week (0 = Monday) for a reader of ``lang`` in the country of
    the zone ``timezone``, falling back to the language's own locale."""
    territory = get_global("zone_territories").get(timezone)
    try:
        return int(Locale(lang, territory).first_week_day)
    except (UnknownLocaleError, ValueError, TypeError):
        return int(Locale.parse(lang).first_week_day)


def week_start(day: dt.date, first: int) -> dt.date:
    """The first day of the week holding ``day``, weeks starting on weekday ``first``."""
    return day - dt.timedelta(days=(day.weekday() - first) % 7)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before ``day``'s."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_weeks(day: dt.date, first: int) -> list[list[dt.date | None]]:
    """The month of ``day`` as rows of seven days from weekday ``first``; days of the
    neighbouring months are None."""
    start = month_start(day)
    end = next_month(day)
    cursor = week_start(start, first)
    weeks: list[list[dt.date | None]] = []
    while cursor < end:
        row: list[dt.date | None] = []
        for offset in range(7):
            current = cursor + dt.timedelta(days=offset)
            row.append(current if start <= current < end else None)
        weeks.append(row)
        cursor += dt.timedelta(days=7)
    return weeks


def midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The instant the local day ``day`` begins."""
    return to_utc(dt.datetime.combine(day, dt.time()), tz)


async def listing(
    scope: Scope,
    filt: FeedFilter,
    start: dt.datetime,
    end: dt.datetime,
    *,
    lang: str,
    cancelled_since: dt.datetime,
    offset: int = 0,
    limit: int | None = None,
) -> Listing:
    """The public occurrences overlapping [start, end) that pass ``filt`` (cancelled ones
    marked; a cancelled event only if cancelled since ``cancelled_since``), titles in
    ``lang`` or the library's language; ``limit`` entries from ``offset`` when given."""
    library = scope.libraries[0]
    tz = ZoneInfo(library.timezone)
    query = await public_occurrences(scope, filt, start, end, cancelled_since=cancelled_since)
    total = await query.count()
    page = query.order_by("starts_at", "id").offset(offset)
    if limit is not None:
        page = page.limit(limit)
    rows: list[Occurrence] = await page.prefetch_related("event", "branch", "stop")
    entries = []
    for row in rows:
        event: Event = row.event
        title = translated(event.title, lang, library.default_language)
        if row.stop is not None:
            title = f"{title}: {row.stop.name}"
        place = (
            row.stop.name
            if row.stop is not None
            else (event.place_name or (row.branch.name if row.branch is not None else ""))
        )
        entries.append(
            Entry(
                event_id=event.id,
                title=title,
                start=row.starts_at.astimezone(tz),
                end=row.ends_at.astimezone(tz),
                all_day=event.all_day,
                place=place,
                cancelled=row.cancelled or event.status == EventStatus.CANCELLED,
                kind=event.kind,
            )
        )
    return Listing(entries=entries, total=total)


@dataclass(frozen=True)
class Span:
    """The days a view shows: ``first`` to ``last`` (inclusive; None: as far as the feed
    reaches), and the first days of the spans before and after (weeks and months)."""

    view: str
    first: dt.date
    last: dt.date | None
    previous: dt.date | None = None
    next: dt.date | None = None

    def holds(self, day: dt.date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)

    def bounds(
        self, tz: ZoneInfo, *, now: dt.datetime, today: dt.date, horizon: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime]:
        """The span as instants: from its first local midnight (from ``now`` when a list
        starts today: what is over is not "coming") to the midnight after its last day."""
        start = now if self.view == "list" and self.first == today else midnight(self.first, tz)
        if self.last is None:
            return start, horizon
        return start, midnight(self.last + dt.timedelta(days=1), tz)


def span(
    view: str,
    *,
    today: dt.date,
    first_weekday: int,
    day: dt.date | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Span:
    """The week or month holding ``day`` (default: today), or the list from ``first``
    (default: today) to ``last``."""
    if view == "week":
        start = week_start(day or today, first_weekday)
        return Span(
            view,
            start,
            start + dt.timedelta(days=6),
            previous=start - dt.timedelta(days=7),
            next=start + dt.timedelta(days=7),
        )
    if view == "month":
        start = month_start(day or today)
        return Span(
            view,
            start,
            next_month(start) - dt.timedelta(days=1),
            previous=previous_month(start),
            next=next_month(start),
        )
    return Span(view, first or today, last)
